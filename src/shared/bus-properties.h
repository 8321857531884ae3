/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-properties.h: the properties of org.alilinkd1.Manager, declared once for the daemon and aliLinkctl.
 *
 * One X-macro table; each user expands it into what it needs: the daemon its BusProperty enum (bus.h),
 * its vtable and the names PropertiesChanged carries (bus.c); aliLinkctl its enum, the reader of GetAll
 * and PropertiesChanged, the --json keys and the monitor lines (src/ctl/). Adding a property here adds it
 * to all of them; the daemon's getter (bus.c, property_append()) must then say how to read it, and the
 * code that changes what it shows must call bus_property_changed() when it is flagged as emitting.
 * Constants and macros only.
 *
 * The order is the order of the vtable, of GetAll and of the keys of "aliLinkctl status --json". */
#pragma once

/* Flags: */
#define BUS_PROPERTY_ON_DEMAND 0u /* read it; it never signals (it changes with every message) */
#define BUS_PROPERTY_EMITS 1u     /* PropertiesChanged (with the value) on every change */
/* Emits, and changes with cloud traffic: its PropertiesChanged waits for the next batch of signals (bus.c,
 * "Signals, batched"), so that the cloud's answer goes first. */
#define BUS_PROPERTY_BATCHED 3u

/* How aliLinkctl shows a value besides its D-Bus type: */
#define BUS_PROPERTY_SHOW_PLAIN 0   /* the value as it is (b: yes/no) */
#define BUS_PROPERTY_SHOW_OR_NONE 1 /* s: "none" when empty */
#define BUS_PROPERTY_SHOW_TIME 2    /* t: µs since the epoch, as a local time ("n/a" for 0) */
#define BUS_PROPERTY_SHOW_PERCENT 3 /* y/u: a percentage */

/**
 * BUS_PROPERTIES() - the table: X(ID, Name, signature, flags, json_key, show), one line per property.
 * @ID:        the C suffix: BUS_PROPERTY_ID in the daemon
 * @Name:      the D-Bus property name
 * @signature: its D-Bus type; "(byyy)" is the light (on, red, green, blue)
 * @flags:     BUS_PROPERTY_ON_DEMAND, _EMITS or _BATCHED
 * @json_key:  its key in aliLinkctl's JSON (status --json, monitor --json)
 * @show:      BUS_PROPERTY_SHOW_*
 *
 * Types are those of the D-Bus specification ("Type System",
 * https://dbus.freedesktop.org/doc/dbus-specification.html#type-system).
 */
#define BUS_PROPERTIES(X)                                                                                   \
        X(CONNECTED, "Connected", "b", BUS_PROPERTY_EMITS, "connected", BUS_PROPERTY_SHOW_PLAIN)            \
        X(STATE, "State", "s", BUS_PROPERTY_EMITS, "state", BUS_PROPERTY_SHOW_PLAIN)                        \
        X(ENDPOINT, "Endpoint", "s", BUS_PROPERTY_EMITS, "endpoint", BUS_PROPERTY_SHOW_PLAIN)               \
        X(PRODUCT_KEY, "ProductKey", "s", BUS_PROPERTY_EMITS, "product_key", BUS_PROPERTY_SHOW_PLAIN)       \
        X(DEVICE_NAME, "DeviceName", "s", BUS_PROPERTY_EMITS, "device_name", BUS_PROPERTY_SHOW_PLAIN)       \
        X(LAST_ERROR, "LastError", "s", BUS_PROPERTY_EMITS, "last_error", BUS_PROPERTY_SHOW_OR_NONE)        \
        X(CONNECTED_SINCE, "ConnectedSince", "t", BUS_PROPERTY_EMITS, "connected_since_usec",               \
                BUS_PROPERTY_SHOW_TIME)                                                                     \
        X(RECONNECTS, "Reconnects", "u", BUS_PROPERTY_EMITS, "reconnects", BUS_PROPERTY_SHOW_PLAIN)         \
        X(MESSAGES_SENT, "MessagesSent", "t", BUS_PROPERTY_ON_DEMAND, "messages_sent",                      \
                BUS_PROPERTY_SHOW_PLAIN)                                                                    \
        X(MESSAGES_RECEIVED, "MessagesReceived", "t", BUS_PROPERTY_ON_DEMAND, "messages_received",          \
                BUS_PROPERTY_SHOW_PLAIN)                                                                    \
        X(BYTES_SENT, "BytesSent", "t", BUS_PROPERTY_ON_DEMAND, "bytes_sent", BUS_PROPERTY_SHOW_PLAIN)      \
        X(BYTES_RECEIVED, "BytesReceived", "t", BUS_PROPERTY_ON_DEMAND, "bytes_received",                   \
                BUS_PROPERTY_SHOW_PLAIN)                                                                    \
        X(OUTBOX_DEPTH, "OutboxDepth", "u", BUS_PROPERTY_BATCHED, "outbox_depth", BUS_PROPERTY_SHOW_PLAIN)  \
        X(OUTBOX_DROPPED, "OutboxDropped", "t", BUS_PROPERTY_BATCHED, "outbox_dropped",                     \
                BUS_PROPERTY_SHOW_PLAIN)                                                                    \
        X(FIRMWARE_VERSION, "FirmwareVersion", "s", BUS_PROPERTY_EMITS, "firmware_version",                 \
                BUS_PROPERTY_SHOW_PLAIN)                                                                    \
        X(OTA_STATE, "OtaState", "s", BUS_PROPERTY_EMITS, "ota_state", BUS_PROPERTY_SHOW_PLAIN)             \
        X(OTA_PROGRESS, "OtaProgress", "i", BUS_PROPERTY_EMITS, "ota_progress", BUS_PROPERTY_SHOW_PLAIN)    \
        /* When the certificate of the server last connected to expires (µs since the epoch). */           \
        X(SERVER_CERTIFICATE_EXPIRY, "ServerCertificateExpiry", "t", BUS_PROPERTY_EMITS,                    \
                "server_certificate_expiry_usec", BUS_PROPERTY_SHOW_TIME)                                   \
        X(LED, "Led", "(byyy)", BUS_PROPERTY_BATCHED, "led", BUS_PROPERTY_SHOW_PLAIN)                       \
        /* 0..100, applied with the colour (led-model.h); set with SetBrightness. */                        \
        X(BRIGHTNESS, "Brightness", "y", BUS_PROPERTY_BATCHED, "brightness", BUS_PROPERTY_SHOW_PERCENT)     \
        /* The gateway's sub-devices (ListDevices has each), and how many of them are online. */            \
        X(SUB_DEVICES, "SubDevices", "u", BUS_PROPERTY_EMITS, "sub_devices", BUS_PROPERTY_SHOW_PLAIN)       \
        X(SUB_DEVICES_ONLINE, "SubDevicesOnline", "u", BUS_PROPERTY_EMITS, "sub_devices_online",            \
                BUS_PROPERTY_SHOW_PLAIN)
