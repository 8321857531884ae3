/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus.h: the daemon's D-Bus service org.alilinkd1 (object /org/alilinkd1, interface org.alilinkd1.Manager).
 *
 * Owns the system bus connection, the object vtable, the name request and a timer that batches the
 * signals, sent in the order they were emitted: what cloud traffic causes (PropertySet, Message, the Led
 * and outbox properties) a few milliseconds after the first of a batch, anything else on the next loop
 * iteration; one PropertiesChanged for whatever changed. It reads state from the
 * Manager and calls the Manager for every action; it keeps no state of its own besides what changed.
 * Access control is the D-Bus policy's (etc/dbus-1/org.alilinkd1.conf): methods are marked unprivileged
 * for sd-bus so that members of the ali-link group, admitted by the policy, can call them.
 *
 * When the bus cannot be reached the daemon runs on without it; when another process owns the name the
 * daemon stops (two daemons with one device identity would keep kicking each other off the cloud). */
#pragma once

#include <stdbool.h>

#include "macro.h"

typedef struct Bus Bus;
typedef struct Manager Manager;

typedef enum BusProperty {
        BUS_PROPERTY_CONNECTED,
        BUS_PROPERTY_STATE,
        BUS_PROPERTY_ENDPOINT,
        BUS_PROPERTY_PRODUCT_KEY,
        BUS_PROPERTY_DEVICE_NAME,
        BUS_PROPERTY_LAST_ERROR,
        BUS_PROPERTY_CONNECTED_SINCE,
        BUS_PROPERTY_RECONNECTS,
        BUS_PROPERTY_FIRMWARE_VERSION,
        BUS_PROPERTY_OTA_STATE,
        BUS_PROPERTY_OTA_PROGRESS,
        BUS_PROPERTY_LED,
        BUS_PROPERTY_OUTBOX_DEPTH,
        BUS_PROPERTY_OUTBOX_DROPPED,
        BUS_PROPERTY_SERVER_CERTIFICATE_EXPIRY,
        _BUS_PROPERTY_MAX,
} BusProperty;

/* Connects to the system bus ($DBUS_SYSTEM_BUS_ADDRESS honoured), registers the object and requests the
 * name. Returns 0 with *ret NULL when no bus is reachable (logged), negative errno on other failures. When
 * the name request has been answered, manager_bus_ready() is called. */
int bus_new(Bus **ret, Manager *m);
Bus *bus_free(Bus *b);
DEFINE_TRIVIAL_CLEANUP_FUNC(Bus *, bus_free);

/* A unit started through systemd has finished starting. error < 0 when it could not be started at all
 * (message says why: polkit refused, no such unit, no bus); otherwise result is systemd's job result
 * ("done", "failed", "timeout", "canceled", ...) and exit_status the main process's exit status. */
typedef void (*BusUnitDoneFn)(void *userdata, int error, const char *result, int exit_status, const char *message);

/* Start a unit (org.freedesktop.systemd1.Manager.StartUnit, mode "replace") and call done once its start
 * job is over. One at a time: -EBUSY while one runs; -ENOTCONN without a bus. */
int bus_start_unit(Bus *b, const char *unit, BusUnitDoneFn done, void *userdata);
/* Stop waiting for it (the unit itself runs on); done is not called. */
void bus_forget_unit(Bus *b);

/* Queue a PropertiesChanged for p; sent with the next batch of signals. Accepts a NULL bus. */
void bus_property_changed(Bus *b, BusProperty p);
/* Signals, queued for the next batch: the cloud set these properties (the params object as JSON); a
 * forwarded custom topic. */
void bus_emit_property_set(Bus *b, const char *params_json);
void bus_emit_message(Bus *b, const char *topic, const void *payload, size_t len);
