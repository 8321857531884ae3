/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.c: the daemon's state, its event sources, and the Alink message flow. */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <json-c/json.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "alink-sign.h"
#include "bus-device.h"
#include "bus.h"
#include "device.h"
#include "event-util.h"
#include "fs-util.h"
#include "gateway.h"
#include "subdevices.h"
#include "led-json.h"
#include "log.h"
#include "manager.h"
#include "string-table.h"
#include "string-util.h"
#include "time-util.h"

static const char *const manager_state_table[_MANAGER_STATE_MAX] = {
        [MANAGER_STARTING] = "starting",
        [MANAGER_CONNECTING] = "connecting",
        [MANAGER_CONNECTED] = "connected",
        [MANAGER_BACKOFF] = "backoff",
        [MANAGER_UNCONFIGURED] = "unconfigured",
        [MANAGER_STOPPING] = "stopping",
};

DEFINE_STRING_TABLE_TO_STRING(manager_state, ManagerState);

static void manager_set_state(Manager *m, ManagerState state)
{
        if (m->state == state)
                return;
        m->state = state;
        if (m->device)
                device_set_online(m->device, state == MANAGER_CONNECTED);
        /* Everything that describes the connection moves with the state. */
        bus_property_changed(m->bus, BUS_PROPERTY_STATE);
        bus_property_changed(m->bus, BUS_PROPERTY_CONNECTED);
        bus_property_changed(m->bus, BUS_PROPERTY_LAST_ERROR);
        bus_property_changed(m->bus, BUS_PROPERTY_CONNECTED_SINCE);
        bus_property_changed(m->bus, BUS_PROPERTY_RECONNECTS);
        bus_property_changed(m->bus, BUS_PROPERTY_SERVER_CERTIFICATE_EXPIRY);
}

/* Tell systemd what the daemon is doing (STATUS=), and remember it: a reload ends by showing it again. */
_printf_(2, 3) static void manager_notify_status(Manager *m, const char *format, ...)
{
        va_list ap;
        char *status;

        va_start(ap, format);
        if (vasprintf(&status, format, ap) < 0)
                status = NULL;
        va_end(ap);
        if (!status)
                return (void) log_oom();
        free(m->status);
        m->status = status;
        (void) sd_notifyf(false, "STATUS=%s", m->status);
}

char *manager_new_message_id(Manager *m)
{
        char *id;

        /* Ids are decimal strings unique per device per day (Alink envelope,
         * https://help.aliyun.com/document_detail/89301.htm); seeded from the clock at start so a restart
         * does not reuse the ids of the previous run. */
        if (++m->next_message_id == 0)
                m->next_message_id = 1;
        if (asprintf(&id, "%" PRIu32, m->next_message_id) < 0)
                return NULL;
        return id;
}

int manager_publish(Manager *m, const char *topic, const char *payload, int qos)
{
        int r;

        if (qos == 1) {
                r = outbox_append(m->outbox, OUTBOX_ORDERED, topic, payload, strlen(payload));
                bus_property_changed(m->bus, BUS_PROPERTY_OUTBOX_DEPTH);
                bus_property_changed(m->bus, BUS_PROPERTY_OUTBOX_DROPPED);
                if (r < 0)
                        return log_warning_errno(r, "Cannot queue a message to %s: %m", topic);
                log_debug("Queued for %s: %s", topic, payload);
                return r;
        }
        if (!m->mqtt)
                return -ENOTCONN;
        r = mqtt_session_publish(m->mqtt, topic, payload, strlen(payload), qos, NULL);
        if (r < 0)
                return log_debug_errno(r, "Cannot publish to %s now: %m", topic);
        log_debug("Published to %s: %s", topic, payload);
        return 0;
}

static int outbox_send(void *userdata, const char *topic, const void *payload, size_t len, int *ret_mid)
{
        Manager *m = userdata;

        if (!m->mqtt)
                return -ENOTCONN;
        return mqtt_session_publish(m->mqtt, topic, payload, len, /* qos= */ 1, ret_mid);
}

static int outbox_merge(void *userdata, const char *older, bool older_timed, uint64_t older_ms,
        const char *newer, uint64_t newer_ms, char **ret)
{
        (void) userdata;
        return alink_merge_property_posts(older, older_timed, older_ms, newer, newer_ms, ret);
}

static void on_mqtt_published(MqttSession *s, int mid, void *userdata)
{
        Manager *m = userdata;

        (void) s;
        outbox_acked(m->outbox, mid);
        bus_property_changed(m->bus, BUS_PROPERTY_OUTBOX_DEPTH);
}

static int manager_post_state(Manager *m, const LedState *state)
{
        struct json_object *params;
        int r;

        if (!m->device)
                return 0; /* not configured: nobody to post for */
        r = led_params_new(&m->conf->led_model, state, &params);
        if (r < 0)
                return log_oom();
        /* Only what the product's thing model has: a thermostat's has no light. */
        json_object_object_foreach(params, key, v)
        {
                (void) v;
                if (!tsl_find_property(m->conf->tsl, key))
                        json_object_object_del(params, key);
        }
        if (json_object_object_length(params) == 0) {
                json_object_put(params);
                return 0;
        }
        r = device_post_light(m->device, params);
        if (r >= 0)
                log_info("Posting the light's state (%s)", state->on ? "on" : "off");
        return r;
}

/* How long a changed light state may wait to be saved: a burst of changes then costs one fsync, and a crash
 * or power loss forgets at most this much (the state the light shows is posted after each connect). */
#define LED_SAVE_DELAY_USEC USEC_PER_SEC

static int on_led_save(sd_event_source *s, uint64_t usec, void *userdata)
{
        Manager *m = userdata;

        (void) s;
        (void) usec;
        (void) led_save(m->led);
        return 0;
}

