/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* device.c: the thing-model request flow of one device (device.h says what it promises). */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "device.h"
#include "log.h"
#include "string-util.h"
#include "time-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* The platform's caller waits at most 8 s for a sync service ("Call a service synchronously",
 * https://help.aliyun.com/document_detail/90568.html); the handler's deadline stays well inside it. */

typedef struct Request Request;

struct Device {
        sd_event *event;
        DeviceHost host;
        char *product_key, *device_name;
        AlinkTopics topics;
        const Tsl *tsl;
        uint64_t handler_timeout_usec;
        Binding **bindings;
        size_t n_bindings;
        Request *requests;   /* waiting for their parts */
        json_object *values; /* the last known value of each property */
        char *values_json;
        json_object *refused; /* identifiers the cloud dropped from posts, each logged once */
        uint64_t n_refused;
        bool online;
};

/* One request in flight: a property set (from the cloud, a local caller, or the desired values) or a
 * service call. It is answered when its last part has. */
struct Request {
        Device *device;
        Request *next;
        char *id;
        char *reply_topic; /* NULL: a local request, answered through done */
        const TslService *service;
        char *service_name;
        char *params_json; /* a set's params, for the PropertySet signal */
        unsigned pending;
        int code;
        char *message;
        json_object *actual; /* a set: what the parts took */
        json_object *output; /* a service: what the handler answered */
        sd_bus_slot *slot;
        DeviceCallDone done;
        void *userdata;
};

static const char *plain(json_object *o)
{
        return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
}

static void request_free(Request *q)
{
        if (!q)
                return;
        sd_bus_slot_unref(q->slot);
        free(q->id);
        free(q->reply_topic);
        free(q->service_name);
        free(q->params_json);
        free(q->message);
        json_object_put(q->actual);
        json_object_put(q->output);
        free(q);
}

static void request_unlink(Request *q)
{
        for (Request **p = &q->device->requests; *p; p = &(*p)->next)
                if (*p == q) {
                        *p = q->next;
                        return;
                }
}

/* The first part to fail decides the answer. */
_printf_(3, 4) static void request_fail(Request *q, int code, const char *format, ...)
{
        va_list ap;

        if (q->code != ALINK_CODE_SUCCESS)
                return;
        q->code = code;
        free(q->message);
        va_start(ap, format);
        if (vasprintf(&q->message, format, ap) < 0)
                q->message = NULL;
        va_end(ap);
}

static void device_values_changed(Device *d)
{
        d->values_json = mfree(d->values_json);
        if (d->host.changed)
                d->host.changed(d->host.userdata, d);
}

/* Remember what was posted: plain values, or the value of the timed form. */
static void device_remember(Device *d, json_object *params)
{
        json_object_object_foreach(params, key, v)
        {
                json_object *value = v, *inner;

                if (json_object_is_type(v, json_type_object) &&
                        json_object_object_get_ex(v, "value", &inner) &&
                        json_object_object_get_ex(v, "time", NULL))
                        value = inner;
                (void) json_object_object_add(d->values, key, json_object_get(value));
        }
        device_values_changed(d);
}

static int device_reply(
        Device *d, const char *topic, const char *id, int code, const char *message, json_object *data)
{
        _cleanup_(freep) char *payload = NULL;
        int r;

        r = alink_build_reply_data(id, code, message, data, &payload);
        if (r < 0)
                return log_oom();
        /* Replies go out at QoS 0, as the SDKs send them (RRPC replies must: "Call a service
         * synchronously"); the caller times out and retries. */
        return d->host.publish(d->host.userdata, topic, payload, /* qos= */ 0);
}

/* A property post of params (whose reference this takes). */
static int device_queue_post(Device *d, json_object *params)
{
        _cleanup_(freep) char *id = NULL, *payload = NULL;
        int r;

        id = d->host.new_message_id(d->host.userdata);
        if (!id) {
                json_object_put(params);
                return log_oom();
        }
        device_remember(d, params);
        r = alink_build_property_post_object(id, params, &payload);
        if (r < 0)
                return log_oom();
        return d->host.queue_post(d->host.userdata, d->topics.property_post, payload);
}

