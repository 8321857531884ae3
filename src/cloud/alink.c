/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alink.c: Alink topics and JSON with json-c. */
#include <inttypes.h>
#include <limits.h>
#include <json-c/json.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alink-internal.h"
#include "alink.h"
#include "string-util.h"

int alink_json_error(char **ret_error, const char *format, ...)
{
        va_list ap;
        int r;

        va_start(ap, format);
        r = error_vprintf(ret_error, ALINK_E_INVALID, format, ap);
        va_end(ap);
        return r;
}

int alink_topics_init(AlinkTopics *t, const char *pk, const char *dn)
{
        AlinkTopics n = ALINK_TOPICS_NULL;

        if (isempty(pk) || isempty(dn))
                return -EINVAL;
        if (asprintf(&n.sys_prefix, "/sys/%s/%s/", pk, dn) < 0 ||
                asprintf(&n.user_prefix, "/%s/%s/user/", pk, dn) < 0 ||
                asprintf(&n.property_set, "/sys/%s/%s/thing/service/property/set", pk, dn) < 0 ||
                asprintf(&n.property_set_reply, "/sys/%s/%s/thing/service/property/set_reply", pk, dn) < 0 ||
                asprintf(&n.property_post, "/sys/%s/%s/thing/event/property/post", pk, dn) < 0 ||
                asprintf(&n.event_post_reply, "/sys/%s/%s/thing/event/+/post_reply", pk, dn) < 0 ||
                asprintf(&n.service, "/sys/%s/%s/thing/service/+", pk, dn) < 0 ||
                asprintf(&n.ota_inform, "/ota/device/inform/%s/%s", pk, dn) < 0 ||
                asprintf(&n.ota_upgrade, "/ota/device/upgrade/%s/%s", pk, dn) < 0 ||
                asprintf(&n.ota_progress, "/ota/device/progress/%s/%s", pk, dn) < 0 ||
                asprintf(&n.ota_firmware_get, "/sys/%s/%s/thing/ota/firmware/get", pk, dn) < 0 ||
                asprintf(&n.ota_firmware_get_reply, "/sys/%s/%s/thing/ota/firmware/get_reply", pk, dn) < 0 ||
                asprintf(&n.rrpc_service, "/ext/rrpc/+/sys/%s/%s/thing/service/+", pk, dn) < 0 ||
                asprintf(&n.rrpc_request, "/sys/%s/%s/rrpc/request/+", pk, dn) < 0 ||
                asprintf(&n.desired_get, "/sys/%s/%s/thing/property/desired/get", pk, dn) < 0 ||
                asprintf(&n.desired_get_reply, "/sys/%s/%s/thing/property/desired/get_reply", pk, dn) < 0 ||
                asprintf(&n.desired_delete, "/sys/%s/%s/thing/property/desired/delete", pk, dn) < 0 ||
                asprintf(&n.desired_delete_reply, "/sys/%s/%s/thing/property/desired/delete_reply", pk, dn) <
                        0) {
                alink_topics_done(&n);
                return -ENOMEM;
        }
        *t = n;
        return 0;
}

void alink_topics_done(AlinkTopics *t)
{
        free(t->sys_prefix);
        free(t->user_prefix);
        free(t->property_set);
        free(t->property_set_reply);
        free(t->property_post);
        free(t->event_post_reply);
        free(t->service);
        free(t->ota_inform);
        free(t->ota_upgrade);
        free(t->ota_progress);
        free(t->ota_firmware_get);
        free(t->ota_firmware_get_reply);
        free(t->rrpc_service);
        free(t->rrpc_request);
        free(t->desired_get);
        free(t->desired_get_reply);
        free(t->desired_delete);
        free(t->desired_delete_reply);
        *t = ALINK_TOPICS_NULL;
}

int alink_topic_sys(const AlinkTopics *t, const char *suffix, char **ret)
{
        return asprintf(ret, "%s%s", t->sys_prefix, suffix) < 0 ? -ENOMEM : 0;
}

int alink_topic_user(const AlinkTopics *t, const char *name, char **ret)
{
        return asprintf(ret, "%s%s", t->user_prefix, name) < 0 ? -ENOMEM : 0;
}

static const char *startswith(const char *s, const char *prefix)
{
        size_t l = strlen(prefix);
        return strncmp(s, prefix, l) == 0 ? s + l : NULL;
}

int alink_topic_rrpc_response(const AlinkTopics *t, const char *msg_id, size_t msg_id_len, char **ret)
{
        return asprintf(ret, "%srrpc/response/%.*s", t->sys_prefix, (int) msg_id_len, msg_id) < 0 ? -ENOMEM
                                                                                                  : 0;
}

int alink_topic_event_post(const AlinkTopics *t, const char *event, char **ret)
{
        return asprintf(ret, "%sthing/event/%s/post", t->sys_prefix, event) < 0 ? -ENOMEM : 0;
}

/* One topic level: non-empty, no further '/'. */
static bool is_level(const char *s)
{
        return s && *s && !strchr(s, '/');
}