static void manager_schedule_led_save(Manager *m)
{
        if (!led_needs_save(m->led) || event_timer_armed(m->led_save_timer))
                return; /* nothing to save, or already due */
        if (event_timer_arm_relative(m->led_save_timer, LED_SAVE_DELAY_USEC) < 0)
                (void) led_save(m->led); /* no timer: now, then */
}

/* Apply, read back, save: the light's part of every change. Returns the Alink code (200 or a LED_CODE_*),
 * with the state the light shows in *ret_actual. */
static int manager_apply_led(Manager *m, const LedChange *change, LedState *ret_actual)
{
        LedState want = *led_get_state(m->led), actual = want;
        int r, code;

        led_change_apply(change, &want);
        r = led_apply(m->led, &want, &actual);
        if (r < 0) {
                log_error_errno(r, "Cannot apply the light's state: %m");
                r = LED_CODE_WRITE_FAILED;
                actual = *led_get_state(m->led);
        }
        code = r == 0 ? ALINK_CODE_SUCCESS : r;
        manager_schedule_led_save(m);
        bus_property_changed(m->bus, BUS_PROPERTY_LED);
        bus_property_changed(m->bus, BUS_PROPERTY_BRIGHTNESS);
        if (code != ALINK_CODE_SUCCESS)
                log_warning("The light did not take the requested state: device error %d", code);
        *ret_actual = actual;
        return code;
}

int manager_change_led(Manager *m, const LedChange *change, LedState *ret_actual)
{
        LedState actual;
        int code = manager_apply_led(m, change, &actual);

        /* The cloud keeps the last posted values: tell it what the light shows now. */
        (void) manager_post_state(m, &actual);
        if (ret_actual)
                *ret_actual = actual;
        return code;
}

int manager_post_properties(Manager *m, const char *params_json, char **ret_error)
{
        if (!m->device)
                return alink_json_error(ret_error, "the device is not configured");
        return device_post_properties(m->device, params_json, ret_error);
}

int manager_post_event(Manager *m, const char *event, const char *output_json, char **ret_error)
{
        if (!m->device)
                return alink_json_error(ret_error, "the device is not configured");
        return device_post_event(m->device, event, output_json, ret_error);
}

int manager_request_firmware(Manager *m)
{
        return ota_request_firmware(m->ota);
}

void manager_get_ota_status(Manager *m, OtaStatus *ret)
{
        ota_get_status(m->ota, ret);
}

size_t manager_get_outbox_depth(Manager *m)
{
        return outbox_depth(m->outbox);
}

uint64_t manager_get_outbox_dropped(Manager *m)
{
        return outbox_dropped(m->outbox);
}

static void on_mqtt_message(MqttSession *s, const char *topic, const void *payload, size_t len, int qos,
        bool retained, void *userdata)
{
        Manager *m = userdata;
        const char *name;
        size_t name_len;
        AlinkTopicKind kind;

        Device *d = m->device;
        const AlinkTopics *t = &m->topics;

        (void) s;
        log_debug("Message on %s (%zu bytes, QoS %d%s): %.*s", topic, len, qos, retained ? ", retained" : "",
                (int) MIN(len, (size_t) 2048), (const char *) payload);

        /* The gateway's topology and sessions; then what a sub-device's topics carry goes to its Device. */
        if (m->gateway && gateway_handle_message(m->gateway, topic, payload, len))
                return;
        if (m->n_subdevices > 0) {
                _cleanup_(freep) char *pk = NULL, *dn = NULL;

                if (alink_topic_device(topic, &pk, &dn) == 0 &&
                        !(streq_ptr(pk, m->conf->product_key) && streq_ptr(dn, m->conf->device_name))) {
                        d = manager_find_device(m, pk, dn);
                        if (!d) {
                                log_debug("Ignoring a message on %s: no such sub-device", topic);
                                return;
                        }
                        if (gateway_handle_subdev_message(m->gateway, pk, dn, topic, payload, len))
                                return;
                        t = device_topics(d);
                }
        }

        kind = alink_topic_classify(t, topic, &name, &name_len);
        /* A sub-device's OTA and custom topics are not served (yet): only the gateway's. */
        if (d != m->device && (kind == ALINK_TOPIC_USER || kind == ALINK_TOPIC_OTA_UPGRADE ||
                                      kind == ALINK_TOPIC_OTA_FIRMWARE_GET_REPLY)) {
                log_debug("Ignoring a message on %s for a sub-device", topic);
                return;
        }
        /* A retained command is one from the past, replayed on every subscribe: it was answered (or
         * refused) when it was new, and applying it again would undo whatever happened since. */
        if (retained && (kind == ALINK_TOPIC_PROPERTY_SET || kind == ALINK_TOPIC_SERVICE ||
                                kind == ALINK_TOPIC_RRPC_SERVICE || kind == ALINK_TOPIC_RRPC_REQUEST ||
                                kind == ALINK_TOPIC_OTA_UPGRADE)) {
                log_warning(
                        "Ignoring a retained message on %s: commands are applied when they are sent, not "
                        "replayed",
                        topic);
                return;
        }

        switch (kind) {
        case ALINK_TOPIC_PROPERTY_SET:
                if (d)
                        device_handle_property_set(d, payload, len);
                break;
        case ALINK_TOPIC_EVENT_POST_REPLY:
                if (d)
                        device_handle_post_reply(d, name, name_len, payload, len);
                break;
        case ALINK_TOPIC_SERVICE:
        case ALINK_TOPIC_RRPC_SERVICE:
        case ALINK_TOPIC_RRPC_REQUEST:
                if (d)
                        device_handle_service(d, kind, topic, name, name_len, payload, len);
                break;
        case ALINK_TOPIC_DESIRED_GET_REPLY:
        case ALINK_TOPIC_DESIRED_DELETE_REPLY:
                if (d)
                        device_handle_desired_reply(d, kind, payload, len);
                break;
        case ALINK_TOPIC_USER:
                log_info("Message on user topic %s: %zu bytes", name, len);
                if (strv_contains(m->conf->bus_forward_topics, name))
                        bus_emit_message(m->bus, topic, payload, len);
                break;
        case ALINK_TOPIC_OTA_UPGRADE:
                ota_handle_upgrade(m->ota, payload, len, /* reply= */ false);
                break;
        case ALINK_TOPIC_OTA_FIRMWARE_GET_REPLY:
                ota_handle_upgrade(m->ota, payload, len, /* reply= */ true);
                break;
        default:
                log_debug("Ignoring a message on %s", topic);
        }
}