static void request_finish(Request *q)
{
        Device *d = q->device;

        request_unlink(q);
        if (q->service) {
                if (q->code == ALINK_CODE_SUCCESS)
                        log_info("Service %s call %s answered", q->service_name, strna(q->id));
                else
                        log_warning("Service %s call %s failed: code %d, %s", q->service_name, strna(q->id),
                                q->code, strna(q->message));
                if (q->done)
                        q->done(q->code, q->code == ALINK_CODE_SUCCESS ? plain(q->output) : q->message,
                                q->userdata);
                q->done = NULL;
                if (q->reply_topic)
                        (void) device_reply(d, q->reply_topic, q->id, q->code,
                                q->code == ALINK_CODE_SUCCESS ? NULL : q->message,
                                q->code == ALINK_CODE_SUCCESS ? TAKE_PTR(q->output) : NULL);
        } else {
                if (q->code != ALINK_CODE_SUCCESS)
                        log_warning("Property set %s: device error %d, %s", strna(q->id), q->code,
                                strna(q->message));
                if (q->reply_topic)
                        (void) device_reply(d, q->reply_topic, q->id, q->code,
                                q->code == ALINK_CODE_SUCCESS ? NULL : q->message, NULL);
                /* Answer first, then post what the hardware took. */
                if (q->actual && json_object_object_length(q->actual) > 0)
                        (void) device_queue_post(d, TAKE_PTR(q->actual));
                if (q->params_json && d->host.property_set)
                        d->host.property_set(d->host.userdata, q->params_json);
        }
        if (q->done)
                q->done(q->code, q->code == ALINK_CODE_SUCCESS ? NULL : q->message, q->userdata);
        request_free(q);
}

static void request_part_done(Request *q)
{
        if (q->pending > 0)
                q->pending--;
        if (q->pending == 0)
                request_finish(q);
}

static Request *request_new(Device *d, const char *id, const char *reply_topic)
{
        Request *q = calloc(1, sizeof(*q));

        if (!q)
                return NULL;
        q->device = d;
        q->code = ALINK_CODE_SUCCESS;
        q->pending = 1; /* the caller's own part: released by request_part_done() once all are out */
        if ((id && !(q->id = strdup(id))) || (reply_topic && !(q->reply_topic = strdup(reply_topic))) ||
                !(q->actual = json_object_new_object())) {
                request_free(q);
                return NULL;
        }
        q->next = d->requests;
        d->requests = q;
        return q;
}

static Binding *device_find_binding(Device *d, const char *identifier)
{
        for (size_t i = 0; i < d->n_bindings; i++)
                if (streq(binding_identifier(d->bindings[i]), identifier))
                        return d->bindings[i];
        return NULL;
}

static void on_binding_written(Binding *b, int code, json_object *actual, void *userdata)
{
        Request *q = userdata;

        if (actual)
                (void) json_object_object_add(q->actual, binding_identifier(b), json_object_get(actual));
        if (code != ALINK_CODE_SUCCESS)
                request_fail(q, code, "%s: the hardware did not take the value (device error %d)",
                        binding_identifier(b), code);
        request_part_done(q);
}

/* A handler's answer: (code, message) for a set, (code, output JSON) for a service. */
static void on_handler_answer(int code, const char *text, void *userdata)
{
        Request *q = userdata;

        q->slot = sd_bus_slot_unref(q->slot);
        if (code != ALINK_CODE_SUCCESS)
                request_fail(q, code, "%s", text ?: "the local handler refused it");
        else if (!q->service) {
                /* A set: what the handler took is what it was given. */
                json_object_object_foreach(q->output, key, v)(void)
                        json_object_object_add(q->actual, key, json_object_get(v));
        } else {
                _cleanup_(freep) char *error = NULL;
                json_object *out = NULL;
                int r = 0;

                if (!isempty(text))
                        r = alink_parse_json_object(text, strlen(text), &out, &error);
                else
                        out = json_object_new_object();
                if (r == 0 && out)
                        r = tsl_check_service_output(q->service, out, &error);
                if (r != 0 || !out) {
                        json_object_put(out);
                        request_fail(q, DEVICE_CODE_HANDLER_FAILED, "the handler's output is not valid: %s",
                                r < 0 || !error ? "out of memory" : error);
                } else
                        q->output = out;
        }
        request_part_done(q);
}

