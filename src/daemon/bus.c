/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus.c: org.alilinkd1 on the system bus with sd-bus, attached to the Manager's sd-event loop. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <systemd/sd-bus.h>

#include "alink.h"
#include "bus-device.h"
#include "bus-names.h"
#include "bus.h"
#include "device.h"
#include "event-util.h"
#include "gateway.h"
#include "log.h"
#include "manager.h"
#include "string-util.h"

/* D-Bus signals caused by cloud traffic wait this long, in a queue of at most BUS_QUEUE_MAX (see "Signals,
 * batched" below). */
#define BUS_SIGNAL_DELAY_USEC (5 * USEC_PER_MSEC)
#define BUS_QUEUE_MAX 256

struct Bus {
        Manager *manager;
        sd_bus *bus;
        sd_bus_slot *object_slot, *name_slot;
        sd_event_source *flush;               /* timer: the queued signals, then PropertiesChanged */
        sd_bus_message *queue[BUS_QUEUE_MAX]; /* signals waiting for it, oldest first; full: sent at once */
        size_t n_queue;
        bool changed[_BUS_PROPERTY_MAX];
        bool have_name;
        UnitClient *units;   /* units started through systemd (the firmware installer) */
        BusDevices *devices; /* the org.alilinkd1.Device objects and their handlers */
};

#define X(id, name, ...) [BUS_PROPERTY_##id] = name,
static const char *const property_names[_BUS_PROPERTY_MAX] = {BUS_PROPERTIES(X)};
#undef X
#define X(id, name, signature, ...) [BUS_PROPERTY_##id] = signature,
static const char *const property_signatures[_BUS_PROPERTY_MAX] = {BUS_PROPERTIES(X)};
#undef X
#define X(id, name, signature, flags, ...) [BUS_PROPERTY_##id] = flags,
static const unsigned property_flags[_BUS_PROPERTY_MAX] = {BUS_PROPERTIES(X)};
#undef X

static BusProperty property_from_name(const char *name)
{
        for (size_t i = 0; i < _BUS_PROPERTY_MAX; i++)
                if (streq(property_names[i], name))
                        return (BusProperty) i;
        return _BUS_PROPERTY_MAX;
}

/* --- properties: everything is read from the Manager at the time of the call --- */

static const MqttStats *stats(Manager *m)
{
        static const MqttStats none = {};
        return m->mqtt ? mqtt_session_get_stats(m->mqtt) : &none;
}

