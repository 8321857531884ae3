/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus.h: the daemon's D-Bus service org.alilinkd1 (object /org/alilinkd1, interface org.alilinkd1.Manager).
 *
 * Owns the system bus connection, the object vtable, the name request and a timer that batches the
 * signals, sent in the order they were emitted: what cloud traffic causes (PropertySet, Message, the
 * properties flagged BUS_PROPERTY_BATCHED) a few milliseconds after the first of a batch, anything else on
 * the next loop iteration; one PropertiesChanged for whatever changed. The properties are those of the
 * table in bus-properties.h. It reads state from the Manager and calls the Manager for every action; it
 * keeps no state of its own besides what changed. It owns the systemd unit client (unit-client.h) that
 * uses the same connection, and nothing of what that client does.
 * Access control is the D-Bus policy's (etc/dbus-1/org.alilinkd1.conf): methods are marked unprivileged
 * for sd-bus so that members of the ali-link group, admitted by the policy, can call them.
 *
 * When the bus cannot be reached the daemon runs on without it; when another process owns the name the
 * daemon stops (two daemons with one device identity would keep kicking each other off the cloud). */
#pragma once

#include <stdbool.h>

#include "bus-properties.h"
#include "macro.h"
#include "unit-client.h"

typedef struct Bus Bus;
typedef struct Manager Manager;

/* BUS_PROPERTY_CONNECTED, BUS_PROPERTY_STATE, ...: one per line of the table in bus-properties.h (not
 * formatted: clang-format cannot see that the expansion ends with a comma). */
typedef enum BusProperty {
/* clang-format off */
#define X(id, ...) BUS_PROPERTY_##id,
        BUS_PROPERTIES(X)
#undef X
        _BUS_PROPERTY_MAX,
        /* clang-format on */
} BusProperty;

/* Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS honoured), registers the object and requests the
 * name. Returns 0 with *ret NULL when no bus is reachable (logged), negative errno on other failures. When
 * the name request has been answered, manager_bus_ready() is called. */
int bus_new(Bus **ret, Manager *m);
Bus *bus_free(Bus *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bus *, bus_free);

/* The systemd unit client of the bus connection (unit-client.h has the contract), for OTA's installer
 * unit: unit_client_start() and unit_client_forget() on the bus's client; -ENOTCONN without a bus. */
typedef UnitDoneFn BusUnitDoneFn;
int bus_start_unit(Bus *b, const char *unit, BusUnitDoneFn done, void *userdata);
void bus_forget_unit(Bus *b);

/* Queue a PropertiesChanged for p; sent with the next batch of signals (at once for a property not flagged
 * BUS_PROPERTY_BATCHED). Ignores a NULL bus and properties that are not flagged as emitting. */
void bus_property_changed(Bus *b, BusProperty p);
/* Signals, queued for the next batch: the cloud set these properties (the params object as JSON); a
 * forwarded custom topic. */
void bus_emit_property_set(Bus *b, const char *params_json);
void bus_emit_message(Bus *b, const char *topic, const void *payload, size_t len);

/* The Device objects on this connection (bus-device.h); NULL without a bus. */
struct BusDevices *bus_get_devices(Bus *b);