/* The parts of a checked set: the light, the bindings, and the handler for the rest. */
static void device_dispatch_set(Device *d, Request *q, json_object *params)
{
        _cleanup_(json_object_putp) json_object *light = json_object_new_object(),
                                                *rest = json_object_new_object();
        int r;

        if (!light || !rest) {
                request_fail(q, ALINK_CODE_REQUEST_ERROR, "out of memory");
                return;
        }
        json_object_object_foreach(params, key, v)
        {
                Binding *b;

                if (d->host.is_light_property && d->host.is_light_property(d->host.userdata, key))
                        (void) json_object_object_add(light, key, json_object_get(v));
                else if ((b = device_find_binding(d, key))) {
                        r = binding_write(b, v, on_binding_written, q);
                        if (r == -EBUSY)
                                request_fail(q, ALINK_CODE_TOO_MANY_REQUESTS,
                                        "%s: still busy with the last value", key);
                        else if (r < 0)
                                request_fail(q, DEVICE_CODE_UNREACHABLE, "%s: cannot be written: %s", key,
                                        strerror(-r));
                        else
                                q->pending++;
                } else
                        (void) json_object_object_add(rest, key, json_object_get(v));
        }

        if (json_object_object_length(light) > 0) {
                json_object *actual = NULL;
                const char *message = NULL;
                int code = d->host.set_light(d->host.userdata, light, &actual, &message);

                if (actual) {
                        json_object_object_foreach(actual, lkey, lv)(void)
                                json_object_object_add(q->actual, lkey, json_object_get(lv));
                        json_object_put(actual);
                }
                if (code != ALINK_CODE_SUCCESS)
                        request_fail(q, code, "%s", message ?: "the light did not take the requested state");
        }

        if (json_object_object_length(rest) > 0) {
                r = d->host.handler_set ? d->host.handler_set(d->host.userdata, d, plain(rest),
                                                  d->handler_timeout_usec, on_handler_answer, q, &q->slot)
                                        : -ENOTCONN;
                if (r < 0) {
                        json_object_object_foreach(rest, rkey, rv)
                        {
                                (void) rv;
                                request_fail(q, DEVICE_CODE_UNREACHABLE,
                                        "nothing serves %s: no binding, and no local program has claimed "
                                        "the device",
                                        rkey);
                        }
                } else {
                        q->pending++;
                        q->output = json_object_get(rest); /* what it takes, once it says so */
                }
        }
}

/* Checked params (a reference the caller keeps) into a running request. */
static void device_start_set(Device *d, Request *q, json_object *params)
{
        q->params_json = strdup(plain(params));
        device_dispatch_set(d, q, params);
        request_part_done(q);
}

void device_handle_property_set(Device *d, const void *payload, size_t len)
{
        _cleanup_(alink_property_set_done) AlinkPropertySet ps = {};
        _cleanup_(freep) char *error = NULL;
        Request *q;
        int r;

        r = alink_parse_property_set(payload, len, &ps, &error);
        if (r != 0) {
                log_warning("Rejected property set %s: %s", strna(ps.id),
                        r < 0 ? "out of memory" : strna(error));
                (void) device_reply(d, d->topics.property_set_reply, ps.id, ALINK_CODE_REQUEST_ERROR,
                        r < 0 ? "internal error" : error, NULL);
                return;
        }
        r = tsl_check_property_set(d->tsl, ps.params, &error);
        if (r != 0) {
                log_warning("Rejected property set %s: %s", strna(ps.id),
                        r < 0 ? "out of memory" : strna(error));
                (void) device_reply(d, d->topics.property_set_reply, ps.id,
                        r < 0 ? ALINK_CODE_REQUEST_ERROR : ALINK_CODE_PARAM_ERROR,
                        r < 0 ? "internal error" : error, NULL);
                return;
        }
        log_info("Property set %s from the cloud", ps.id);
        q = request_new(d, ps.id, d->topics.property_set_reply);
        if (!q)
                return (void) log_oom();
        device_start_set(d, q, ps.params);
}

