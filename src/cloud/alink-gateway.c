/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alink-gateway.c: topology and sessions of sub-devices (alink-gateway.h says what it promises). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alink-gateway.h"
#include "alink-internal.h"
#include "alink-sign.h"
#include "string-util.h"

int alink_gateway_topics_init(AlinkGatewayTopics *t, const char *pk, const char *dn)
{
        AlinkGatewayTopics n = {};

        if (isempty(pk) || isempty(dn))
                return -EINVAL;
        if (asprintf(&n.topo_add, "/sys/%s/%s/thing/topo/add", pk, dn) < 0 ||
                asprintf(&n.topo_add_reply, "/sys/%s/%s/thing/topo/add_reply", pk, dn) < 0 ||
                asprintf(&n.topo_get, "/sys/%s/%s/thing/topo/get", pk, dn) < 0 ||
                asprintf(&n.topo_get_reply, "/sys/%s/%s/thing/topo/get_reply", pk, dn) < 0 ||
                asprintf(&n.topo_delete, "/sys/%s/%s/thing/topo/delete", pk, dn) < 0 ||
                asprintf(&n.topo_delete_reply, "/sys/%s/%s/thing/topo/delete_reply", pk, dn) < 0 ||
                asprintf(&n.topo_change, "/sys/%s/%s/thing/topo/change", pk, dn) < 0 ||
                asprintf(&n.login, "/ext/session/%s/%s/combine/batch_login", pk, dn) < 0 ||
                asprintf(&n.login_reply, "/ext/session/%s/%s/combine/batch_login_reply", pk, dn) < 0 ||
                asprintf(&n.logout, "/ext/session/%s/%s/combine/batch_logout", pk, dn) < 0 ||
                asprintf(&n.logout_reply, "/ext/session/%s/%s/combine/batch_logout_reply", pk, dn) < 0 ||
                asprintf(&n.error, "/ext/error/%s/%s", pk, dn) < 0) {
                alink_gateway_topics_done(&n);
                return -ENOMEM;
        }
        *t = n;
        return 0;
}

void alink_gateway_topics_done(AlinkGatewayTopics *t)
{
        free(t->topo_add);
        free(t->topo_add_reply);
        free(t->topo_get);
        free(t->topo_get_reply);
        free(t->topo_delete);
        free(t->topo_delete_reply);
        free(t->topo_change);
        free(t->login);
        free(t->login_reply);
        free(t->logout);
        free(t->logout_reply);
        free(t->error);
        *t = (AlinkGatewayTopics){};
}

AlinkGatewayTopicKind alink_gateway_topic_classify(const AlinkGatewayTopics *t, const char *topic)
{
        const struct {
                const char *topic;
                AlinkGatewayTopicKind kind;
        } table[] = {
                {t->topo_add_reply, ALINK_GATEWAY_TOPIC_TOPO_ADD_REPLY},
                {t->topo_get_reply, ALINK_GATEWAY_TOPIC_TOPO_GET_REPLY},
                {t->topo_delete_reply, ALINK_GATEWAY_TOPIC_TOPO_DELETE_REPLY},
                {t->topo_change, ALINK_GATEWAY_TOPIC_TOPO_CHANGE},
                {t->login_reply, ALINK_GATEWAY_TOPIC_LOGIN_REPLY},
                {t->logout_reply, ALINK_GATEWAY_TOPIC_LOGOUT_REPLY},
                {t->error, ALINK_GATEWAY_TOPIC_ERROR},
        };

        for (size_t i = 0; topic && i < ELEMENTSOF(table); i++)
                if (streq_ptr(table[i].topic, topic))
                        return table[i].kind;
        return ALINK_GATEWAY_TOPIC_UNKNOWN;
}

/* Two topic levels from s on: "pk/dn/..." (each non-empty). */
static int two_levels(const char *s, char **ret_pk, char **ret_dn)
{
        size_t a = strcspn(s, "/"), b;

        if (a == 0 || s[a] != '/')
                return -EINVAL;
        b = strcspn(s + a + 1, "/");
        if (b == 0)
                return -EINVAL;
        *ret_pk = strndup(s, a);
        *ret_dn = strndup(s + a + 1, b);
        if (!*ret_pk || !*ret_dn) {
                *ret_pk = mfree(*ret_pk);
                *ret_dn = mfree(*ret_dn);
                return -ENOMEM;
        }
        return 0;
}