AlinkTopicKind alink_topic_classify(
        const AlinkTopics *t, const char *topic, const char **ret_name, size_t *ret_name_len)
{
        const char *rest, *name;
        size_t n;

        *ret_name = NULL;
        *ret_name_len = 0;
        if (!topic)
                return ALINK_TOPIC_UNKNOWN;

        if (streq(topic, t->property_set))
                return ALINK_TOPIC_PROPERTY_SET;
        if (streq(topic, t->ota_upgrade))
                return ALINK_TOPIC_OTA_UPGRADE;
        if (streq(topic, t->ota_firmware_get_reply))
                return ALINK_TOPIC_OTA_FIRMWARE_GET_REPLY;
        if (streq(topic, t->desired_get_reply))
                return ALINK_TOPIC_DESIRED_GET_REPLY;
        if (streq(topic, t->desired_delete_reply))
                return ALINK_TOPIC_DESIRED_DELETE_REPLY;

        /* /ext/rrpc/<rrpcId>/sys/pk/dn/thing/service/<name>, answered on the same topic. */
        rest = startswith(topic, "/ext/rrpc/");
        if (rest) {
                n = strcspn(rest, "/");
                if (n == 0 || n > ALINK_MAX_ID_LENGTH || rest[n] != '/')
                        return ALINK_TOPIC_UNKNOWN;
                rest = startswith(rest + n, t->sys_prefix);
                name = rest ? startswith(rest, "thing/service/") : NULL;
                if (!is_level(name))
                        return ALINK_TOPIC_UNKNOWN;
                *ret_name = name;
                *ret_name_len = strlen(name);
                return ALINK_TOPIC_RRPC_SERVICE;
        }

        rest = startswith(topic, t->user_prefix);
        if (rest && *rest) {
                *ret_name = rest;
                *ret_name_len = strlen(rest);
                return ALINK_TOPIC_USER;
        }

        rest = startswith(topic, t->sys_prefix);
        if (!rest)
                return ALINK_TOPIC_UNKNOWN;

        name = startswith(rest, "rrpc/request/");
        if (name) {
                if (!is_level(name) || strlen(name) > ALINK_MAX_ID_LENGTH)
                        return ALINK_TOPIC_UNKNOWN;
                *ret_name = name;
                *ret_name_len = strlen(name);
                return ALINK_TOPIC_RRPC_REQUEST;
        }

        name = startswith(rest, "thing/event/");
        if (name) {
                n = strcspn(name, "/");
                if (n > 0 && streq(name + n, "/post_reply")) {
                        *ret_name = name;
                        *ret_name_len = n;
                        return ALINK_TOPIC_EVENT_POST_REPLY;
                }
                return ALINK_TOPIC_UNKNOWN;
        }

        /* thing/service/<id>, one level only: property/set was matched above. Our own "<id>_reply"
         * publications match the same filter and come back to us: they are not requests. */
        name = startswith(rest, "thing/service/");
        if (name && *name && !strchr(name, '/') &&
                !(strlen(name) >= 6 && streq(name + strlen(name) - 6, "_reply"))) {
                *ret_name = name;
                *ret_name_len = strlen(name);
                return ALINK_TOPIC_SERVICE;
        }
        return ALINK_TOPIC_UNKNOWN;
}

bool alink_topic_publish_allowed(const AlinkTopics *t, const char *topic)
{
        const char *rest;

        if (!topic || !t->user_prefix || strpbrk(topic, "+#") || strstr(topic, "//"))
                return false;
        rest = startswith(topic, t->user_prefix);
        if (!rest) {
                rest = startswith(topic, t->sys_prefix);
                rest = rest ? startswith(rest, "thing/event/") : NULL;
        }
        return rest && *rest && rest[strlen(rest) - 1] != '/';
}

/* Does a well-formed JSON integer (no leading zero) end at payload[end]? */
static bool integer_ends_at(const char *payload, size_t len, size_t end)
{
        size_t i = end;

        if (end > len)
                return false;
        while (i > 0 && payload[i - 1] >= '0' && payload[i - 1] <= '9')
                i--;
        if (i == end || (payload[i] == '0' && end - i > 1))
                return false;
        if (i > 0 && payload[i - 1] == '-')
                i--;
        return i == 0 || (payload[i - 1] != '\0' && strchr(" \t\r\n:,[", payload[i - 1]));
}

/* Parse untrusted bytes into a JSON object: bounded size and depth, strict syntax, valid UTF-8, the whole
 * input consumed, and an object at the top. */