int device_set_properties(
        Device *d, const char *params_json, DeviceCallDone done, void *userdata, char **ret_error)
{
        _cleanup_(json_object_putp) json_object *params = NULL;
        Request *q;
        int r;

        r = alink_parse_json_object(params_json, params_json ? strlen(params_json) : 0, &params, ret_error);
        if (r != 0)
                return r;
        r = tsl_check_property_set(d->tsl, params, ret_error);
        if (r != 0)
                return r;
        q = request_new(d, NULL, NULL);
        if (!q)
                return -ENOMEM;
        q->done = done;
        q->userdata = userdata;
        device_start_set(d, q, params);
        return 0;
}

/* A checked call into a running request: the handler answers it, or nobody can. */
static void device_start_service(Device *d, Request *q, const TslService *s, json_object *params)
{
        int r = -ENOTCONN;

        q->service = s;
        q->service_name = strdup(tsl_service_identifier(s));
        if (d->host.handler_call)
                r = d->host.handler_call(d->host.userdata, d, tsl_service_identifier(s), plain(params),
                        d->handler_timeout_usec, on_handler_answer, q, &q->slot);
        if (r < 0)
                request_fail(q, DEVICE_CODE_UNREACHABLE,
                        "nothing serves service %s: no local program has claimed the device",
                        tsl_service_identifier(s));
        else
                q->pending++;
        request_part_done(q);
}

/* Where the answer to a service call goes: <topic>_reply, the same /ext/rrpc topic, or
 * rrpc/response/<msgId>. */
static int service_reply_topic(
        Device *d, AlinkTopicKind kind, const char *topic, const char *name, size_t name_len, char **ret)
{
        switch (kind) {
        case ALINK_TOPIC_SERVICE:
                return asprintf(ret, "%s_reply", topic) < 0 ? -ENOMEM : 0;
        case ALINK_TOPIC_RRPC_SERVICE:
                *ret = strdup(topic);
                return *ret ? 0 : -ENOMEM;
        case ALINK_TOPIC_RRPC_REQUEST:
                return alink_topic_rrpc_response(&d->topics, name, name_len, ret);
        default:
                return -EINVAL;
        }
}