static void on_mqtt_state(
        MqttSession *s, MqttState state, const char *why, uint64_t retry_usec, void *userdata)
{
        Manager *m = userdata;
        const Conf *c = m->conf;

        (void) s;
        switch (state) {
        case MQTT_STATE_CONNECTING:
                manager_set_state(m, MANAGER_CONNECTING);
                manager_notify_status(m, "connecting to %s:%u", c->host, c->port);
                break;
        case MQTT_STATE_CONNECTED:
                manager_set_state(m, MANAGER_CONNECTED);
                manager_notify_status(m, "connected to %s:%u", c->host, c->port);
                /* What waited goes out first; then tell the cloud what the light shows now (the cloud
                 * keeps the last posted values). */
                outbox_set_online(m->outbox, true);
                (void) manager_post_state(m, led_get_state(m->led));
                if (m->device)
                        device_connected(m->device);
                if (m->gateway)
                        gateway_connected(m->gateway);
                ota_on_connected(m->ota);
                break;
        case MQTT_STATE_BACKOFF:
                if (m->gateway)
                        gateway_disconnected(m->gateway);
                outbox_set_online(m->outbox, false);
                manager_set_state(m, MANAGER_BACKOFF);
                manager_notify_status(m, "reconnecting in %llu s: %s",
                        (unsigned long long) ((retry_usec + USEC_PER_SEC / 2) / USEC_PER_SEC), strna(why));
                break;
        case MQTT_STATE_IDLE:
        default:
                if (m->gateway)
                        gateway_disconnected(m->gateway);
                outbox_set_online(m->outbox, false);
                break;
        }
}

/* ---- the device's host: the cloud, the light, the bus ---- */

static int device_host_publish(void *userdata, const char *topic, const char *payload, int qos)
{
        return manager_publish(userdata, topic, payload, qos);
}

/* Property posts wait in the outbox like everything else, but fold into one while they wait. */
static int device_host_queue_post(void *userdata, const char *topic, const char *payload)
{
        Manager *m = userdata;
        int r = outbox_append(m->outbox, OUTBOX_PROPERTIES, topic, payload, strlen(payload));

        bus_property_changed(m->bus, BUS_PROPERTY_OUTBOX_DEPTH);
        bus_property_changed(m->bus, BUS_PROPERTY_OUTBOX_DROPPED);
        if (r < 0)
                return log_warning_errno(r, "Cannot queue a property post: %m");
        log_debug("Queued property post: %s", payload);
        return r;
}

static char *device_host_new_message_id(void *userdata)
{
        return manager_new_message_id(userdata);
}

static bool device_host_is_light_property(void *userdata, const char *identifier)
{
        Manager *m = userdata;
        const LedModel *model = &m->conf->led_model;

        return streq_ptr(identifier, model->switch_property) ||
               streq_ptr(identifier, model->color_property) ||
               streq_ptr(identifier, model->brightness_property);
}

/* The light's part of a set: checked against the TSL already, so a refusal here means the TSL and the
 * [led] identifiers disagree. */
static const char *led_code_message(int code)
{
        switch (code) {
        case LED_CODE_READBACK_DIFFERS:
                return "the light did not take the requested state";
        case LED_CODE_UNAVAILABLE:
                return "the light's hardware is not available";
        default:
                return "writing to the light's hardware failed";
        }
}

static int device_host_set_light(void *userdata, struct json_object *params, struct json_object **ret_actual,
        const char **ret_message)
{
        Manager *m = userdata;
        _cleanup_(freep) char *error = NULL;
        LedState actual;
        LedChange change;
        int r, code;

        *ret_actual = NULL;
        r = led_change_from_params(&m->conf->led_model, params, &change, &error);
        if (r != 0) {
                log_warning("The light cannot take %s: %s", json_object_to_json_string(params),
                        r < 0 ? "out of memory" : strna(error));
                *ret_message = "the light cannot take these values";
                return ALINK_CODE_PARAM_ERROR;
        }
        code = manager_apply_led(m, &change, &actual);
        if (led_params_new(&m->conf->led_model, &actual, ret_actual) < 0)
                *ret_actual = NULL;
        if (code != ALINK_CODE_SUCCESS)
                *ret_message = led_code_message(code);
        return code;
}

static void device_host_property_set(void *userdata, const char *params_json)
{
        Manager *m = userdata;

        bus_emit_property_set(m->bus, params_json);
}

static int device_host_handler_set(void *userdata, Device *d, const char *params_json, uint64_t timeout_usec,
        DeviceCallDone done, void *done_userdata, sd_bus_slot **ret_slot)
{
        Manager *m = userdata;

        return bus_devices_handler_set(
                bus_get_devices(m->bus), d, params_json, timeout_usec, done, done_userdata, ret_slot);
}

static int device_host_handler_call(void *userdata, Device *d, const char *service, const char *params_json,
        uint64_t timeout_usec, DeviceCallDone done, void *done_userdata, sd_bus_slot **ret_slot)
{
        Manager *m = userdata;

        return bus_devices_handler_call(bus_get_devices(m->bus), d, service, params_json, timeout_usec, done,
                done_userdata, ret_slot);
}

