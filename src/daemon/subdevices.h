/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* subdevices.h: the sub-devices local programs add at run time (org.alilinkd1.Manager.AddSubDevice), for
 * devices the daemon cannot drive itself (Modbus, BLE, a serial bus).
 *
 * Each has its identity, its secret and its thing model (the TSL JSON text the caller gave). One added
 * without Persistent belongs to its caller: sd_bus_track watches it, and when the caller leaves the bus
 * the sub-device is logged out and forgotten (the owner's gone() callback). A persistent one is kept under
 * the state directory, in subdevices/<pk>+<dn>.json, mode 0600 (the secret is in it, and nowhere else: not
 * in a log, not on D-Bus), and read back at start. The registry does no MQTT: the Manager makes each
 * entry's Device and hands it to the Gateway. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-bus.h>

#include "macro.h"
#include "tsl.h"

typedef struct RuntimeSubdevice {
        char *product_key, *device_name;
        char *device_secret; /* wiped when freed */
        Tsl *tsl;
        char *tsl_json;
        bool persistent;
        sd_bus_track *owner; /* non-persistent: the caller that added it */
} RuntimeSubdevice;

typedef struct Subdevices Subdevices;

/* A non-persistent entry's owner left the bus: the Manager logs it out; the entry is freed after. */
typedef void (*SubdevicesGoneFn)(const RuntimeSubdevice *s, void *userdata);

int subdevices_new(Subdevices **ret, const char *state_directory, SubdevicesGoneFn gone, void *userdata);
Subdevices *subdevices_free(Subdevices *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(Subdevices *, subdevices_free);

/* Reads the persistent ones kept in the state directory; a file that cannot be used is logged and left. */
int subdevices_load(Subdevices *s);

/* Adds one: checks the identity and the TSL (ALINK_E_INVALID/TSL_E_INVALID with *ret_error), -EEXIST when
 * it is there; persistent ones are written first (an error then adds nothing). msg: the caller's call,
 * whose sender becomes the owner of a non-persistent one. */
int subdevices_add(Subdevices *s, const char *product_key, const char *device_name, const char *secret,
        const char *tsl_json, bool persistent, sd_bus_message *msg, const RuntimeSubdevice **ret,
        char **ret_error);
/* Forgets one (and its file): -ENOENT when unknown. */
int subdevices_remove(Subdevices *s, const char *product_key, const char *device_name);

size_t subdevices_count(const Subdevices *s);
const RuntimeSubdevice *subdevices_at(const Subdevices *s, size_t i);