void device_handle_service(Device *d, AlinkTopicKind kind, const char *topic, const char *name,
        size_t name_len, const void *payload, size_t len)
{
        _cleanup_(alink_request_done) AlinkRequest req = {};
        _cleanup_(freep) char *error = NULL, *reply_topic = NULL, *service = NULL;
        const TslService *s;
        Request *q;
        int r;

        r = service_reply_topic(d, kind, topic, name, name_len, &reply_topic);
        if (r < 0)
                return (void) log_oom();

        r = alink_parse_request(payload, len, &req, &error);
        /* An RRPC answer goes out on the topic its request came on, and a broker that echoes (plain MQTT
         * 3.1.1 has no "no local") hands it back: it is not a call. */
        if (r == 0 && req.is_reply && kind == ALINK_TOPIC_RRPC_SERVICE) {
                log_debug("Ignoring the answer on %s", topic);
                return;
        }
        if (r != 0) {
                log_warning(
                        "Rejected a service call on %s: %s", topic, r < 0 ? "out of memory" : strna(error));
                (void) device_reply(d, reply_topic, req.id, ALINK_CODE_REQUEST_ERROR,
                        r < 0 ? "internal error" : error, NULL);
                return;
        }
        /* The older RRPC form names the service only in the method. */
        if (kind == ALINK_TOPIC_RRPC_REQUEST) {
                const char *m = alink_method_service(req.method);
                if (!m) {
                        log_warning("Rejected RRPC request %.*s: method %s is not a service call",
                                (int) name_len, name, strna(req.method));
                        (void) device_reply(d, reply_topic, req.id, ALINK_CODE_REQUEST_ERROR,
                                "method is not thing.service.<identifier>", NULL);
                        return;
                }
                service = strdup(m);
        } else
                service = strndup(name, name_len);
        if (!service)
                return (void) log_oom();

        s = tsl_find_service(d->tsl, service);
        if (!s) {
                log_warning("The cloud called service %s, which the thing model does not have", service);
                _cleanup_(freep) char *m = NULL;
                if (asprintf(&m, "service %s is not in the thing model", service) < 0)
                        return (void) log_oom();
                (void) device_reply(d, reply_topic, req.id, DEVICE_CODE_NO_SUCH_SERVICE, m, NULL);
                return;
        }
        r = tsl_check_service_input(s, req.params, &error);
        if (r != 0) {
                log_warning("Rejected service %s call %s: %s", service, strna(req.id), strna(error));
                (void) device_reply(d, reply_topic, req.id,
                        r < 0 ? ALINK_CODE_REQUEST_ERROR : ALINK_CODE_PARAM_ERROR,
                        r < 0 ? "internal error" : error, NULL);
                return;
        }

        log_info("Service %s call %s from the cloud%s", service, strna(req.id),
                kind == ALINK_TOPIC_SERVICE ? "" : " (synchronous)");
        q = request_new(d, req.id, reply_topic);
        if (!q)
                return (void) log_oom();
        device_start_service(d, q, s, req.params);
}

int device_call_service(Device *d, const char *service, const char *params_json, DeviceCallDone done,
        void *userdata, char **ret_error)
{
        _cleanup_(json_object_putp) json_object *params = NULL;
        const TslService *s;
        Request *q;
        int r;

        s = service ? tsl_find_service(d->tsl, service) : NULL;
        if (!s)
                return alink_json_error(ret_error, "service %s is not in the thing model", strna(service));
        if (isempty(params_json))
                params = json_object_new_object();
        else {
                r = alink_parse_json_object(params_json, strlen(params_json), &params, ret_error);
                if (r != 0)
                        return r;
        }
        if (!params)
                return -ENOMEM;
        r = tsl_check_service_input(s, params, ret_error);
        if (r != 0)
                return r;
        q = request_new(d, NULL, NULL);
        if (!q)
                return -ENOMEM;
        q->done = done;
        q->userdata = userdata;
        device_start_service(d, q, s, params);
        return 0;
}

static void on_refusal(const char *identifier, const char *reason, void *userdata)
{
        Device *d = userdata;

        if (json_object_object_get_ex(d->refused, identifier, NULL))
                return;
        (void) json_object_object_add(d->refused, identifier, json_object_new_string(reason));
        d->n_refused++;
        log_warning(
                "The cloud dropped property %s from a post: %s (does the product's thing model have this "
                "identifier and type?)",
                identifier, reason);
}

void device_handle_post_reply(
        Device *d, const char *event, size_t event_len, const void *payload, size_t len)
{
        _cleanup_(alink_reply_done) AlinkReply reply = {};
        _cleanup_(freep) char *error = NULL;
        uint64_t before = d->n_refused;
        int r;

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
        if (event_len == strlen("property") && memcmp(event, "property", event_len) == 0)
                (void) alink_reply_foreach_refusal(&reply, on_refusal, d);
        if (d->n_refused != before && d->host.changed)
                d->host.changed(d->host.userdata, d);
}

/* ---- desired values (https://help.aliyun.com/document_detail/171016.html) ---- */