static void device_host_changed(void *userdata, Device *d)
{
        Manager *m = userdata;

        bus_devices_changed(bus_get_devices(m->bus), d);
}

static void manager_drop_device(Manager *m)
{
        /* The gateway first: freed, it tells nobody about its sub-devices going. */
        m->gateway = gateway_free(m->gateway);
        for (size_t i = 0; i < m->n_subdevices; i++) {
                bus_devices_remove(bus_get_devices(m->bus), m->subdevices[i]);
                device_free(m->subdevices[i]);
        }
        m->subdevices = mfree(m->subdevices);
        m->n_subdevices = 0;
        if (!m->device)
                return;
        bus_devices_remove(bus_get_devices(m->bus), m->device);
        m->device = device_free(m->device);
}

Device *manager_find_device(Manager *m, const char *product_key, const char *device_name)
{
        if (m->device && streq(device_product_key(m->device), product_key) &&
                streq(device_device_name(m->device), device_name))
                return m->device;
        for (size_t i = 0; i < m->n_subdevices; i++)
                if (streq(device_product_key(m->subdevices[i]), product_key) &&
                        streq(device_device_name(m->subdevices[i]), device_name))
                        return m->subdevices[i];
        return NULL;
}

/* ---- the gateway's host ---- */

static int gateway_host_publish(void *userdata, const char *topic, const char *payload, int qos)
{
        return manager_publish(userdata, topic, payload, qos);
}

static void gateway_host_online_changed(void *userdata, const char *pk, const char *dn, bool online)
{
        Manager *m = userdata;
        Device *d = manager_find_device(m, pk, dn);

        bus_property_changed(m->bus, BUS_PROPERTY_SUB_DEVICES_ONLINE);
        if (!d || d == m->device)
                return;
        device_set_online(d, online);
        /* After each login its snapshot goes first: the cloud keeps the last posted values. */
        if (online)
                device_post_snapshot(d);
}

/* The sub-devices of the configuration: a Device each (on D-Bus too), kept online by the Gateway. */
/* Is this device a gateway: configured as one, or with sub-devices (configured, or kept from AddSubDevice)?
 */
static bool manager_is_gateway(const Manager *m)
{
        return m->conf->gateway || m->conf->n_subdevices > 0 || subdevices_count(m->runtime) > 0;
}

/* One sub-device's Device (on D-Bus too), handed to the Gateway. */
static int manager_add_sub_device(Manager *m, const char *pk, const char *dn, const char *secret,
        const Tsl *tsl, const BindingConfig *bindings, size_t n_bindings, Device **ret)
{
        DeviceHost host = m->sub_host;
        DeviceConfig dc = {
                .product_key = pk,
                .device_name = dn,
                .tsl = tsl,
                .bindings = bindings,
                .n_bindings = n_bindings,
                .handler_timeout_usec = m->conf->handler_timeout_usec,
        };
        Device **list, *d;
        int r;

        if (manager_find_device(m, pk, dn))
                return -EEXIST;
        list = reallocarray(m->subdevices, m->n_subdevices + 1, sizeof(Device *));
        if (!list)
                return -ENOMEM;
        m->subdevices = list;
        r = device_new(&d, m->event, &dc, &host);
        if (r < 0)
                return r;
        r = gateway_add(m->gateway, pk, dn, secret);
        if (r < 0) {
                device_free(d);
                return r;
        }
        m->subdevices[m->n_subdevices++] = d;
        r = bus_devices_add(bus_get_devices(m->bus), d);
        if (r < 0)
                log_warning_errno(r, "Sub-device %s/%s is not on D-Bus: %m", pk, dn);
        if (ret)
                *ret = d;
        return 0;
}

static void manager_drop_sub_device(Manager *m, const char *pk, const char *dn, bool unbind)
{
        bus_property_changed(m->bus, BUS_PROPERTY_SUB_DEVICES);
        bus_property_changed(m->bus, BUS_PROPERTY_SUB_DEVICES_ONLINE);
        if (m->gateway)
                (void) gateway_remove(m->gateway, pk, dn, unbind);
        for (size_t i = 0; i < m->n_subdevices; i++)
                if (streq(device_product_key(m->subdevices[i]), pk) &&
                        streq(device_device_name(m->subdevices[i]), dn)) {
                        Device *d = m->subdevices[i];
                        m->subdevices[i] = m->subdevices[--m->n_subdevices];
                        bus_devices_remove(bus_get_devices(m->bus), d);
                        device_free(d);
                        return;
                }
}

/* The sub-devices of the configuration and those added over D-Bus: a Device each, kept online by the
 * Gateway. */
static int manager_setup_subdevices(Manager *m, const DeviceHost *host)
{
        const Conf *c = m->conf;
        GatewayHost gh = {
                .publish = gateway_host_publish,
                .new_message_id = device_host_new_message_id,
                .online_changed = gateway_host_online_changed,
                .userdata = m,
        };
        int r;

        if (!manager_is_gateway(m))
                return 0;
        /* A sub-device has no light of the gateway's, and its sets are not the gateway's PropertySet. */
        m->sub_host = *host;
        m->sub_host.is_light_property = NULL;
        m->sub_host.set_light = NULL;
        m->sub_host.property_set = NULL;

        r = gateway_new(&m->gateway, m->event, c->product_key, c->device_name, &gh);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the gateway's sub-devices: %m");
        for (size_t i = 0; i < c->n_subdevices; i++) {
                const SubdeviceConf *sd = &c->subdevices[i];

                r = manager_add_sub_device(m, sd->product_key, sd->device_name, sd->device_secret, sd->tsl,
                        sd->bindings, sd->n_bindings, NULL);
                if (r < 0)
                        return log_error_errno(r, "Cannot set up sub-device %s (%s/%s): %m", sd->name,
                                sd->product_key, sd->device_name);
        }
        for (size_t i = 0; i < subdevices_count(m->runtime); i++) {
                const RuntimeSubdevice *e = subdevices_at(m->runtime, i);

                r = manager_add_sub_device(
                        m, e->product_key, e->device_name, e->device_secret, e->tsl, NULL, 0, NULL);
                if (r == -EEXIST)
                        log_warning("Sub-device %s/%s added over D-Bus is in the configuration too: the "
                                    "configuration's wins",
                                e->product_key, e->device_name);
                else if (r < 0)
                        return log_error_errno(
                                r, "Cannot set up sub-device %s/%s: %m", e->product_key, e->device_name);
        }
        log_info("%zu sub-device%s to keep online through this gateway", m->n_subdevices,
                m->n_subdevices == 1 ? "" : "s");
        if (m->state == MANAGER_CONNECTED)
                gateway_connected(m->gateway);
        return 0;
}

