/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* manager.c: the daemon's state, its event sources, and the Alink message flow. */
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#include "alink-sign.h"
#include "bus.h"
#include "event-util.h"
#include "fs-util.h"
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

/* Property posts wait in the outbox like everything else, but fold into one while they wait. */
static int manager_queue_post(Manager *m, const char *payload)
{
        int r = outbox_append(
                m->outbox, OUTBOX_PROPERTIES, m->topics.property_post, payload, strlen(payload));

        bus_property_changed(m->bus, BUS_PROPERTY_OUTBOX_DEPTH);
        bus_property_changed(m->bus, BUS_PROPERTY_OUTBOX_DROPPED);
        if (r < 0)
                return log_warning_errno(r, "Cannot queue a property post: %m");
        log_debug("Queued property post: %s", payload);
        return r;
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
        _cleanup_(freep) char *id = NULL, *payload = NULL;
        int r;

        id = manager_new_message_id(m);
        if (!id)
                return log_oom();
        struct json_object *params;
        r = led_params_new(&m->conf->led_model, state, &params);
        if (r >= 0)
                r = alink_build_property_post_object(id, params, &payload);
        if (r < 0)
                return log_oom();
        r = manager_queue_post(m, payload);
        if (r >= 0)
                log_info("Posting the light's state (%s) as message %s", state->on ? "on" : "off", id);
        return r;
}

static int manager_reply(Manager *m, const char *topic, const char *id, int64_t code, const char *message)
{
        _cleanup_(freep) char *payload = NULL;
        int r;

        r = alink_build_reply(id, code, message, &payload);
        if (r < 0)
                return log_oom();
        /* Replies go out at QoS 0, as the SDKs send them; the caller times out and retries. */
        return manager_publish(m, topic, payload, /* qos= */ 0);
}

static const char *led_code_message(int code)
{
        switch (code) {
        case ALINK_CODE_SUCCESS:
                return NULL;
        case LED_CODE_READBACK_DIFFERS:
                return "the light did not take the requested state";
        case LED_CODE_UNAVAILABLE:
                return "the light's hardware is not available";
        default:
                return "writing to the light's hardware failed";
        }
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

int manager_change_led(Manager *m, const LedChange *change, const char *reply_id, LedState *ret_actual)
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

        /* Answer first, then post what the light actually shows: the set_reply does not update the
         * cloud's stored value, the post does (property set,
         * https://help.aliyun.com/document_detail/89301.htm). */
        if (reply_id)
                (void) manager_reply(
                        m, m->topics.property_set_reply, reply_id, code, led_code_message(code));
        (void) manager_post_state(m, &actual);
        if (ret_actual)
                *ret_actual = actual;
        return code;
}

static void manager_handle_property_set(Manager *m, const void *payload, size_t len)
{
        _cleanup_(alink_property_set_done) AlinkPropertySet ps = {};
        _cleanup_(freep) char *error = NULL;
        LedChange change;
        int r;

        r = alink_parse_property_set(payload, len, &ps, &error);
        if (r == 0)
                r = led_change_from_params(&m->conf->led_model, ps.params, &change, &error);
        if (r < 0) {
                log_error_errno(r, "Cannot parse a property set: %m");
                (void) manager_reply(
                        m, m->topics.property_set_reply, ps.id, ALINK_CODE_REQUEST_ERROR, "internal error");
                return;
        }
        if (r == ALINK_E_INVALID) {
                log_warning("Rejected property set %s: %s", strna(ps.id), strna(error));
                (void) manager_reply(m, m->topics.property_set_reply, ps.id, ALINK_CODE_PARAM_ERROR, error);
                return;
        }

        log_info("Property set %s from the cloud", ps.id);
        (void) manager_change_led(m, &change, ps.id, NULL);
        /* After the set_reply has gone out: local listeners do not hold up the cloud's round trip. */
        bus_emit_property_set(m->bus, ps.params_json);
}