/* Applied desired values are cleared in the cloud, by the versions it gave. */
typedef struct DesiredDelete {
        Device *device;
        json_object *versions;
} DesiredDelete;

static void on_desired_applied(int code, const char *text, void *userdata)
{
        DesiredDelete *dd = userdata;
        Device *d = dd->device;
        _cleanup_(freep) char *id = NULL, *payload = NULL;

        if (code != ALINK_CODE_SUCCESS)
                log_warning("The desired values were not applied (device error %d: %s); they stay in the "
                            "cloud",
                        code, strna(text));
        else if (!(id = d->host.new_message_id(d->host.userdata)) ||
                 alink_build_desired_delete(id, json_object_get(dd->versions), &payload) < 0)
                log_oom();
        else
                (void) d->host.publish(d->host.userdata, d->topics.desired_delete, payload, /* qos= */ 0);
        json_object_put(dd->versions);
        free(dd);
}

void device_handle_desired_reply(Device *d, AlinkTopicKind kind, const void *payload, size_t len)
{
        _cleanup_(alink_reply_done) AlinkReply reply = {};
        _cleanup_(freep) char *error = NULL;
        _cleanup_(json_object_putp) json_object *params = NULL, *versions = NULL;
        Request *q;
        int r;

        r = alink_parse_reply(payload, len, &reply, &error);
        if (r != 0) {
                log_warning(
                        "Ignoring an unreadable desired-value reply: %s", r < 0 ? "out of memory" : error);
                return;
        }
        if (reply.code != ALINK_CODE_SUCCESS) {
                log_warning("The cloud refused a desired-value %s: code %" PRId64 "%s%s",
                        kind == ALINK_TOPIC_DESIRED_GET_REPLY ? "request" : "delete", reply.code,
                        reply.message ? ", " : "", strempty(reply.message));
                return;
        }
        if (kind != ALINK_TOPIC_DESIRED_GET_REPLY || !json_object_is_type(reply.data, json_type_object))
                return;

        params = json_object_new_object();
        versions = json_object_new_object();
        if (!params || !versions)
                return (void) log_oom();
        json_object_object_foreach(reply.data, key, entry)
        {
                _cleanup_(json_object_putp) json_object *one = json_object_new_object();
                _cleanup_(freep) char *why = NULL;
                json_object *value, *version;

                if (!json_object_is_type(entry, json_type_object) ||
                        !json_object_object_get_ex(entry, "value", &value) ||
                        json_object_is_type(value, json_type_null))
                        continue; /* nothing desired for it */
                if (!one || json_object_object_add(one, key, json_object_get(value)) < 0)
                        return (void) log_oom();
                if (tsl_check_property_set(d->tsl, one, &why) != 0) {
                        log_warning("Ignoring the desired value of %s: %s", key, strna(why));
                        continue;
                }
                (void) json_object_object_get_ex(one, key, &value); /* normalised */
                (void) json_object_object_add(params, key, json_object_get(value));
                json_object *v = json_object_new_object();
                if (v && json_object_object_get_ex(entry, "version", &version))
                        (void) json_object_object_add(v, "version", json_object_get(version));
                (void) json_object_object_add(versions, key, v);
        }
        if (json_object_object_length(params) == 0)
                return;
        log_info("Applying desired values set while the device was away: %s", plain(params));
        DesiredDelete *dd = calloc(1, sizeof(*dd));
        q = dd ? request_new(d, NULL, NULL) : NULL;
        if (!q) {
                free(dd);
                return (void) log_oom();
        }
        *dd = (DesiredDelete){.device = d, .versions = TAKE_PTR(versions)};
        q->done = on_desired_applied;
        q->userdata = dd;
        device_start_set(d, q, params);
}

/* The platform answers at most this many identifiers per desired get (UNCONFIRMED; the SDKs pass the
 * caller's list through): ask in pieces. */
#define DESIRED_GET_BATCH 50