int manager_add_subdevice(Manager *m, const char *pk, const char *dn, const char *secret,
        const char *tsl_json, bool persistent, sd_bus_message *msg, char **ret_error)
{
        const RuntimeSubdevice *e;
        int r;

        if (!m->device || !m->gateway)
                return alink_json_error(ret_error, "this device is not a gateway: set [device] gateway = "
                                                   "yes in the configuration and reload");
        if (manager_find_device(m, pk, dn))
                return -EEXIST;
        r = subdevices_add(m->runtime, pk, dn, secret, tsl_json, persistent, msg, &e, ret_error);
        if (r != 0)
                return r;
        r = manager_add_sub_device(
                m, e->product_key, e->device_name, e->device_secret, e->tsl, NULL, 0, NULL);
        if (r < 0) {
                (void) subdevices_remove(m->runtime, pk, dn);
                return r;
        }
        bus_property_changed(m->bus, BUS_PROPERTY_SUB_DEVICES);
        log_info("Sub-device %s/%s added over D-Bus%s", pk, dn, persistent ? " (kept)" : "");
        return 0;
}

int manager_remove_subdevice(Manager *m, const char *pk, const char *dn, bool unbind, char **ret_error)
{
        for (size_t i = 0; m->conf && i < m->conf->n_subdevices; i++)
                if (streq_ptr(m->conf->subdevices[i].product_key, pk) &&
                        streq_ptr(m->conf->subdevices[i].device_name, dn))
                        return alink_json_error(ret_error,
                                "%s/%s is [subdevice.%s] of the configuration: remove it there and reload",
                                pk, dn, m->conf->subdevices[i].name);
        if (subdevices_remove(m->runtime, pk, dn) < 0)
                return -ENOENT;
        manager_drop_sub_device(m, pk, dn, unbind);
        log_info("Sub-device %s/%s removed over D-Bus%s", pk, dn, unbind ? ", and unbound" : "");
        return 0;
}

static void on_runtime_gone(const RuntimeSubdevice *e, void *userdata)
{
        manager_drop_sub_device(userdata, e->product_key, e->device_name, /* unbind= */ false);
}

const char *manager_subdevice_state(Manager *m, Device *d)
{
        if (d == m->device)
                return device_is_online(d) ? "online" : "offline";
        return m->gateway ? strna(subdev_state_to_string(gateway_get_state(
                                    m->gateway, device_product_key(d), device_device_name(d), NULL)))
                          : "offline";
}

/* The device the configuration describes, made again with each session and each reload (it borrows the
 * Conf's thing model). Requests still in flight are answered by device_free(). */
static int manager_setup_device(Manager *m)
{
        const Conf *c = m->conf;
        DeviceConfig dc = {
                .product_key = c->product_key,
                .device_name = c->device_name,
                .tsl = c->tsl,
                .bindings = c->bindings,
                .n_bindings = c->n_bindings,
                .handler_timeout_usec = c->handler_timeout_usec,
        };
        DeviceHost host = {
                .publish = device_host_publish,
                .queue_post = device_host_queue_post,
                .new_message_id = device_host_new_message_id,
                .is_light_property = device_host_is_light_property,
                .set_light = device_host_set_light,
                .property_set = device_host_property_set,
                .handler_set = device_host_handler_set,
                .handler_call = device_host_handler_call,
                .changed = device_host_changed,
                .userdata = m,
        };
        int r;

        manager_drop_device(m);
        r = device_new(&m->device, m->event, &dc, &host);
        if (r < 0)
                return log_error_errno(
                        r, "Cannot set up the device %s/%s: %m", c->product_key, c->device_name);
        device_set_online(m->device, m->state == MANAGER_CONNECTED);
        r = bus_devices_add(bus_get_devices(m->bus), m->device);
        if (r < 0)
                log_warning_errno(r, "The device is not on D-Bus: %m");
        return manager_setup_subdevices(m, &host);
}