/* Appends the value of p, of the type the table gives it. */
static int property_append(Manager *m, BusProperty p, sd_bus_message *reply)
{
        const char *sig = property_signatures[p];
        const MqttStats *s = stats(m);
        _cleanup_(freep) char *e = NULL;
        LedState led;
        OtaStatus ota;

        switch (p) {
        case BUS_PROPERTY_CONNECTED:
                return sd_bus_message_append(reply, sig, m->state == MANAGER_CONNECTED);
        case BUS_PROPERTY_STATE:
                return sd_bus_message_append(reply, sig, manager_state_to_string(m->state));
        case BUS_PROPERTY_ENDPOINT:
                if (m->conf && m->conf->host && asprintf(&e, "%s:%u", m->conf->host, m->conf->port) < 0)
                        return -ENOMEM;
                return sd_bus_message_append(reply, sig, strempty(e));
        case BUS_PROPERTY_PRODUCT_KEY:
                return sd_bus_message_append(reply, sig, strempty(m->conf ? m->conf->product_key : NULL));
        case BUS_PROPERTY_DEVICE_NAME:
                return sd_bus_message_append(reply, sig, strempty(m->conf ? m->conf->device_name : NULL));
        case BUS_PROPERTY_LAST_ERROR:
                return sd_bus_message_append(
                        reply, sig, strempty(m->mqtt ? mqtt_session_get_last_error(m->mqtt) : NULL));
        case BUS_PROPERTY_CONNECTED_SINCE:
                return sd_bus_message_append(reply, sig, s->connected_since_usec);
        case BUS_PROPERTY_RECONNECTS:
                return sd_bus_message_append(reply, sig, s->reconnects);
        case BUS_PROPERTY_MESSAGES_SENT:
                return sd_bus_message_append(reply, sig, s->messages_sent);
        case BUS_PROPERTY_MESSAGES_RECEIVED:
                return sd_bus_message_append(reply, sig, s->messages_received);
        case BUS_PROPERTY_BYTES_SENT:
                return sd_bus_message_append(reply, sig, s->bytes_sent);
        case BUS_PROPERTY_BYTES_RECEIVED:
                return sd_bus_message_append(reply, sig, s->bytes_received);
        case BUS_PROPERTY_OUTBOX_DEPTH:
                return sd_bus_message_append(reply, sig, (uint32_t) manager_get_outbox_depth(m));
        case BUS_PROPERTY_OUTBOX_DROPPED:
                return sd_bus_message_append(reply, sig, (uint64_t) manager_get_outbox_dropped(m));
        case BUS_PROPERTY_FIRMWARE_VERSION:
        case BUS_PROPERTY_OTA_STATE:
        case BUS_PROPERTY_OTA_PROGRESS:
                manager_get_ota_status(m, &ota);
                if (p == BUS_PROPERTY_FIRMWARE_VERSION)
                        return sd_bus_message_append(reply, sig, strempty(ota.firmware_version));
                if (p == BUS_PROPERTY_OTA_STATE)
                        return sd_bus_message_append(reply, sig, strempty(ota.state));
                return sd_bus_message_append(reply, sig, (int32_t) ota.progress);
        case BUS_PROPERTY_SERVER_CERTIFICATE_EXPIRY:
                return sd_bus_message_append(reply, sig, s->server_cert_not_after_usec);
        case BUS_PROPERTY_LED:
        case BUS_PROPERTY_BRIGHTNESS:
                led = m->led ? *led_get_state(m->led) : LED_STATE_INIT;
                if (p == BUS_PROPERTY_BRIGHTNESS)
                        return sd_bus_message_append(reply, sig, led.brightness);
                return sd_bus_message_append(reply, sig, led.on, led.red, led.green, led.blue);
        case BUS_PROPERTY_SUB_DEVICES:
                return sd_bus_message_append(
                        reply, sig, (uint32_t) (m->gateway ? gateway_n_subdevices(m->gateway) : 0));
        case BUS_PROPERTY_SUB_DEVICES_ONLINE:
                return sd_bus_message_append(
                        reply, sig, (uint32_t) (m->gateway ? gateway_n_online(m->gateway) : 0));
        default:
                return -EINVAL;
        }
}

/* The one getter of the vtable: every property is dispatched by its name through the table. */
static int get_property(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        BusProperty p = property_from_name(property);

        (void) bus;
        (void) path;
        (void) interface;
        if (p == _BUS_PROPERTY_MAX)
                return sd_bus_error_setf(error, SD_BUS_ERROR_UNKNOWN_PROPERTY, "No property %s", property);
        return property_append(userdata, p, reply);
}

/* --- methods --- */

static int map_publish_error(int r, sd_bus_error *error)
{
        switch (r) {
        case -ENOTCONN:
                return sd_bus_error_set(error, ALI_BUS_ERROR_NOT_CONNECTED,
                        "Not connected to the cloud; try again once connected");
        case -EMSGSIZE:
        case -EINVAL:
                return sd_bus_error_set_errnof(error, -r, "Message refused: %s", strerror(-r));
        default:
                return r;
        }
}