void device_connected(Device *d)
{
        size_t n = tsl_n_properties(d->tsl);
        _cleanup_(freep) char **ids = NULL;
        size_t k = 0;

        ids = calloc(DESIRED_GET_BATCH + 1, sizeof(char *));
        if (!ids)
                return (void) log_oom();
        for (size_t i = 0; i <= n; i++) {
                const TslProperty *p = i < n ? tsl_property_at(d->tsl, i) : NULL;

                if (p && tsl_property_writable(p))
                        ids[k++] = (char *) tsl_property_identifier(p);
                if (k > 0 && (k == DESIRED_GET_BATCH || i == n)) {
                        _cleanup_(freep) char *id = d->host.new_message_id(d->host.userdata),
                                              *payload = NULL;

                        ids[k] = NULL;
                        if (!id || alink_build_desired_get(id, ids, &payload) < 0)
                                return (void) log_oom();
                        (void) d->host.publish(
                                d->host.userdata, d->topics.desired_get, payload, /* qos= */ 0);
                        k = 0;
                }
        }
}

/* ---- from local programs ---- */

int device_post_properties(Device *d, const char *params_json, char **ret_error)
{
        json_object *params = NULL;
        int r;

        r = alink_parse_json_object(params_json, params_json ? strlen(params_json) : 0, &params, ret_error);
        if (r != 0)
                return r;
        r = tsl_check_property_post(d->tsl, params, ret_error);
        if (r != 0) {
                json_object_put(params);
                return r;
        }
        return device_queue_post(d, params);
}

void device_post_snapshot(Device *d)
{
        json_object *copy = NULL;

        if (json_object_object_length(d->values) > 0 && json_object_deep_copy(d->values, &copy, NULL) == 0)
                (void) device_queue_post(d, copy);
        device_connected(d);
}

int device_post_light(Device *d, json_object *params)
{
        return device_queue_post(d, params);
}

/* Post an event whose output (a reference this takes) has been checked. */
static int device_queue_event(Device *d, const char *event, json_object *output)
{
        _cleanup_(freep) char *id = NULL, *payload = NULL, *topic = NULL;
        int r;

        id = d->host.new_message_id(d->host.userdata);
        if (!id) {
                json_object_put(output);
                return -ENOMEM;
        }
        r = alink_build_event_post(id, event, output, now_usec(CLOCK_REALTIME) / USEC_PER_MSEC, &payload);
        if (r < 0)
                return r;
        r = alink_topic_event_post(&d->topics, event, &topic);
        if (r < 0)
                return r;
        log_info("Posting event %s as message %s", event, id);
        return d->host.publish(d->host.userdata, topic, payload, /* qos= */ 1);
}

int device_post_event(Device *d, const char *event, const char *output_json, char **ret_error)
{
        json_object *output = NULL;
        const TslEvent *e;
        int r;

        e = event ? tsl_find_event(d->tsl, event) : NULL;
        if (!e)
                return alink_json_error(ret_error, "event %s is not in the thing model", strna(event));
        r = alink_parse_json_object(output_json, output_json ? strlen(output_json) : 0, &output, ret_error);
        if (r != 0)
                return r;
        r = tsl_check_event_output(e, output, ret_error);
        if (r != 0) {
                json_object_put(output);
                return r;
        }
        return device_queue_event(d, event, output);
}

const char *device_get_properties(Device *d)
{
        if (!d->values_json)
                d->values_json = strdup(plain(d->values));
        return d->values_json ?: "{}";
}

uint64_t device_get_refused(const Device *d)
{
        return d->n_refused;
}

const char *device_product_key(const Device *d)
{
        return d->product_key;
}

const char *device_device_name(const Device *d)
{
        return d->device_name;
}

void device_set_online(Device *d, bool online)
{
        if (d->online == online)
                return;
        d->online = online;
        if (d->host.changed)
                d->host.changed(d->host.userdata, d);
}

bool device_is_online(const Device *d)
{
        return d->online;
}

const AlinkTopics *device_topics(const Device *d)
{
        return &d->topics;
}