static int manager_create_session(Manager *m)
{
        const Conf *c = m->conf;
        _cleanup_(freep) char *client_id = NULL, *username = NULL;
        _cleanup_(erase_and_freep) char *password = NULL;
        _cleanup_(strv_freep) char **subs = NULL;
        size_t n = 0, n_user = strv_length(c->user_topics);
        int r;

        alink_topics_done(&m->topics);
        r = alink_topics_init(&m->topics, c->product_key, c->device_name);
        if (r < 0)
                return log_oom();

        /* Another device is another attempt history. */
        _cleanup_(freep) char *identity = NULL;
        if (asprintf(&identity, "%s/%s", c->product_key, c->device_name) < 0)
                return log_oom();
        if (!streq_ptr(identity, m->connect_identity)) {
                m->connect_backoff = BACKOFF_INIT;
                free(m->connect_identity);
                m->connect_identity = TAKE_PTR(identity);
        }

        if (alink_sign_client_id(c->product_key, c->device_name, ALINK_SIGN_HMACSHA256, &client_id) < 0 ||
                alink_sign_username(c->product_key, c->device_name, &username) < 0 ||
                alink_sign_password(ALINK_SIGN_HMACSHA256, c->device_secret, c->product_key, c->device_name,
                        ALINK_SIGN_TIMESTAMP, &password) < 0)
                return log_oom();

        r = manager_setup_device(m);
        if (r < 0)
                return r;

        /* The platform routes these to a _ss=1 client by itself; subscribing as well costs nothing and
         * does not depend on that (auto-subscription, https://help.aliyun.com/document_detail/197770.htm).
         */
        const char *const system_topics[] = {
                m->topics.property_set,
                m->topics.event_post_reply,
                m->topics.service,
                m->topics.rrpc_service,
                m->topics.rrpc_request,
                m->topics.desired_get_reply,
                m->topics.desired_delete_reply,
                m->topics.ota_upgrade,
                m->topics.ota_firmware_get_reply,
        };
        /* The gateway's own topics of topology and sessions; the sub-devices' topics come by the
         * platform's auto-subscription (_ss=1 in their login), within the 100 filters a device may have. */
        const AlinkGatewayTopics *gt = m->gateway ? gateway_topics(m->gateway) : NULL;
        const char *const gateway_topics_list[] = {
                gt ? gt->topo_add_reply : NULL,
                gt ? gt->topo_get_reply : NULL,
                gt ? gt->topo_delete_reply : NULL,
                gt ? gt->topo_change : NULL,
                gt ? gt->login_reply : NULL,
                gt ? gt->logout_reply : NULL,
                gt ? gt->error : NULL,
        };
        subs = calloc(
                ELEMENTSOF(system_topics) + ELEMENTSOF(gateway_topics_list) + n_user + 1, sizeof(char *));
        if (!subs)
                return log_oom();
        for (size_t i = 0; i < ELEMENTSOF(system_topics); i++)
                if (!(subs[n++] = strdup(system_topics[i])))
                        return log_oom();
        for (size_t i = 0; gt && i < ELEMENTSOF(gateway_topics_list); i++)
                if (!(subs[n++] = strdup(gateway_topics_list[i])))
                        return log_oom();
        for (size_t i = 0; i < n_user; i++)
                if (alink_topic_user(&m->topics, c->user_topics[i], &subs[n++]) < 0)
                        return log_oom();

        MqttSessionConfig sc = {
                .host = c->host,
                .port = c->port,
                .keepalive = c->keepalive,
                .ca_file = c->ca_file,
                .ca_path = c->ca_path,
                .client_id = client_id,
                .username = username,
                .password = password,
                .clean_session = c->clean_session,
                .subscriptions = subs,
                .backoff = &m->connect_backoff,
        };
        MqttSessionHandlers handlers = {
                .state_changed = on_mqtt_state,
                .message = on_mqtt_message,
                .published = on_mqtt_published,
        };

        outbox_set_online(m->outbox, false);
        m->mqtt = mqtt_session_free(m->mqtt);
        r = mqtt_session_new(&m->mqtt, m->event, &sc, &handlers, m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the MQTT session: %m");
        log_info("Device %s/%s, endpoint %s:%u, keepalive %u s, trusting %s", c->product_key, c->device_name,
                c->host, c->port, c->keepalive, c->ca_file ?: c->ca_path);
        return mqtt_session_start(m->mqtt);
}

static void manager_enter_unconfigured(Manager *m)
{
        manager_drop_device(m);
        outbox_set_online(m->outbox, false);
        m->mqtt = mqtt_session_free(m->mqtt);
        manager_set_state(m, MANAGER_UNCONFIGURED);
        log_warning("Not configured: set product_key, device_name and device_secret in %s, then reload "
                    "(systemctl reload ali-linkd)",
                m->config_path);
        manager_notify_status(
                m, "not configured: set product_key, device_name and device_secret in %s", m->config_path);
}

/* What every module's state lives in: made here, once per (re)load, when systemd (StateDirectory=) did not.
 * A directory that cannot be made is logged; each module then says what it cannot keep. */
static void manager_apply_conf(Manager *m)
{
        int r;

        log_set_max_level(m->conf->log_level);
        r = mkdir_parents_and_self(m->conf->state_directory, 0700);
        if (r < 0)
                log_error_errno(r, "Cannot create the state directory %s: %m", m->conf->state_directory);
}

/* (Re)creates the light from the configuration and shows its saved state. A light whose hardware is missing
 * is not an error: it is logged, and each change tries again. */
static int manager_setup_led(Manager *m)
{
        _cleanup_(led_freep) Led *l = NULL;
        int r;

        (void) led_save(m->led); /* the new light starts from the state the old one shows */
        r = led_new(&l, &m->conf->led, m->conf->state_directory);
        if (r < 0)
                return log_error_errno(r, "Cannot set up the light: %m");
        /* The old light lets go of its hardware before the new one takes it. */
        led_free(m->led);
        m->led = TAKE_PTR(l);
        r = led_restore(m->led, NULL);
        if (r < 0)
                return log_error_errno(r, "Cannot restore the light's state: %m");
        return 0;
}

/* ---- the OTA module's host: the cloud, the bus and the installer unit ---- */

static int ota_host_publish(void *userdata, OtaTopic topic, const char *payload, int qos)
{
        Manager *m = userdata;
        const char *t[_OTA_TOPIC_MAX] = {
                [OTA_TOPIC_INFORM] = m->topics.ota_inform,
                [OTA_TOPIC_PROGRESS] = m->topics.ota_progress,
                [OTA_TOPIC_FIRMWARE_GET] = m->topics.ota_firmware_get,
        };

        if (topic < 0 || topic >= _OTA_TOPIC_MAX)
                return -EINVAL;
        return manager_publish(m, t[topic], payload, qos);
}

static char *ota_host_new_message_id(void *userdata)
{
        return manager_new_message_id(userdata);
}

static bool ota_host_is_online(void *userdata)
{
        Manager *m = userdata;

        return m->state == MANAGER_CONNECTED;
}

static int ota_host_start_unit(void *userdata, const char *unit, OtaUnitDoneFn done, void *done_userdata)
{
        Manager *m = userdata;

        return bus_start_unit(m->bus, unit, done, done_userdata);
}

static void ota_host_forget_unit(void *userdata)
{
        Manager *m = userdata;

        bus_forget_unit(m->bus);
}

static void ota_host_status_changed(void *userdata)
{
        Manager *m = userdata;

        bus_property_changed(m->bus, BUS_PROPERTY_FIRMWARE_VERSION);
        bus_property_changed(m->bus, BUS_PROPERTY_OTA_STATE);
        bus_property_changed(m->bus, BUS_PROPERTY_OTA_PROGRESS);
}

/* The OTA module's view of the configuration: borrowed strings, copied by ota_new()/ota_set_config(). */
static OtaConfig manager_ota_config(const Manager *m)
{
        const Conf *c = m->conf;

        return (OtaConfig){
                .state_directory = c->state_directory,
                .download_dir = c->ota.download_dir,
                .version_file = c->ota.version_file,
                .version_command = c->ota.version_command,
                .installer = c->ota.installer,
                .install_unit = c->ota.install_unit,
                .ca_file = c->ota.ca_file,
                .allow_http = c->ota.allow_http,
                .max_size = c->ota.max_size,
                .installer_timeout = c->ota.installer_timeout,
                .connect_timeout = c->ota.connect_timeout,
                .stall_timeout = c->ota.stall_timeout,
                .applies_diff = c->ota.applies_diff,
                .cloud_timeout = c->ota.cloud_timeout,
        };
}

/* A reload: the OTA module uses the new [ota] settings from its next step on. */
static void manager_reconfigure_ota(Manager *m)
{
        OtaConfig config = manager_ota_config(m);

        if (ota_set_config(m->ota, &config) < 0)
                log_oom();
}

static int manager_setup_ota(Manager *m)
{
        OtaConfig config = manager_ota_config(m);
        OtaHost host = {
                .publish = ota_host_publish,
                .new_message_id = ota_host_new_message_id,
                .is_online = ota_host_is_online,
                .start_unit = ota_host_start_unit,
                .forget_unit = ota_host_forget_unit,
                .status_changed = ota_host_status_changed,
                .userdata = m,
        };

        return ota_new(&m->ota, m->event, &config, &host);
}

/* The outbox lives in the state directory; its limits are read once,
 * at start. */
static int manager_open_outbox(Manager *m)
{
        _cleanup_(freep) char *path = NULL;
        OutboxLimits limits = {
                .max_messages = m->conf->outbox_max_messages,
                .max_bytes = m->conf->outbox_max_bytes,
                .max_rate = m->conf->outbox_max_rate,
                .max_inflight = OUTBOX_LIMITS_DEFAULT.max_inflight,
                .max_payload = ALINK_MAX_PAYLOAD,
        };

        if (asprintf(&path, "%s/outbox", m->conf->state_directory) < 0)
                return log_oom();
        return outbox_new(&m->outbox, m->event, path, &limits, outbox_send, outbox_merge, m);
}

void manager_bus_ready(Manager *m, int error)
{
        if (error < 0) {
                (void) sd_event_exit(m->event, error);
                return;
        }
        manager_notify_ready(m);
}

void manager_notify_ready(Manager *m)
{
        if (m->ready_sent)
                return;
        m->ready_sent = true;
        (void) sd_notify(false, "READY=1");
}

int manager_start(Manager *m)
{
        int r;

        r = conf_load(m->config_path, &m->conf);
        if (r < 0)
                return log_error_errno(r, "Cannot load %s: %m", m->config_path);
        if (r == CONF_E_INVALID)
                return log_error_errno(
                        EINVAL, "%s has problems (listed above); fix them and start again", m->config_path);
        manager_apply_conf(m);

        r = manager_setup_led(m);
        if (r < 0)
                return r;

        r = manager_open_outbox(m);
        if (r < 0)
                return r;

        /* The sub-devices added over D-Bus and kept, read before the session makes their Devices. */
        r = subdevices_new(&m->runtime, m->conf->state_directory, on_runtime_gone, m);
        if (r < 0)
                return log_oom();
        (void) subdevices_load(m->runtime);

        /* The device's topics, for everything that queues messages from now on (OTA results found at
         * start, say); formatted again whenever the identity changes. */
        if (m->conf->product_key && m->conf->device_name &&
                alink_topics_init(&m->topics, m->conf->product_key, m->conf->device_name) < 0)
                return log_oom();

        r = manager_setup_ota(m);
        if (r < 0)
                return log_error_errno(r, "Cannot set up firmware updates: %m");

        /* Local control. READY=1 waits for the bus name, so a client that starts after the unit is up
         * finds the daemon; without a bus it is sent as soon as the loop runs. */
        r = bus_new(&m->bus, m);
        if (r < 0)
                return r;

        if (!m->conf->product_key || !m->conf->device_name || !m->conf->device_secret) {
                manager_enter_unconfigured(m);
                return 0;
        }
        return manager_create_session(m);
}

/* Reload ends the way it began for systemd: READY=1, with the STATUS= of what the daemon does now. Only
 * the status is repeated; nothing is published (a reload is not a reconnect). */
static void manager_end_reload(Manager *m)
{
        (void) sd_notifyf(false, "READY=1\nSTATUS=%s", strempty(m->status));
}

int manager_reload(Manager *m)
{
        _cleanup_(conf_freep) Conf *c = NULL;
        bool reconnect, relight;
        uint64_t now = 0;
        int r;

        (void) sd_event_now(m->event, CLOCK_MONOTONIC, &now);
        (void) sd_notifyf(false, "RELOADING=1\nMONOTONIC_USEC=%llu\nSTATUS=reloading %s",
                (unsigned long long) now, m->config_path);
        log_info("Reloading %s", m->config_path);

        r = conf_load(m->config_path, &c);
        if (r < 0 || r == CONF_E_INVALID) {
                if (r < 0)
                        log_error_errno(r, "Cannot load %s: %m", m->config_path);
                log_error(
                        "Keeping the running configuration: %s has problems (listed above)", m->config_path);
                manager_end_reload(m);
                return MANAGER_RELOAD_KEPT;
        }

        /* The outbox journal, the light's state and the OTA job live there, open: moving them under a
         * running daemon would strand what is queued. */
        if (!streq_ptr(m->conf->state_directory, c->state_directory)) {
                log_error("Keeping the running configuration: state_directory changed from %s to %s, which "
                          "takes "
                          "a restart (systemctl restart ali-linkd)",
                        m->conf->state_directory, c->state_directory);
                manager_end_reload(m);
                return MANAGER_RELOAD_KEPT;
        }

        reconnect = !m->mqtt || conf_connection_changed(m->conf, c);
        relight = !led_config_equal(&m->conf->led, &c->led);
        /* The device borrows the old Conf's thing model: it goes first, and comes back below. */
        manager_drop_device(m);
        conf_free(m->conf);
        m->conf = TAKE_PTR(c);
        manager_apply_conf(m);
        manager_reconfigure_ota(m);
        bus_property_changed(m->bus, BUS_PROPERTY_ENDPOINT);
        bus_property_changed(m->bus, BUS_PROPERTY_PRODUCT_KEY);
        bus_property_changed(m->bus, BUS_PROPERTY_DEVICE_NAME);
        if (relight) {
                log_info("Light settings changed: setting up the light again");
                (void) manager_setup_led(m);
                bus_property_changed(m->bus, BUS_PROPERTY_LED);
                bus_property_changed(m->bus, BUS_PROPERTY_BRIGHTNESS);
        }

        if (!m->conf->product_key || !m->conf->device_name || !m->conf->device_secret) {
                manager_enter_unconfigured(m);
                manager_end_reload(m);
                return MANAGER_RELOAD_UNCONFIGURED;
        }

        r = 0;
        if (reconnect) {
                log_info("Connection settings changed: reconnecting");
                r = manager_create_session(m);
        } else {
                r = manager_setup_device(m);
                log_info("Configuration reloaded; the connection is unchanged");
        }
        manager_end_reload(m);
        return r < 0 ? r : MANAGER_RELOAD_APPLIED;
}

static int on_stop_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        Manager *m = userdata;

        (void) s;
        log_info("Received %s, stopping", strsignal((int) si->ssi_signo));
        manager_set_state(m, MANAGER_STOPPING);
        (void) sd_notify(false, "STOPPING=1\nSTATUS=stopping");
        if (m->gateway)
                gateway_stop(m->gateway);
        (void) led_stop(m->led);
        mqtt_session_stop(m->mqtt);
        return sd_event_exit(m->event, 0);
}