static int method_publish(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        const char *topic, *payload;
        uint32_t qos;
        int r;

        r = sd_bus_message_read(msg, "ssu", &topic, &payload, &qos);
        if (r < 0)
                return r;
        if (qos > 1)
                return sd_bus_error_setf(
                        error, SD_BUS_ERROR_INVALID_ARGS, "QoS %u is not supported: use 0 or 1", qos);
        if (strlen(payload) > ALI_BUS_MAX_PAYLOAD)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS,
                        "Payload of %zu bytes exceeds the platform's %u byte limit", strlen(payload),
                        ALI_BUS_MAX_PAYLOAD);
        if (!m->conf || !m->conf->product_key || !m->mqtt)
                return sd_bus_error_set(error, ALI_BUS_ERROR_NOT_CONFIGURED, "The device is not configured");
        if (!alink_topic_publish_allowed(&m->topics, topic))
                return sd_bus_error_setf(error, ALI_BUS_ERROR_TOPIC_NOT_ALLOWED,
                        "Topic %s is not one of this device's: use %s... or %sthing/event/...", topic,
                        m->topics.user_prefix, m->topics.sys_prefix);

        r = manager_publish(m, topic, payload, (int) qos);
        if (r < 0)
                return map_publish_error(r, error);
        /* QoS 1 counts as accepted once it is on disk: the outbox keeps it until the cloud acknowledges it.
         */
        if (qos == 1 && (r > 0 || outbox_sync(m->outbox) < 0))
                return sd_bus_error_set(error, ALI_BUS_ERROR_STORAGE_FAILED,
                        "The message could not be stored on disk; it is kept in memory and sent while the "
                        "daemon runs");
        log_debug("%s %zu bytes to %s for a local client", qos == 1 ? "Accepted" : "Published",
                strlen(payload), topic);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_post_properties(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_(freep) char *problem = NULL;
        const char *json;
        int r;

        r = sd_bus_message_read(msg, "s", &json);
        if (r < 0)
                return r;
        if (!m->conf || !m->conf->product_key || !m->mqtt)
                return sd_bus_error_set(error, ALI_BUS_ERROR_NOT_CONFIGURED, "The device is not configured");
        r = manager_post_properties(m, json, &problem);
        if (r == ALINK_E_INVALID)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", strna(problem));
        if (r < 0)
                return map_publish_error(r, error);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_set_led(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        LedChange c = {.set_on = true, .set_red = true, .set_green = true, .set_blue = true};
        int on, r, code;

        r = sd_bus_message_read(msg, "byyy", &on, &c.value.red, &c.value.green, &c.value.blue);
        if (r < 0)
                return r;
        c.value.on = on;
        code = manager_change_led(m, &c, NULL);
        if (code != ALINK_CODE_SUCCESS)
                return sd_bus_error_setf(error, ALI_BUS_ERROR_LED_FAILED,
                        "The light did not take the requested state (device error %d)", code);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_set_brightness(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        LedChange c = {.set_brightness = true};
        int r, code;

        r = sd_bus_message_read(msg, "y", &c.value.brightness);
        if (r < 0)
                return r;
        if (c.value.brightness > 100)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Brightness %u is not in 0..100",
                        c.value.brightness);
        code = manager_change_led(m, &c, NULL);
        if (code != ALINK_CODE_SUCCESS)
                return sd_bus_error_setf(error, ALI_BUS_ERROR_LED_FAILED,
                        "The light did not take the requested brightness (device error %d)", code);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_get_device(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_(freep) char *path = NULL;
        const char *pk, *dn;
        int r;

        r = sd_bus_message_read(msg, "ss", &pk, &dn);
        if (r < 0)
                return r;
        if (!manager_find_device(m, pk, dn))
                return sd_bus_error_setf(error, ALI_BUS_ERROR_NO_SUCH_DEVICE,
                        "This daemon does not serve device %s/%s", pk, dn);
        r = bus_device_path(pk, dn, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "o", path);
}

/* AddSubDevice(s product_key, s device_name, s device_secret, a{sv} options) -> o: options Tsl (s, the thing
 * model's JSON text, required) and Persistent (b). The secret is never logged, echoed or kept anywhere but
 * in the daemon (and, persistent, in a 0600 file of the state directory). */
static int method_add_subdevice(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_(freep) char *problem = NULL, *path = NULL, *tsl = NULL;
        const char *pk, *dn, *secret;
        int persistent = false, r;

        r = sd_bus_message_read(msg, "sss", &pk, &dn, &secret);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(msg, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(msg, 'e', "sv")) > 0) {
                const char *key, *s;

                r = sd_bus_message_read(msg, "s", &key);
                if (r < 0)
                        return r;
                if (streq(key, "Tsl")) {
                        r = sd_bus_message_read(msg, "v", "s", &s);
                        if (r < 0)
                                return sd_bus_error_set(
                                        error, SD_BUS_ERROR_INVALID_ARGS, "Tsl must be a string");
                        if (free_and_strdup(&tsl, s) < 0)
                                return -ENOMEM;
                } else if (streq(key, "Persistent")) {
                        r = sd_bus_message_read(msg, "v", "b", &persistent);
                        if (r < 0)
                                return sd_bus_error_set(
                                        error, SD_BUS_ERROR_INVALID_ARGS, "Persistent must be a boolean");
                } else
                        return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Unknown option %s", key);
                r = sd_bus_message_exit_container(msg);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(msg);
        if (r < 0)
                return r;

        r = manager_add_subdevice(m, pk, dn, secret, tsl, persistent, msg, &problem);
        if (r == -EEXIST)
                return sd_bus_error_setf(
                        error, ALI_BUS_ERROR_ALREADY_EXISTS, "Device %s/%s is served already", pk, dn);
        if (r > 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", strna(problem));
        if (r < 0)
                return r;
        r = bus_device_path(pk, dn, &path);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, "o", path);
}

static int method_remove_subdevice(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        _cleanup_(freep) char *problem = NULL;
        const char *pk, *dn;
        int unbind, r;

        r = sd_bus_message_read(msg, "ssb", &pk, &dn, &unbind);
        if (r < 0)
                return r;
        r = manager_remove_subdevice(m, pk, dn, unbind, &problem);
        if (r == -ENOENT)
                return sd_bus_error_setf(
                        error, ALI_BUS_ERROR_NO_SUCH_DEVICE, "No sub-device %s/%s was added", pk, dn);
        if (r > 0)
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s", strna(problem));
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

/* ListDevices() -> a(ssso): product key, device name, state, object; the gateway's own first. */
static int method_list_devices(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        Manager *m = userdata;
        int r;

        (void) error;
        r = sd_bus_message_new_method_return(msg, &reply);
        if (r < 0)
                return r;
        r = sd_bus_message_open_container(reply, 'a', "(ssso)");
        if (r < 0)
                return r;
        for (size_t i = 0; m->device && i <= m->n_subdevices; i++) {
                Device *d = i == 0 ? m->device : m->subdevices[i - 1];
                _cleanup_(freep) char *path = NULL;

                r = bus_device_path(device_product_key(d), device_device_name(d), &path);
                if (r < 0)
                        return r;
                r = sd_bus_message_append(reply, "(ssso)", device_product_key(d), device_device_name(d),
                        manager_subdevice_state(m, d), path);
                if (r < 0)
                        return r;
        }
        r = sd_bus_message_close_container(reply);
        if (r < 0)
                return r;
        return sd_bus_send(NULL, reply, NULL);
}

static int method_reconnect(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        if (!m->mqtt)
                return sd_bus_error_set(error, ALI_BUS_ERROR_NOT_CONFIGURED, "The device is not configured");
        log_info("Reconnecting, as asked over D-Bus");
        r = mqtt_session_reconnect(m->mqtt);
        if (r < 0)
                return r;
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_request_firmware(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        r = manager_request_firmware(m);
        if (r == -EOPNOTSUPP)
                return sd_bus_error_set(
                        error, ALI_BUS_ERROR_NOT_SUPPORTED, "Firmware updates are not available");
        if (r < 0)
                return map_publish_error(r, error);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_reload(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Manager *m = userdata;
        int r;

        log_info("Reloading, as asked over D-Bus");
        r = manager_reload(m);
        if (r < 0)
                return r;
        switch (r) {
        case MANAGER_RELOAD_APPLIED:
        case MANAGER_RELOAD_UNCONFIGURED: /* applied; the State property says "unconfigured" */
                return sd_bus_reply_method_return(msg, NULL);
        case MANAGER_RELOAD_KEPT:
        default:
                return sd_bus_error_setf(error, ALI_BUS_ERROR_INVALID_CONFIG,
                        "%s has problems or changes what needs a restart (see the daemon's log); the "
                        "running "
                        "configuration was kept",
                        m->config_path);
        }
}

#define VTABLE_FLAGS(flags) ((flags) &BUS_PROPERTY_EMITS ? SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE : 0)
#define X(id, name, signature, flags, ...)                                                                  \
        SD_BUS_PROPERTY(name, signature, get_property, 0, VTABLE_FLAGS(flags)),
static const sd_bus_vtable manager_vtable[] = {
        SD_BUS_VTABLE_START(0),
        BUS_PROPERTIES(X)

                SD_BUS_METHOD_WITH_ARGS("Publish", SD_BUS_ARGS("s", topic, "s", payload, "u", qos),
                        SD_BUS_NO_RESULT, method_publish, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PostProperties", SD_BUS_ARGS("s", json), SD_BUS_NO_RESULT,
                method_post_properties, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetLed", SD_BUS_ARGS("b", on, "y", red, "y", green, "y", blue),
                SD_BUS_NO_RESULT, method_set_led, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetBrightness", SD_BUS_ARGS("y", brightness), SD_BUS_NO_RESULT,
                method_set_brightness, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("GetDevice", SD_BUS_ARGS("s", product_key, "s", device_name),
                SD_BUS_RESULT("o", device), method_get_device, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("AddSubDevice",
                SD_BUS_ARGS("s", product_key, "s", device_name, "s", device_secret, "a{sv}", options),
                SD_BUS_RESULT("o", device), method_add_subdevice,
                SD_BUS_VTABLE_UNPRIVILEGED | SD_BUS_VTABLE_SENSITIVE),
        SD_BUS_METHOD_WITH_ARGS("RemoveSubDevice",
                SD_BUS_ARGS("s", product_key, "s", device_name, "b", unbind), SD_BUS_NO_RESULT,
                method_remove_subdevice, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("ListDevices", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssso)", devices),
                method_list_devices, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reconnect", NULL, NULL, method_reconnect, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("RequestFirmware", NULL, NULL, method_request_firmware, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Reload", NULL, NULL, method_reload, SD_BUS_VTABLE_UNPRIVILEGED),

        SD_BUS_SIGNAL_WITH_ARGS("PropertySet", SD_BUS_ARGS("s", json), 0),
        SD_BUS_SIGNAL_WITH_ARGS("Message", SD_BUS_ARGS("s", topic, "s", payload), 0),
        SD_BUS_VTABLE_END,
};
#undef X
#undef VTABLE_FLAGS

/* --- Signals, batched --- */

/* What cloud traffic makes local listeners hear (PropertySet, Message, and the properties flagged
 * BUS_PROPERTY_BATCHED, which change with every set and post) goes out BUS_SIGNAL_DELAY_USEC after the
 * first of a batch. Every signal wakes dbus-daemon (and its listeners) on the machine's few CPUs; sent in
 * the moment the cloud's answer crosses the broker, they slow the cloud's round trip measurably
 * (bench/bounds.md has the figures). A few milliseconds later they cost the cloud nothing, and a burst
 * leaves in one go. Any other property (State, Connected, OTA, ...) changes rarely and sends the batch on
 * the next loop iteration, so that a listener sees every state the daemon passes through. */

static bool property_batched(BusProperty p)
{
        return (property_flags[p] & BUS_PROPERTY_BATCHED) == BUS_PROPERTY_BATCHED;
}

static void bus_flush(Bus *b)
{
        const char *names[_BUS_PROPERTY_MAX + 1];
        size_t n = 0;
        int r;

        /* In the order they were queued; PropertiesChanged last, as when each went out at once. */
        for (size_t i = 0; i < b->n_queue; i++) {
                r = sd_bus_send(b->bus, b->queue[i], NULL);
                if (r < 0)
                        log_debug_errno(
                                r, "Cannot emit %s, ignoring: %m", sd_bus_message_get_member(b->queue[i]));
                sd_bus_message_unref(b->queue[i]);
        }
        b->n_queue = 0;

        for (size_t i = 0; i < _BUS_PROPERTY_MAX; i++)
                if (b->changed[i]) {
                        names[n++] = property_names[i];
                        b->changed[i] = false;
                }
        names[n] = NULL;
        if (n == 0 || !b->have_name)
                return;
        r = sd_bus_emit_properties_changed_strv(b->bus, ALI_BUS_PATH, ALI_BUS_INTERFACE, (char **) names);
        if (r < 0)
                log_debug_errno(r, "Cannot emit PropertiesChanged, ignoring: %m");
}

static int on_flush(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void) s;
        (void) usec;
        bus_flush(userdata);
        return 0;
}

/* Arms the timer to fire delay from now, unless it is armed and this can wait (delay > 0) as long as what
 * armed it; sends at once if it cannot be armed. */
static void bus_schedule_flush(Bus *b, uint64_t delay)
{
        int r;

        if (delay > 0 && event_timer_armed(b->flush))
                return;
        r = event_timer_arm_relative(b->flush, delay);
        if (r < 0) {
                log_debug_errno(r, "Cannot delay D-Bus signals, sending them now: %m");
                bus_flush(b);
        }
}

/* Queues the signal member with arguments of the given types (as sd_bus_message_append()). */
static void bus_queue_signal(Bus *b, const char *member, const char *types, ...)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *message = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_signal(b->bus, &message, ALI_BUS_PATH, ALI_BUS_INTERFACE, member);
        if (r >= 0) {
                va_start(ap, types);
                r = sd_bus_message_appendv(message, types, ap);
                va_end(ap);
        }
        if (r < 0)
                return (void) log_debug_errno(r, "Cannot emit %s, ignoring: %m", member);

        b->queue[b->n_queue++] = TAKE_PTR(message);
        if (b->n_queue == ELEMENTSOF(b->queue))
                bus_flush(b);
        else
                bus_schedule_flush(b, BUS_SIGNAL_DELAY_USEC);
}

void bus_property_changed(Bus *b, BusProperty p)
{
        if (!b || p < 0 || p >= _BUS_PROPERTY_MAX || !(property_flags[p] & BUS_PROPERTY_EMITS))
                return;
        b->changed[p] = true;
        bus_schedule_flush(b, property_batched(p) ? BUS_SIGNAL_DELAY_USEC : 0);
}

void bus_emit_property_set(Bus *b, const char *params_json)
{
        if (!b || !b->have_name || !params_json)
                return;
        bus_queue_signal(b, "PropertySet", "s", params_json);
}

void bus_emit_message(Bus *b, const char *topic, const void *payload, size_t len)
{
        _cleanup_(freep) char *s = NULL;

        if (!b || !b->have_name)
                return;
        /* D-Bus strings are UTF-8 without NUL bytes; anything else cannot be forwarded as a string. */
        if (!utf8_is_valid_n(payload, len)) {
                log_warning(
                        "Not forwarding the message on %s over D-Bus: its payload is not UTF-8 text", topic);
                return;
        }
        s = strndup(payload, len);
        if (!s)
                return (void) log_oom();
        bus_queue_signal(b, "Message", "ss", topic, s);
}

/* --- units started through systemd (the firmware installer runs as root in one): unit-client.c --- */

int bus_start_unit(Bus *b, const char *unit, BusUnitDoneFn done, void *userdata)
{
        return unit_client_start(b ? b->units : NULL, unit, done, userdata);
}

void bus_forget_unit(Bus *b)
{
        if (b)
                unit_client_forget(b->units);
}

BusDevices *bus_get_devices(Bus *b)
{
        return b ? b->devices : NULL;
}

/* --- setup --- */

static int on_name_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        Bus *b = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        uint32_t result = 0;

        (void) ret_error;
        b->name_slot = sd_bus_slot_unref(b->name_slot);
        if (e) {
                if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
                        log_warning("Not allowed to own %s on the system bus (%s); running without D-Bus. "
                                    "Is the policy /usr/share/dbus-1/system.d/" ALI_BUS_NAME
                                    ".conf installed?",
                                ALI_BUS_NAME, e->message);
                else
                        log_warning("Cannot own %s on the system bus: %s; running without D-Bus",
                                ALI_BUS_NAME, e->message);
                manager_bus_ready(b->manager, 0);
                return 0;
        }
        (void) sd_bus_message_read(reply, "u", &result);
        if (result == 1 /* primary owner */ || result == 4 /* already owner */) {
                b->have_name = true;
                log_debug("Acquired %s on the system bus", ALI_BUS_NAME);
                manager_bus_ready(b->manager, 0);
                return 0;
        }
        log_error(
                "%s is already owned on the system bus: another ali-linkd is running. Two daemons with one "
                "device identity would keep disconnecting each other; stopping.",
                ALI_BUS_NAME);
        manager_bus_ready(b->manager, -EEXIST);
        return 0;
}

int bus_new(Bus **ret, Manager *m)
{
        _cleanup_(bus_freep) Bus *b = NULL;
        int r;

        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->manager = m;

        r = sd_bus_open_system(&b->bus);
        if (r < 0) {
                log_warning_errno(r, "Cannot connect to the system bus, running without D-Bus: %m");
                *ret = NULL;
                return 0;
        }
        (void) sd_bus_set_description(b->bus, "system-bus");
        r = unit_client_new(&b->units, b->bus);
        if (r < 0)
                return r;
        r = bus_devices_new(&b->devices, b->bus, m->event);
        if (r < 0)
                return r;

        r = sd_bus_add_object_vtable(
                b->bus, &b->object_slot, ALI_BUS_PATH, ALI_BUS_INTERFACE, manager_vtable, m);
        if (r < 0)
                return log_error_errno(r, "Cannot register the D-Bus object: %m");
        r = sd_event_add_time_relative(
                m->event, &b->flush, CLOCK_MONOTONIC, BUS_SIGNAL_DELAY_USEC, USEC_PER_MSEC, on_flush, b);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(b->flush, "bus-signals");
        (void) sd_event_source_set_enabled(b->flush, SD_EVENT_OFF);

        r = sd_bus_attach_event(b->bus, m->event, SD_EVENT_PRIORITY_NORMAL);
        if (r < 0)
                return log_error_errno(r, "Cannot attach the bus to the event loop: %m");
        r = sd_bus_request_name_async(b->bus, &b->name_slot, ALI_BUS_NAME, 0, on_name_reply, b);
        if (r < 0)
                return log_error_errno(r, "Cannot request %s: %m", ALI_BUS_NAME);

        *ret = TAKE_PTR(b);
        return 0;
}

Bus *bus_free(Bus *b)
{
        if (!b)
                return NULL;
        b->units = unit_client_free(b->units);
        b->devices = bus_devices_free(b->devices);
        /* What is still queued goes out before the connection is flushed and closed. */
        if (b->flush)
                bus_flush(b);
        sd_event_source_disable_unref(b->flush);
        sd_bus_slot_unref(b->name_slot);
        sd_bus_slot_unref(b->object_slot);
        if (b->bus) {
                sd_bus_detach_event(b->bus);
                sd_bus_flush_close_unref(b->bus);
        }
        free(b);
        return NULL;
}