const Tsl *device_tsl(const Device *d)
{
        return d->tsl;
}

/* ---- bindings ---- */

static void on_binding_value(Binding *b, json_object *value, void *userdata)
{
        Device *d = userdata;
        json_object *params = json_object_new_object();

        if (!params || json_object_object_add(params, binding_identifier(b), json_object_get(value)) < 0) {
                json_object_put(params);
                return (void) log_oom();
        }
        log_debug("Binding %s reports %s", binding_identifier(b), plain(value));
        (void) device_queue_post(d, params);

        /* event = EVENT: the change is also an event, its output the property's value (checked against
         * the model by the configuration). */
        const char *event = binding_event(b);
        if (event) {
                json_object *output = json_object_new_object();
                if (!output ||
                        json_object_object_add(output, binding_identifier(b), json_object_get(value)) < 0) {
                        json_object_put(output);
                        return (void) log_oom();
                }
                (void) device_queue_event(d, event, output);
        }
}

static int device_add_binding(Device *d, const BindingConfig *c)
{
        const TslProperty *p = tsl_find_property(d->tsl, c->identifier);
        BindingType type;
        BindingHost host = {
                .value_changed = on_binding_value,
                .userdata = d,
        };
        int r;

        if (!p)
                return log_error_errno(EINVAL, "[binding.%s]: %s is not a property of the thing model",
                        c->identifier, c->identifier);
        /* The configuration checked the binding against the model (conf.c). */
        binding_type_from_property(p, &type);
        r = binding_new(&d->bindings[d->n_bindings], d->event, c, &type, &host);
        if (r < 0)
                return log_error_errno(r, "[binding.%s]: cannot set it up: %m", c->identifier);
        d->n_bindings++;
        return 0;
}

int device_new(Device **ret, sd_event *e, const DeviceConfig *c, const DeviceHost *host)
{
        _cleanup_(device_freep) Device *d = NULL;
        int r;

        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->event = sd_event_ref(e);
        d->host = *host;
        d->tsl = c->tsl;
        d->handler_timeout_usec = c->handler_timeout_usec ?: DEVICE_HANDLER_TIMEOUT_USEC;
        d->values = json_object_new_object();
        d->refused = json_object_new_object();
        d->product_key = strdup(c->product_key);
        d->device_name = strdup(c->device_name);
        if (!d->values || !d->refused || !d->product_key || !d->device_name)
                return -ENOMEM;
        r = alink_topics_init(&d->topics, c->product_key, c->device_name);
        if (r < 0)
                return r;
        d->bindings = calloc(c->n_bindings + 1, sizeof(Binding *));
        if (!d->bindings)
                return -ENOMEM;
        for (size_t i = 0; i < c->n_bindings; i++) {
                r = device_add_binding(d, &c->bindings[i]);
                if (r < 0)
                        return r;
        }
        *ret = TAKE_PTR(d);
        return 0;
}

Device *device_free(Device *d)
{
        if (!d)
                return NULL;
        /* The bindings first: a binding freed never calls back into a request. */
        for (size_t i = 0; i < d->n_bindings; i++)
                binding_free(d->bindings[i]);
        free(d->bindings);
        while (d->requests) {
                Request *q = d->requests;
                d->requests = q->next;
                /* A reload or a stop: answer, rather than leave the caller waiting for its timeout. */
                if (q->reply_topic)
                        (void) device_reply(d, q->reply_topic, q->id, ALINK_CODE_TOO_MANY_REQUESTS,
                                "the device is being reconfigured; try again", NULL);
                if (q->done)
                        q->done(ALINK_CODE_REQUEST_ERROR, "the device went away", q->userdata);
                request_free(q);
        }
        alink_topics_done(&d->topics);
        json_object_put(d->values);
        json_object_put(d->refused);
        free(d->values_json);
        free(d->product_key);
        free(d->device_name);
        sd_event_unref(d->event);
        free(d);
        return NULL;
}