int manager_post_properties(Manager *m, const char *params_json, char **ret_error)
{
        _cleanup_(freep) char *id = NULL, *payload = NULL;
        int r;

        id = manager_new_message_id(m);
        if (!id)
                return log_oom();
        r = alink_build_property_post_params(id, params_json, &payload, ret_error);
        if (r != 0)
                return r;
        r = manager_queue_post(m, payload);
        if (r >= 0)
                log_debug("Posting properties for a local client as message %s", id);
        return r;
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

static void manager_handle_post_reply(
        Manager *m, const char *event, size_t event_len, const void *payload, size_t len)
{
        _cleanup_(alink_reply_done) AlinkReply reply = {};
        _cleanup_(freep) char *error = NULL;
        int r;

        (void) m;
        r = alink_parse_reply(payload, len, &reply, &error);
        if (r != 0) {
                log_warning("Ignoring an unreadable reply to a %.*s post: %s", (int) event_len, event,
                        r < 0 ? "out of memory" : error);
                return;
        }
        if (reply.code != ALINK_CODE_SUCCESS)
                log_warning("The cloud refused %.*s post %s: code %" PRId64 "%s%s", (int) event_len, event,
                        strna(reply.id), reply.code, reply.message ? ", " : "", strempty(reply.message));
        else
                log_debug("The cloud accepted %.*s post %s", (int) event_len, event, strna(reply.id));
}

static void manager_handle_service(Manager *m, const char *topic, const char *service, size_t service_len,
        const void *payload, size_t len)
{
        _cleanup_(freep) char *id = NULL, *reply_topic = NULL, *message = NULL;

        if (alink_parse_request_id(payload, len, &id) < 0)
                id = NULL;
        log_warning("The cloud called service %.*s, which this device does not offer", (int) service_len,
                service);
        if (asprintf(&reply_topic, "%s_reply", topic) < 0 ||
                asprintf(&message, "service %.*s is not supported", (int) service_len, service) < 0)
                return (void) log_oom();
        (void) manager_reply(m, reply_topic, id, ALINK_CODE_REQUEST_ERROR, message);
}

static void on_mqtt_message(MqttSession *s, const char *topic, const void *payload, size_t len, int qos,
        bool retained, void *userdata)
{
        Manager *m = userdata;
        const char *name;
        size_t name_len;
        AlinkTopicKind kind;

        (void) s;
        log_debug("Message on %s (%zu bytes, QoS %d%s): %.*s", topic, len, qos, retained ? ", retained" : "",
                (int) MIN(len, (size_t) 2048), (const char *) payload);

        kind = alink_topic_classify(&m->topics, topic, &name, &name_len);
        /* A retained command is one from the past, replayed on every subscribe: it was answered (or
         * refused) when it was new, and applying it again would undo whatever happened since. */
        if (retained && (kind == ALINK_TOPIC_PROPERTY_SET || kind == ALINK_TOPIC_SERVICE ||
                                kind == ALINK_TOPIC_OTA_UPGRADE)) {
                log_warning(
                        "Ignoring a retained message on %s: commands are applied when they are sent, not "
                        "replayed",
                        topic);
                return;
        }

        switch (kind) {
        case ALINK_TOPIC_PROPERTY_SET:
                manager_handle_property_set(m, payload, len);
                break;
        case ALINK_TOPIC_EVENT_POST_REPLY:
                manager_handle_post_reply(m, name, name_len, payload, len);
                break;
        case ALINK_TOPIC_SERVICE:
                manager_handle_service(m, topic, name, name_len, payload, len);
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
                ota_on_connected(m->ota);
                break;
        case MQTT_STATE_BACKOFF:
                outbox_set_online(m->outbox, false);
                manager_set_state(m, MANAGER_BACKOFF);
                manager_notify_status(m, "reconnecting in %llu s: %s",
                        (unsigned long long) ((retry_usec + USEC_PER_SEC / 2) / USEC_PER_SEC), strna(why));
                break;
        case MQTT_STATE_IDLE:
        default:
                outbox_set_online(m->outbox, false);
                break;
        }
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

        subs = calloc(5 + n_user + 1, sizeof(char *));
        if (!subs)
                return log_oom();
        if (!(subs[n++] = strdup(m->topics.property_set)) ||
                !(subs[n++] = strdup(m->topics.event_post_reply)) ||
                !(subs[n++] = strdup(m->topics.service)) || !(subs[n++] = strdup(m->topics.ota_upgrade)) ||
                !(subs[n++] = strdup(m->topics.ota_firmware_get_reply)))
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
        } else
                log_info("Configuration reloaded; the connection is unchanged");
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