static int on_sighup(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
        (void) s;
        (void) si;
        (void) manager_reload(userdata);
        return 0;
}

int manager_new(Manager **ret, const char *config_path)
{
        _cleanup_(manager_freep) Manager *m = NULL;
        int r;

        m = calloc(1, sizeof(*m));
        if (!m)
                return -ENOMEM;
        m->config_path = strdup(config_path ?: CONF_DEFAULT_PATH);
        if (!m->config_path)
                return -ENOMEM;
        m->next_message_id = (uint32_t) (now_usec(CLOCK_REALTIME) / 1000);

        r = sd_event_default(&m->event);
        if (r < 0)
                return r;
        /* WatchdogSec= works without extra code: sd-event pings while the loop turns. */
        r = sd_event_set_watchdog(m->event, true);
        if (r < 0)
                return r;

        r = sd_event_add_signal(m->event, &m->sigterm_source, SIGTERM, on_stop_signal, m);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, &m->sigint_source, SIGINT, on_stop_signal, m);
        if (r < 0)
                return r;
        r = sd_event_add_signal(m->event, &m->sighup_source, SIGHUP, on_sighup, m);
        if (r < 0)
                return r;

        r = sd_event_add_time(m->event, &m->led_save_timer, CLOCK_MONOTONIC, UINT64_MAX, 10 * USEC_PER_MSEC,
                on_led_save, m);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(m->led_save_timer, "led-save");
        (void) sd_event_source_set_enabled(m->led_save_timer, SD_EVENT_OFF);

        r = mqtt_library_init();
        if (r < 0)
                return r;

        *ret = TAKE_PTR(m);
        return 0;
}

Manager *manager_free(Manager *m)
{
        if (!m)
                return NULL;
        manager_drop_device(m);
        subdevices_free(m->runtime);
        ota_free(m->ota);
        bus_free(m->bus);
        mqtt_session_free(m->mqtt);
        outbox_free(m->outbox);
        mqtt_library_cleanup();
        alink_topics_done(&m->topics);
        sd_event_source_disable_unref(m->led_save_timer);
        led_free(m->led); /* saves a pending state */
        conf_free(m->conf);
        sd_event_source_disable_unref(m->sigterm_source);
        sd_event_source_disable_unref(m->sigint_source);
        sd_event_source_disable_unref(m->sighup_source);
        sd_event_unref(m->event);
        free(m->config_path);
        free(m->status);
        free(m->connect_identity);
        free(m);
        return NULL;
}

int manager_run(Manager *m)
{
        int r;

        if (!m->bus)
                manager_notify_ready(m);
        r = sd_event_loop(m->event);
        if (r < 0)
                return log_error_errno(r, "Event loop failed: %m");
        return r;
}