int alink_topic_device(const char *topic, char **ret_pk, char **ret_dn)
{
        const char *s = topic;

        *ret_pk = *ret_dn = NULL;
        if (!s || s[0] != '/')
                return -EINVAL;
        if (strncmp(s, "/ext/rrpc/", 10) == 0) {
                s = strchr(s + 10, '/');
                if (!s)
                        return -EINVAL;
        }
        if (strncmp(s, "/sys/", 5) == 0)
                return two_levels(s + 5, ret_pk, ret_dn);
        if (strncmp(s, "/ota/device/", 12) == 0) {
                s = strchr(s + 12, '/');
                return s ? two_levels(s + 1, ret_pk, ret_dn) : -EINVAL;
        }
        if (strncmp(s, "/ext/", 5) == 0)
                return -EINVAL;
        return two_levels(s + 1, ret_pk, ret_dn);
}

static json_object *device_id_object(const AlinkSubdevice *s)
{
        json_object *o = json_object_new_object();

        if (!o || alink_json_add(o, "productKey", json_object_new_string(s->product_key)) < 0 ||
                alink_json_add(o, "deviceName", json_object_new_string(s->device_name)) < 0) {
                json_object_put(o);
                return NULL;
        }
        return o;
}

/* One signed entry of topo/add (login = false) or batch_login (login = true). */
static json_object *signed_entry(const AlinkSubdevice *s, uint64_t timestamp_ms, bool login)
{
        _cleanup_(freep) char *client_id = NULL, *sign = NULL;
        _cleanup_(json_object_putp) json_object *o = device_id_object(s);
        char ts[32];

        if (!o)
                return NULL;
        (void) snprintf(ts, sizeof(ts), "%" PRIu64, timestamp_ms);
        /* The client id is signed exactly as it is sent; "_ss=1" asks the platform to route the
         * sub-device's system topics to the gateway without a SUBSCRIBE (auto-subscription,
         * https://help.aliyun.com/document_detail/197770.htm). */
        if (asprintf(&client_id, login ? "%s.%s|_ss=1|" : "%s.%s", s->product_key, s->device_name) < 0 ||
                alink_sign_subdevice(ALINK_SIGN_HMACSHA256, s->device_secret, client_id, s->product_key,
                        s->device_name, ts, &sign) < 0)
                return NULL;
        if (alink_json_add(o, "clientId", json_object_new_string(client_id)) < 0 ||
                alink_json_add(o, "timestamp", json_object_new_string(ts)) < 0 ||
                alink_json_add(o, "sign", json_object_new_string(sign)) < 0)
                return NULL;
        if (login ? alink_json_add(o, "cleanSession", json_object_new_string("false")) < 0
                  : alink_json_add(o, "signmethod", json_object_new_string("hmacSha256")) < 0)
                return NULL;
        explicit_bzero(sign, strlen(sign));
        return TAKE_PTR(o);
}

/* A request whose params is the list of the n entries make() builds. */
/* kind 0: {productKey, deviceName} entries; 1: signed topo/add entries. */
static int build_list(const char *id, const char *method, const AlinkSubdevice *s, size_t n, size_t max,
        uint64_t timestamp_ms, int kind, char **ret)
{
        _cleanup_(json_object_putp) json_object *o = NULL, *list = NULL;

        if (!s || n == 0 || n > max)
                return -EINVAL;
        o = alink_request_envelope(id, method, /* ack= */ false);
        list = json_object_new_array();
        if (!o || !list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e =
                        kind == 0 ? device_id_object(&s[i]) : signed_entry(&s[i], timestamp_ms, false);

                if (!e)
                        return -ENOMEM;
                if (json_object_array_add(list, e) < 0) {
                        json_object_put(e);
                        return -ENOMEM;
                }
        }
        if (alink_json_add(o, "params", TAKE_PTR(list)) < 0)
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}

int alink_build_topo_add(
        const char *id, const AlinkSubdevice *s, size_t n, uint64_t timestamp_ms, char **ret)
{
        return build_list(id, "thing.topo.add", s, n, ALINK_TOPO_ADD_MAX, timestamp_ms, 1, ret);
}

int alink_build_topo_delete(const char *id, const AlinkSubdevice *s, size_t n, char **ret)
{
        return build_list(id, "thing.topo.delete", s, n, SIZE_MAX, 0, 0, ret);
}

int alink_build_batch_logout(const char *id, const AlinkSubdevice *s, size_t n, char **ret)
{
        return build_list(id, "combine.batch_logout", s, n, SIZE_MAX, 0, 0, ret);
}

int alink_build_topo_get(const char *id, char **ret)
{
        _cleanup_(json_object_putp) json_object *o = alink_request_envelope(id, "thing.topo.get", false);

        if (!o || alink_json_add(o, "params", json_object_new_object()) < 0)
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}

