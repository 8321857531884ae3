/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-device.h: the org.alilinkd1.Device objects, one per Device the daemon serves, and the claims of the
 * local programs that handle them (org.alilinkd1.Handler).
 *
 * Object: ALI_BUS_DEVICE_PATH_PREFIX/<sd_bus_path_encode("pk/dn")>. Properties ProductKey, DeviceName,
 * Online, State, Properties (JSON of the last known values), Refused (properties the cloud dropped from
 * posts). Methods PostProperties(s json), PostEvent(s identifier, s json), SetProperties(s json),
 * CallService(s identifier, s json) → s output, Claim(o handler), Release().
 *
 * A claim is the caller's unique name and the object path it gave; sd_bus_track watches the caller, and
 * the claim goes when it leaves the bus. Claims are kept by device path, so a reload that makes the Device
 * again keeps them. The daemon calls the handler with a deadline; a late answer is a timeout
 * (DEVICE_CODE_TIMEOUT), a D-Bus error is DEVICE_CODE_HANDLER_FAILED. */
#pragma once

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "device.h"

typedef struct Bus Bus;
typedef struct BusDevices BusDevices;

int bus_devices_new(BusDevices **ret, sd_bus *bus, sd_event *event);
BusDevices *bus_devices_free(BusDevices *bd);

/* "/org/alilinkd1/device/<encoded pk/dn>"; caller frees. */
int bus_device_path(const char *product_key, const char *device_name, char **ret);

/* Export d (again), and withdraw it when it goes. NULL bd: no bus, nothing to do. */
int bus_devices_add(BusDevices *bd, Device *d);
void bus_devices_remove(BusDevices *bd, Device *d);
/* Its properties changed: PropertiesChanged for Online, State, Properties, Refused, sent with the next batch
 * (a few milliseconds later). */
void bus_devices_changed(BusDevices *bd, Device *d);

/* Calls into the claiming program: -ENOTCONN when nobody has claimed d. */
int bus_devices_handler_set(BusDevices *bd, Device *d, const char *params_json, uint64_t timeout_usec,
        DeviceCallDone done, void *userdata, sd_bus_slot **ret_slot);
int bus_devices_handler_call(BusDevices *bd, Device *d, const char *service, const char *params_json,
        uint64_t timeout_usec, DeviceCallDone done, void *userdata, sd_bus_slot **ret_slot);
