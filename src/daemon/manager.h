/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.h: the Manager owns the daemon's state and every event source.
 *
 * One Manager per process. It holds the sd-event loop, the loaded Conf, the MQTT session, the light, the
 * device's Alink topics and the counters. Modules get what they need from it and report back through
 * handlers; none of them keeps state of its own about the others. Reload swaps in a fresh Conf only when
 * it is valid. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "alink.h"
#include "conf.h"
#include "device.h"
#include "led.h"
#include "macro.h"
#include "mqtt-session.h"
#include "ota.h"
#include "outbox.h"

typedef enum ManagerState {
        MANAGER_STARTING,
        MANAGER_CONNECTING,
        MANAGER_CONNECTED,
        MANAGER_BACKOFF,
        MANAGER_UNCONFIGURED,
        MANAGER_STOPPING,
        _MANAGER_STATE_MAX,
} ManagerState;

typedef struct Bus Bus;

typedef struct Manager {
        sd_event *event;
        char *config_path;

        /* Configuration: replaced as a whole on reload. */
        Conf *conf;

        /* The cloud. */
        MqttSession *mqtt;
        AlinkTopics topics;
        uint32_t next_message_id;
        ManagerState state;
        /* The connection attempts of this identity (connect_identity, "pk/dn"), kept across sessions: the
         * platform allows ALINK_MAX_CONNECTS_PER_MINUTE per device, however many reloads and Reconnects. */
        Backoff connect_backoff;
        char *connect_identity;
        Outbox *outbox; /* every QoS 1 message to the cloud, from acceptance to PUBACK */
        /* The device the configuration describes, by its thing model (NULL while unconfigured), and its
         * sub-devices ([subdevice.NAME]), kept online by the Gateway. */
        struct Device *device;
        struct Gateway *gateway;
        struct Device **subdevices;
        size_t n_subdevices;
        struct Subdevices *runtime; /* those added over D-Bus (AddSubDevice) */
        DeviceHost sub_host;        /* what a sub-device's Device reaches the daemon through */

        /* The light. */
        Led *led;
        sd_event_source *led_save_timer; /* saves its state a moment after a change */

        /* Firmware updates. */
        Ota *ota;

        /* Local control. */
        Bus *bus;
        bool ready_sent;
        char *status; /* the last STATUS= sent to systemd */

        /* Signals. */
        sd_event_source *sigterm_source, *sigint_source, *sighup_source;
} Manager;

int manager_new(Manager **ret, const char *config_path);
Manager *manager_free(Manager *m);
DEFINE_TRIVIAL_CLEANUP_FUNC(Manager *, manager_free);

/* Load the configuration and start connecting (or wait, when unconfigured). Negative errno when the
 * configuration is invalid or a resource is missing. */
int manager_start(Manager *m);
/* What a reload did (conf_load()'s outcomes, mapped for the callers: D-Bus Reload, SIGHUP). */
typedef enum ManagerReload {
        MANAGER_RELOAD_APPLIED,      /* the new file is in use */
        MANAGER_RELOAD_UNCONFIGURED, /* the new file is in use; it has no device triple, so the daemon idles
                                      */
        MANAGER_RELOAD_KEPT, /* the new file has problems (logged); the running configuration stays */
} ManagerReload;

/* Re-read the configuration and apply it when it is valid. Returns a ManagerReload, or negative errno when
 * the new session could not be set up. Sends RELOADING=1 ... READY=1 with the current STATUS= again; never
 * publishes anything. */
int manager_reload(Manager *m);
/* Run until SIGTERM/SIGINT; returns the exit code for main(). */
int manager_run(Manager *m);

const char *manager_state_to_string(ManagerState s);

/* Publish to the cloud. QoS 1 goes through the outbox (kept until acknowledged, across reconnects and
 * restarts): 0 when stored, 1 when it could only be kept in memory. QoS 0 goes out now or not at all:
 * -ENOTCONN when offline. -EMSGSIZE, -EINVAL for bad input. */
int manager_publish(Manager *m, const char *topic, const char *payload, int qos);
/* Post properties given as a JSON object by a local client, or an event with its output: checked against
 * the thing model first, ALINK_E_INVALID with *ret_error when they do not fit it. */
int manager_post_properties(Manager *m, const char *params_json, char **ret_error);
int manager_post_event(Manager *m, const char *event, const char *output_json, char **ret_error);
/* Ask the cloud for pending firmware (thing/ota/firmware/get). */
int manager_request_firmware(Manager *m);
void manager_get_ota_status(Manager *m, OtaStatus *ret);
/* Messages accepted for the cloud and not yet acknowledged by it; messages dropped because the outbox
 * was full. */
size_t manager_get_outbox_depth(Manager *m);
uint64_t manager_get_outbox_dropped(Manager *m);
/* The bus answered the name request (error < 0: stop); READY=1 goes out once, after this or at loop
 * start when there is no bus. */
void manager_bus_ready(Manager *m, int error);
void manager_notify_ready(Manager *m);
/* The Device of product_key/device_name: the gateway's own or one of its sub-devices; NULL when none. */
struct Device *manager_find_device(Manager *m, const char *product_key, const char *device_name);

/* AddSubDevice / RemoveSubDevice (subdevices.h): ALINK_E_INVALID with *ret_error for what cannot be done,
 * -EEXIST, -ENOENT, or negative errno. */
int manager_add_subdevice(Manager *m, const char *product_key, const char *device_name, const char *secret,
        const char *tsl_json, bool persistent, sd_bus_message *msg, char **ret_error);
int manager_remove_subdevice(
        Manager *m, const char *product_key, const char *device_name, bool unbind, char **ret_error);
/* "online", "offline", or the Gateway's state of a sub-device ("parked", ...). */
const char *manager_subdevice_state(Manager *m, struct Device *d);

/* A fresh Alink message id (decimal string); NULL when out of memory. Caller frees. */
char *manager_new_message_id(Manager *m);

/* A local change of the light (D-Bus, CLI): apply, read back, then post the state the light actually shows.
 * Returns the Alink code (200 or a LED_CODE_*). Cloud sets reach the light through the Device. */
int manager_change_led(Manager *m, const LedChange *change, LedState *ret_actual);