int alink_build_batch_login(
        const char *id, const AlinkSubdevice *s, size_t n, uint64_t timestamp_ms, char **ret)
{
        _cleanup_(json_object_putp) json_object *o = NULL, *params = NULL, *list = json_object_new_array();

        if (!s || n == 0 || n > ALINK_BATCH_LOGIN_MAX)
                return -EINVAL;
        if (!list)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = signed_entry(&s[i], timestamp_ms, /* login= */ true);

                if (!e || json_object_array_add(list, e) < 0) {
                        json_object_put(e);
                        return -ENOMEM;
                }
        }
        o = alink_request_envelope(id, "combine.batch_login", /* ack= */ false);
        params = json_object_new_object();
        if (!o || !params ||
                alink_json_add(params, "signMethod", json_object_new_string("hmacSha256")) < 0 ||
                alink_json_add(params, "deviceList", TAKE_PTR(list)) < 0 ||
                alink_json_add(o, "params", TAKE_PTR(params)) < 0)
                return -ENOMEM;
        return alink_json_to_string(o, ret);
}

void alink_gateway_reply_done(AlinkGatewayReply *r)
{
        free(r->id);
        free(r->message);
        for (size_t i = 0; i < r->n_devices; i++) {
                free(r->devices[i].product_key);
                free(r->devices[i].device_name);
        }
        free(r->devices);
        *r = (AlinkGatewayReply){};
}

/* {productKey, deviceName} objects from v: an array of them, or one. Anything else is skipped. */
static int read_devices(json_object *v, AlinkGatewayReply *r)
{
        size_t n = json_object_is_type(v, json_type_array) ? json_object_array_length(v) : 1;

        if (!v || n == 0)
                return 0;
        if (n > 100000)
                n = 100000;
        r->devices = calloc(n, sizeof(AlinkDeviceId));
        if (!r->devices)
                return -ENOMEM;
        for (size_t i = 0; i < n; i++) {
                json_object *e = json_object_is_type(v, json_type_array) ? json_object_array_get_idx(v, i)
                                                                         : v,
                            *pk, *dn;
                AlinkDeviceId *d = &r->devices[r->n_devices];

                if (!json_object_is_type(e, json_type_object) ||
                        !json_object_object_get_ex(e, "productKey", &pk) ||
                        !json_object_object_get_ex(e, "deviceName", &dn) ||
                        !json_object_is_type(pk, json_type_string) ||
                        !json_object_is_type(dn, json_type_string) || json_object_get_string_len(pk) == 0 ||
                        json_object_get_string_len(dn) == 0)
                        continue;
                d->product_key = strdup(json_object_get_string(pk));
                d->device_name = strdup(json_object_get_string(dn));
                r->n_devices++;
                if (!d->product_key || !d->device_name)
                        return -ENOMEM;
        }
        return 0;
}

int alink_parse_gateway_reply(const void *payload, size_t len, AlinkGatewayReply *r, char **ret_error)
{
        _cleanup_(alink_reply_done) AlinkReply reply = {};
        int rr;

        *r = (AlinkGatewayReply){.status = -1};
        rr = alink_parse_reply(payload, len, &reply, ret_error);
        if (rr != 0)
                return rr;
        r->id = TAKE_PTR(reply.id);
        r->code = reply.code;
        r->message = TAKE_PTR(reply.message);
        return read_devices(reply.data, r);
}

int alink_parse_topo_change(const void *payload, size_t len, AlinkGatewayReply *r, char **ret_error)
{
        _cleanup_(json_object_putp) json_object *o = NULL;
        json_object *params, *status, *list;
        int rr;

        *r = (AlinkGatewayReply){.status = -1};
        rr = alink_parse_json_object(payload, len, &o, ret_error);
        if (rr != 0)
                return rr;
        (void) alink_read_id(o, &r->id, NULL);
        if (!json_object_object_get_ex(o, "params", &params) ||
                !json_object_is_type(params, json_type_object))
                return alink_json_error(ret_error, "params must be an object");
        if (!json_object_object_get_ex(params, "status", &status))
                return alink_json_error(ret_error, "params.status is missing");
        rr = alink_json_get_uint(status, "params.status", 0, 255, &r->status, ret_error);
        if (rr != 0)
                return rr;
        if (!json_object_object_get_ex(params, "subList", &list) ||
                !json_object_is_type(list, json_type_array))
                return alink_json_error(ret_error, "params.subList must be an array");
        return read_devices(list, r);
}