int alink_parse_json_object(const void *payload, size_t len, json_object **ret, char **ret_error)
{
        json_object *o;
        int e;
        size_t end;

        if (!payload || len == 0)
                return alink_json_error(ret_error, "empty message");
        if (len > ALINK_MAX_PAYLOAD)
                return alink_json_error(
                        ret_error, "message of %zu bytes exceeds the %u byte limit", len, ALINK_MAX_PAYLOAD);

        e = alink_json_tokenize(payload, len, ALINK_MAX_JSON_DEPTH, &o, &end);
        if (e < 0)
                return e;
        if (e != json_tokener_success) {
                if (e == json_tokener_continue)
                        return alink_json_error(ret_error, "invalid JSON: unexpected end of input");
                /* json-c 0.17 and later refuse an integer that does not fit in 64 bits in strict mode, as
                 * "number expected" (older ones saturate it, and the range checks below refuse it). */
                if (e == json_tokener_error_parse_number && integer_ends_at(payload, len, end))
                        return alink_json_error(
                                ret_error, "invalid JSON at byte %zu: integer out of range", end);
                return alink_json_error(ret_error, "invalid JSON at byte %zu: %s", end,
                        json_tokener_error_desc((enum json_tokener_error) e));
        }
        /* Only white space may follow the document. */
        for (const char *p = (const char *) payload + end; p < (const char *) payload + len; p++)
                if (!strchr(" \t\r\n", *p)) {
                        json_object_put(o);
                        return alink_json_error(ret_error,
                                "invalid JSON: unexpected data after the document at byte %zu",
                                (size_t) (p - (const char *) payload));
                }
        if (!json_object_is_type(o, json_type_object)) {
                json_object_put(o);
                return alink_json_error(ret_error, "invalid message: expected a JSON object");
        }
        *ret = o;
        return 0;
}

/* A short, printable rendering of a value for error messages. */
static char *describe(json_object *v)
{
        const char *s =
                json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        char *d;

        if (strlen(s) <= 40)
                return strdup(s);
        if (asprintf(&d, "%.37s...", s) < 0)
                return NULL;
        return d;
}

/* Alink ids are strings of decimal digits, but OTA pushes send numbers (§2.1, §6). Accept both. */
int alink_read_id(json_object *o, char **ret, char **ret_error)
{
        json_object *v;

        *ret = NULL;
        if (!json_object_object_get_ex(o, "id", &v) || json_object_is_type(v, json_type_null))
                return alink_json_error(ret_error, "missing id");

        switch (json_object_get_type(v)) {
        case json_type_string: {
                const char *s = json_object_get_string(v);
                size_t l = (size_t) json_object_get_string_len(v);

                if (l == 0 || l > ALINK_MAX_ID_LENGTH || memchr(s, 0, l))
                        return alink_json_error(
                                ret_error, "invalid id: expected 1..%d characters", ALINK_MAX_ID_LENGTH);
                for (size_t i = 0; i < l; i++)
                        if ((unsigned char) s[i] < 0x20)
                                return alink_json_error(
                                        ret_error, "invalid id: contains control characters");
                *ret = strdup(s);
                break;
        }
        case json_type_int: {
                const char *s = json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);

                if (!s || s[0] == '-')
                        return alink_json_error(
                                ret_error, "invalid id: expected a string or a whole number >= 0");
                /* json-c saturates what does not fit in 64 bits, and the reply must echo the id exactly:
                 * numeric ids are epoch-millisecond sized in practice (§3.3), so anything with more than 15
                 * digits is refused rather than echoed wrong. */
                if (strlen(s) > 15)
                        return alink_json_error(ret_error, "invalid id: numeric ids have at most 15 digits");
                *ret = strdup(s);
                break;
        }
        default: {
                _cleanup_(freep) char *d = describe(v);
                return alink_json_error(
                        ret_error, "invalid id %s: expected a string or a whole number", strna(d));
        }
        }
        return *ret ? 0 : -ENOMEM;
}

/* A whole number in [min, max]: JSON integers, integral doubles (10.0), and for max == 1 also booleans. */
static int get_uint(
        json_object *v, const char *what, int64_t min, int64_t max, int64_t *ret, char **ret_error)
{
        _cleanup_(freep) char *d = NULL;
        int64_t x;

        switch (json_object_get_type(v)) {
        case json_type_boolean:
                if (max != 1)
                        goto bad;
                x = json_object_get_boolean(v);
                break;
        case json_type_int:
                errno = 0;
                x = json_object_get_int64(v);
                if (errno == ERANGE)
                        goto range;
                break;
        case json_type_double: {
                double f = json_object_get_double(v);
                /* Integral? From 2^53 on every double is. (No floor(): the daemon does not link libm.) */
                if (!isfinite(f) || (fabs(f) < 0x1p53 && (double) (int64_t) f != f))
                        goto bad;
                /* (double) INT64_MAX rounds up to 2^63, which does not fit: compare below max + 1. */
                if (f < (double) min || f >= (double) max + 1.0)
                        goto range;
                x = (int64_t) f;
                break;
        }
        default:
                goto bad;
        }
        if (x < min || x > max)
                goto range;
        *ret = x;
        return 0;
range:
        d = describe(v);
        return alink_json_error(
                ret_error, "%s: %s is out of range %" PRId64 "..%" PRId64, what, strna(d), min, max);
bad:
        d = describe(v);
        return alink_json_error(ret_error, "%s: expected a whole number in %" PRId64 "..%" PRId64 ", got %s",
                what, min, max, strna(d));
}

int alink_parse_property_set(const void *payload, size_t len, AlinkPropertySet *s, char **ret_error)
{
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *params;
        int r;

        *s = (AlinkPropertySet){};
        r = alink_parse_json_object(payload, len, &o, ret_error);
        if (r != 0)
                return r;

        r = alink_read_id(o, &s->id, ret_error);
        if (r != 0)
                return r;
        if (json_text_has_escaped_nul(payload, len))
                return alink_json_error(ret_error, "a key or string holds a NUL character (\\u0000)");

        if (!json_object_object_get_ex(o, "params", &params))
                return alink_json_error(ret_error, "missing params");
        if (!json_object_is_type(params, json_type_object))
                return alink_json_error(ret_error, "params must be an object");
        if (json_object_object_length(params) == 0)
                return alink_json_error(ret_error, "params is empty");

        s->params_json = strdup(json_object_to_json_string_ext(
                params, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        if (!s->params_json)
                return -ENOMEM;
        s->params = json_object_get(params);
        return 0;
}

int alink_parse_request(const void *payload, size_t len, AlinkRequest *req, char **ret_error)
{
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *params, *method;
        int r;

        *req = (AlinkRequest){};
        r = alink_parse_json_object(payload, len, &o, ret_error);
        if (r != 0)
                return r;
        r = alink_read_id(o, &req->id, ret_error);
        if (r != 0)
                return r;
        if (json_text_has_escaped_nul(payload, len))
                return alink_json_error(ret_error, "a key or string holds a NUL character (\\u0000)");
        req->is_reply = json_object_object_get_ex(o, "code", NULL) &&
                        !json_object_object_get_ex(o, "method", NULL) &&
                        !json_object_object_get_ex(o, "params", NULL);
        if (json_object_object_get_ex(o, "method", &method)) {
                if (!json_object_is_type(method, json_type_string))
                        return alink_json_error(ret_error, "method must be a string");
                req->method = strdup(json_object_get_string(method));
                if (!req->method)
                        return -ENOMEM;
        }
        if (!json_object_object_get_ex(o, "params", &params) || json_object_is_type(params, json_type_null))
                req->params = json_object_new_object();
        else if (!json_object_is_type(params, json_type_object))
                return alink_json_error(ret_error, "params must be an object");
        else
                req->params = json_object_get(params);
        return req->params ? 0 : -ENOMEM;
}

void alink_request_done(AlinkRequest *r)
{
        free(r->id);
        free(r->method);
        json_object_put(r->params);
        *r = (AlinkRequest){};
}

const char *alink_method_service(const char *method)
{
        const char *s = method ? startswith(method, "thing.service.") : NULL;

        return s && *s && !strchr(s, '/') ? s : NULL;
}

void alink_property_set_done(AlinkPropertySet *s)
{
        free(s->id);
        free(s->params_json);
        json_object_put(s->params);
        *s = (AlinkPropertySet){};
}

int alink_parse_request_id(const void *payload, size_t len, char **ret_id)
{
        _cleanup_(json_object_putp) json_object *o = NULL;
        int r;

        *ret_id = NULL;
        r = alink_parse_json_object(payload, len, &o, NULL);
        if (r != 0)
                return r;
        return alink_read_id(o, ret_id, NULL);
}

int alink_parse_reply(const void *payload, size_t len, AlinkReply *reply, char **ret_error)
{
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *v;
        int64_t code;
        int r;

        *reply = (AlinkReply){};
        r = alink_parse_json_object(payload, len, &o, ret_error);
        if (r != 0)
                return r;
        r = alink_read_id(o, &reply->id, ret_error);
        if (r != 0)
                return r;
        if (!json_object_object_get_ex(o, "code", &v))
                return alink_json_error(ret_error, "missing code");
        /* Codes are numbers in thing-model replies, strings ("1000") in the OTA family. */
        if (json_object_is_type(v, json_type_string)) {
                uint64_t u;
                if (safe_atou64_range(json_object_get_string(v), 0, INT64_MAX, &u) < 0)
                        return alink_json_error(ret_error, "invalid code");
                code = (int64_t) u;
        } else if (get_uint(v, "code", 0, INT64_MAX, &code, ret_error) != 0)
                return ALINK_E_INVALID;
        reply->code = code;
        if (json_object_object_get_ex(o, "message", &v) && json_object_is_type(v, json_type_string)) {
                reply->message = strdup(json_object_get_string(v));
                if (!reply->message)
                        return -ENOMEM;
        }
        if (json_object_object_get_ex(o, "data", &v) && !json_object_is_type(v, json_type_null))
                reply->data = json_object_get(v);
        return 0;
}

void alink_reply_done(AlinkReply *r)
{
        free(r->id);
        free(r->message);
        json_object_put(r->data);
        *r = (AlinkReply){};
}

/* data is {"Foo":"tsl parse: params not exist",...}; a list of such objects is read the same way. */
static size_t foreach_refusal(
        json_object *data, void (*fn)(const char *, const char *, void *), void *userdata)
{
        size_t n = 0;

        if (json_object_is_type(data, json_type_array)) {
                size_t l = json_object_array_length(data);
                for (size_t i = 0; i < l && i < 1000; i++) {
                        json_object *e = json_object_array_get_idx(data, i);
                        if (json_object_is_type(e, json_type_object))
                                n += foreach_refusal(e, fn, userdata);
                }
                return n;
        }
        if (!json_object_is_type(data, json_type_object))
                return 0;
        json_object_object_foreach(data, key, v)
        {
                if (!json_object_is_type(v, json_type_string))
                        continue;
                fn(key, json_object_get_string(v), userdata);
                n++;
        }
        return n;
}

size_t alink_reply_foreach_refusal(const AlinkReply *r,
        void (*fn)(const char *identifier, const char *reason, void *userdata), void *userdata)
{
        return r->data ? foreach_refusal(r->data, fn, userdata) : 0;
}

int alink_json_to_string(json_object *o, char **ret)
{
        const char *s =
                json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

        if (!s)
                return -ENOMEM;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* json_object_object_add() takes ownership even when it fails; one helper keeps the checks short. */
int alink_json_add(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

int alink_build_reply(const char *id, int64_t code, const char *message, char **ret)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!o)
                return -ENOMEM;
        if ((id && alink_json_add(o, "id", json_object_new_string(id)) < 0) ||
                alink_json_add(o, "code", json_object_new_int64(code)) < 0 ||
                alink_json_add(o, "data", json_object_new_object()) < 0 ||
                (message && alink_json_add(o, "message", json_object_new_string(message)) < 0))
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}

int alink_build_reply_data(const char *id, int64_t code, const char *message, json_object *data, char **ret)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object(), *d = data;

        if (!o)
                return -ENOMEM;
        if ((id && alink_json_add(o, "id", json_object_new_string(id)) < 0) ||
                alink_json_add(o, "code", json_object_new_int64(code)) < 0 ||
                alink_json_add(o, "data", d ? TAKE_PTR(d) : json_object_new_object()) < 0 ||
                (message && alink_json_add(o, "message", json_object_new_string(message)) < 0))
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}

/* A request envelope: {"id","version":"1.0"[,"sys":{"ack":1}],"method"}. */
json_object *alink_request_envelope(const char *id, const char *method, bool ack)
{
        json_object *o = json_object_new_object(), *sys;

        if (!o)
                return NULL;
        if (alink_json_add(o, "id", json_object_new_string(id)) < 0 ||
                alink_json_add(o, "version", json_object_new_string("1.0")) < 0)
                goto fail;
        if (ack) {
                sys = json_object_new_object();
                if (alink_json_add(o, "sys", sys) < 0 ||
                        alink_json_add(sys, "ack", json_object_new_int(1)) < 0)
                        goto fail;
        }
        if (alink_json_add(o, "method", json_object_new_string(method)) < 0)
                goto fail;
        return o;
fail:
        json_object_put(o);
        return NULL;
}

static json_object *post_envelope(const char *id)
{
        return alink_request_envelope(id, "thing.event.property.post", /* ack= */ true);
}

int alink_build_event_post(
        const char *id, const char *event, json_object *output, uint64_t time_ms, char **ret)
{
        _cleanup_(json_object_putp) json_object *o = NULL, *out = output, *params = NULL;
        _cleanup_(freep) char *method = NULL;

        if (!out)
                return -EINVAL;
        if (asprintf(&method, "thing.event.%s.post", event) < 0)
                return -ENOMEM;
        o = alink_request_envelope(id, method, /* ack= */ true);
        params = json_object_new_object();
        if (!o || !params || alink_json_add(params, "value", TAKE_PTR(out)) < 0 ||
                alink_json_add(params, "time", json_object_new_int64((int64_t) time_ms)) < 0 ||
                alink_json_add(o, "params", TAKE_PTR(params)) < 0)
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}

int alink_build_desired_get(const char *id, char *const *identifiers, char **ret)
{
        _cleanup_(json_object_putp)
                json_object *o = alink_request_envelope(id, "thing.property.desired.get", true),
                            *list = json_object_new_array();

        if (!o || !list)
                return -ENOMEM;
        if (!identifiers || !identifiers[0])
                return -EINVAL;
        for (char *const *i = identifiers; *i; i++)
                if (json_object_array_add(list, json_object_new_string(*i)) < 0)
                        return -ENOMEM;
        if (alink_json_add(o, "params", TAKE_PTR(list)) < 0)
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}

int alink_build_desired_delete(const char *id, json_object *params, char **ret)
{
        _cleanup_(json_object_putp) json_object *o = NULL, *p = params;

        if (!p)
                return -EINVAL;
        o = alink_request_envelope(id, "thing.property.desired.delete", /* ack= */ true);
        if (!o || alink_json_add(o, "params", TAKE_PTR(p)) < 0)
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}

int alink_build_property_post_params(const char *id, const char *params_json, char **ret, char **ret_error)
{
        _cleanup_(json_object_putp) json_object *o = NULL, *params = NULL;
        int r;

        r = alink_parse_json_object(params_json, params_json ? strlen(params_json) : 0, &params, ret_error);
        if (r != 0)
                return r;
        if (json_object_object_length(params) == 0)
                return alink_json_error(ret_error, "no properties to post: the object is empty");
        o = post_envelope(id);
        if (!o)
                return -ENOMEM;
        if (alink_json_add(o, "params", TAKE_PTR(params)) < 0)
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}

/* Add every param of from to params as {"value":v,"time":ms}, or as it is when already timed. */
static int merge_params(json_object *params, json_object *from, bool timed, uint64_t ms)
{
        json_object_object_foreach(from, key, v)
        {
                json_object *entry;

                if (timed)
                        entry = json_object_get(v);
                else {
                        entry = json_object_new_object();
                        if (alink_json_add(entry, "value", json_object_get(v)) < 0 ||
                                alink_json_add(entry, "time", json_object_new_int64((int64_t) ms)) < 0) {
                                json_object_put(entry);
                                return -ENOMEM;
                        }
                }
                if (alink_json_add(params, key, entry) < 0)
                        return -ENOMEM;
        }
        return 0;
}

int alink_merge_property_posts(const char *older, bool older_timed, uint64_t older_ms, const char *newer,
        uint64_t newer_ms, char **ret)
{
        _cleanup_(json_object_putp) json_object *a = NULL, *b = NULL, *params = NULL;
        json_object *pa, *pb;
        int r;

        if (!older || !newer)
                return -EINVAL;
        r = alink_parse_json_object(older, strlen(older), &a, NULL);
        if (r == 0)
                r = alink_parse_json_object(newer, strlen(newer), &b, NULL);
        if (r != 0)
                return r;
        if (!json_object_object_get_ex(a, "params", &pa) || !json_object_is_type(pa, json_type_object) ||
                !json_object_object_get_ex(b, "params", &pb) || !json_object_is_type(pb, json_type_object))
                return ALINK_E_INVALID;

        params = json_object_new_object();
        if (!params)
                return -ENOMEM;
        r = merge_params(params, pa, older_timed, older_ms);
        if (r == 0)
                r = merge_params(params, pb, false, newer_ms);
        if (r < 0)
                return r;
        /* Newer's envelope (its id) with the merged params. */
        if (json_object_object_add(b, "params", TAKE_PTR(params)) < 0)
                return -ENOMEM;
        return alink_json_to_string(b, ret);
}

int alink_build_property_post_object(const char *id, struct json_object *params, char **ret)
{
        _cleanup_(json_object_putp) json_object *p = params, *o = NULL;

        if (!id || !p || !json_object_is_type(p, json_type_object))
                return -EINVAL;
        o = post_envelope(id);
        if (!o)
                return -ENOMEM;
        if (alink_json_add(o, "params", TAKE_PTR(p)) < 0)
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}

/* ---- reading values, for the modules that map a params object onto their device ---- */

char *alink_json_describe(struct json_object *v)
{
        return describe(v);
}

int alink_json_get_uint(
        struct json_object *v, const char *what, int64_t min, int64_t max, int64_t *ret, char **ret_error)
{
        return get_uint(v, what, min, max, ret, ret_error);
}

/* ---- OTA ---- */

/* A string member of at most max bytes whose every byte is in [lo, 0x7e] (lo = 0x20 allows spaces, 0x21
 * not), or for lo = 0x20 also any UTF-8 above ASCII. Absent: *ret stays NULL and 0 is returned unless
 * required. */
static int get_text(json_object *o, const char *key, size_t max, unsigned char lo, bool required, char **ret,
        char **ret_error)
{
        json_object *v;
        const char *s;
        size_t l;

        *ret = NULL;
        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return required ? alink_json_error(ret_error, "missing %s", key) : 0;
        if (!json_object_is_type(v, json_type_string)) {
                _cleanup_(freep) char *d = describe(v);
                return alink_json_error(ret_error, "%s: expected a string, got %s", key, strna(d));
        }
        s = json_object_get_string(v);
        l = (size_t) json_object_get_string_len(v);
        if (l == 0 || l > max)
                return alink_json_error(ret_error, "%s: expected 1..%zu characters, got %zu", key, max, l);
        for (size_t i = 0; i < l; i++) {
                unsigned char c = (unsigned char) s[i];
                if (c < lo || c == 0x7f || (c > 0x7f && lo > 0x20))
                        return alink_json_error(ret_error,
                                "%s contains a character that is not allowed there (byte %zu)", key, i);
        }
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

/* A size: a JSON whole number (or, tolerated, a string of digits) in [min, max]. */
static int get_size(json_object *o, const char *key, uint64_t min, uint64_t *ret, char **ret_error)
{
        json_object *v;
        int64_t x;

        if (!json_object_object_get_ex(o, key, &v))
                return alink_json_error(ret_error, "missing %s", key);
        if (json_object_is_type(v, json_type_string)) {
                if (safe_atou64_range(json_object_get_string(v), min, INT64_MAX, ret) < 0) {
                        _cleanup_(freep) char *d = describe(v);
                        return alink_json_error(ret_error,
                                "%s: expected a whole number >= %" PRIu64 ", got %s", key, min, strna(d));
                }
                return 0;
        }
        if (get_uint(v, key, (int64_t) min, INT64_MAX, &x, ret_error) != 0)
                return ALINK_E_INVALID;
        *ret = (uint64_t) x;
        return 0;
}

static bool is_hex(const char *s)
{
        for (; *s; s++)
                if (!strchr("0123456789abcdefABCDEF", *s))
                        return false;
        return true;
}

/* The package description: the data object of a push, or a persisted job. */
int alink_ota_firmware_from_json(json_object *data, AlinkOtaFirmware *f, char **ret_error)
{
        _cleanup_(freep) char *method = NULL, *sign = NULL;
        json_object *v;
        size_t want;
        int r;

        /* Module and version first: a failure report names them when they could be read. */
        r = get_text(data, "module", ALINK_OTA_MAX_MODULE, 0x21, false, &f->module, ret_error);
        if (r != 0)
                return r;
        if (f->module && !alnum_or_chars(f->module, "-_."))
                return alink_json_error(ret_error, "module may only contain A-Z a-z 0-9 - _ .");
        /* It names files and reaches the installer: nothing that reads as a path. */
        if (f->module && (f->module[0] == '.' || strstr(f->module, "..")))
                return alink_json_error(ret_error, "module may not start with '.' or contain \"..\"");
        if (f->module && streq(f->module, "default"))
                f->module = mfree(f->module);
        r = get_text(data, "version", ALINK_OTA_MAX_VERSION, 0x20, true, &f->version, ret_error);
        if (r != 0)
                return r;

        if (json_object_object_get_ex(data, "files", NULL))
                return alink_json_error(ret_error, "multi-file packages are not supported");
        if (!json_object_object_get_ex(data, "url", NULL) &&
                json_object_object_get_ex(data, "streamId", NULL))
                return alink_json_error(ret_error, "MQTT-stream downloads are not supported; use HTTPS");
        r = get_text(data, "url", ALINK_OTA_MAX_URL, 0x21, true, &f->url, ret_error);
        if (r != 0)
                return r;
        if (strncasecmp(f->url, "https://", 8) != 0 && strncasecmp(f->url, "http://", 7) != 0)
                return alink_json_error(ret_error, "url is not an http or https URL");

        r = get_size(data, "size", 1, &f->size, ret_error);
        if (r != 0)
                return r;

        r = get_text(data, "signMethod", 16, 0x21, false, &method, ret_error);
        if (r != 0)
                return r;
        /* Pushes without signMethod carry only md5 (SDK 3 reads md5 alone). */
        f->sign_method = method ? digest_method_from_string(method) : DIGEST_MD5;
        if (f->sign_method < 0)
                return alink_json_error(
                        ret_error, "signMethod \"%s\" is not supported (expected Md5 or SHA256)", method);

        r = get_text(data, "sign", 128, 0x21, false, &sign, ret_error);
        if (r != 0)
                return r;
        if (!sign && f->sign_method == DIGEST_MD5) {
                r = get_text(data, "md5", 128, 0x21, false, &sign, ret_error);
                if (r != 0)
                        return r;
        }
        if (!sign)
                return alink_json_error(ret_error, "missing sign");
        want = digest_method_hex_length(f->sign_method);
        if (strlen(sign) != want || !is_hex(sign))
                return alink_json_error(ret_error, "sign is not a %s digest (%zu hex digits)",
                        digest_method_to_string(f->sign_method), want);
        for (char *p = sign; *p; p++)
                if (*p >= 'A' && *p <= 'F')
                        *p = (char) (*p - 'A' + 'a');
        f->sign = TAKE_PTR(sign);

        /* isDiff: 1 marks a delta package (the device restores the image from it and the running one). */
        if (json_object_object_get_ex(data, "isDiff", &v)) {
                int64_t x;
                r = get_uint(v, "isDiff", 0, 1, &x, ret_error);
                if (r != 0)
                        return r;
                f->is_diff = x == 1;
        }
        /* extData: whatever JSON the operator attached to the push, handed on as text. */
        if (json_object_object_get_ex(data, "extData", &v) && !json_object_is_type(v, json_type_null)) {
                const char *t = json_object_to_json_string_ext(
                        v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
                if (!t)
                        return -ENOMEM;
                if (strlen(t) > ALINK_OTA_MAX_EXTRA)
                        return alink_json_error(
                                ret_error, "extData: more than %d bytes of JSON", ALINK_OTA_MAX_EXTRA);
                f->extra = strdup(t);
                if (!f->extra)
                        return -ENOMEM;
        }
        return 0;
}

void alink_ota_firmware_done(AlinkOtaFirmware *f)
{
        free(f->url);
        free(f->version);
        free(f->sign);
        free(f->module);
        free(f->extra);
        *f = (AlinkOtaFirmware){};
}

int alink_parse_ota_upgrade(
        const void *payload, size_t len, bool reply, AlinkOtaFirmware *f, char **ret_error)
{
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *v, *data;
        int r;

        *f = (AlinkOtaFirmware){};
        r = alink_parse_json_object(payload, len, &o, ret_error);
        if (r != 0)
                return r;

        /* Live pushes say "1000" (a string; SDK 4 does not look); the current "perform OTA updates" document
         * (https://help.aliyun.com/en/iot/user-guide/perform-ota-updates) shows 200, a number, as replies
         * have. Either code in a push, as a string or a number; 200 in a reply. */
        if (!json_object_object_get_ex(o, "code", &v))
                return alink_json_error(ret_error, "missing code");
        {
                const char *s =
                        json_object_is_type(v, json_type_string) || json_object_is_type(v, json_type_int)
                                ? json_object_get_string(v)
                                : NULL;
                if (!s || !(streq(s, "200") || (!reply && streq(s, "1000")))) {
                        _cleanup_(freep) char *d = describe(v);
                        return alink_json_error(
                                ret_error, "code is %s, not %s", strna(d), reply ? "200" : "1000 or 200");
                }
        }

        if (!json_object_object_get_ex(o, "data", &data) || !json_object_is_type(data, json_type_object)) {
                if (reply)
                        return ALINK_E_NO_FIRMWARE;
                return alink_json_error(ret_error, "missing data");
        }
        if (reply && !json_object_object_get_ex(data, "url", NULL) &&
                !json_object_object_get_ex(data, "files", NULL) &&
                !json_object_object_get_ex(data, "streamId", NULL))
                return ALINK_E_NO_FIRMWARE;
        return alink_ota_firmware_from_json(data, f, ret_error);
}

int alink_ota_firmware_to_json(const AlinkOtaFirmware *f, json_object *o)
{
        if (alink_json_add(o, "url", json_object_new_string(f->url)) < 0 ||
                alink_json_add(o, "size", json_object_new_int64((int64_t) f->size)) < 0 ||
                alink_json_add(o, "version", json_object_new_string(f->version)) < 0 ||
                alink_json_add(o, "signMethod",
                        json_object_new_string(digest_method_to_string(f->sign_method))) < 0 ||
                alink_json_add(o, "sign", json_object_new_string(f->sign)) < 0 ||
                (f->module && alink_json_add(o, "module", json_object_new_string(f->module)) < 0) ||
                (f->is_diff && alink_json_add(o, "isDiff", json_object_new_int(1)) < 0))
                return -ENOMEM;
        if (f->extra) {
                json_object *x = json_tokener_parse(f->extra);
                if (!x || alink_json_add(o, "extData", x) < 0)
                        return -ENOMEM;
        }
        return 0;
}

static int ota_message(const char *id, json_object *params, char **ret)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();

        if (!params)
                return -ENOMEM;
        if (!o || !id) {
                json_object_put(params);
                return -ENOMEM;
        }
        if (alink_json_add(o, "id", json_object_new_string(id)) < 0 ||
                alink_json_add(o, "params", params) < 0)
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}

int alink_build_ota_inform(const char *id, const char *version, const char *module, char **ret)
{
        json_object *p = json_object_new_object();

        if (p && (alink_json_add(p, "version", json_object_new_string(version)) < 0 ||
                         (module && alink_json_add(p, "module", json_object_new_string(module)) < 0))) {
                json_object_put(p);
                return -ENOMEM;
        }
        return ota_message(id, p, ret);
}

int alink_build_ota_progress(const char *id, int step, const char *desc, const char *module, char **ret)
{
        json_object *p = json_object_new_object();
        char s[16];

        (void) snprintf(s, sizeof(s), "%d", step);
        if (p && (alink_json_add(p, "step", json_object_new_string(s)) < 0 ||
                         alink_json_add(p, "desc", json_object_new_string(strempty(desc))) < 0 ||
                         (module && alink_json_add(p, "module", json_object_new_string(module)) < 0))) {
                json_object_put(p);
                return -ENOMEM;
        }
        return ota_message(id, p, ret);
}

int alink_build_ota_firmware_get(const char *id, const char *module, char **ret)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        json_object *p;

        /* SDK 4 sends only id and params; the documentation's version and method are harmless (§3.4). */
        if (!o || !id)
                return -ENOMEM;
        p = json_object_new_object();
        if (alink_json_add(o, "id", json_object_new_string(id)) < 0 ||
                alink_json_add(o, "version", json_object_new_string("1.0")) < 0 ||
                alink_json_add(o, "params", p) < 0 ||
                (module && alink_json_add(p, "module", json_object_new_string(module)) < 0) ||
                alink_json_add(o, "method", json_object_new_string("thing.ota.firmware.get")) < 0)
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}
