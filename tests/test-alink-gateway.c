/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The gateway's messages for its sub-devices: topics, signed topo/add and batch_login (known answers
 * computed with `openssl dgst -sha256 -hmac`), and the platform's replies in both spellings. */
#include <json-c/json.h>
#include <string.h>

#include "alink-gateway.h"
#include "test.h"

static const AlinkSubdevice lamp = {"a1Sub", "lamp01", "sub-secret-1"};

TEST(gateway_topics)
{
        AlinkGatewayTopics t = {};

        CHECK(alink_gateway_topics_init(&t, "a1Gw", "gw1") == 0);
        CHECK_STREQ(t.topo_add, "/sys/a1Gw/gw1/thing/topo/add");
        CHECK_STREQ(t.login, "/ext/session/a1Gw/gw1/combine/batch_login");
        CHECK_STREQ(t.logout, "/ext/session/a1Gw/gw1/combine/batch_logout");
        CHECK(alink_gateway_topic_classify(&t, "/sys/a1Gw/gw1/thing/topo/add_reply") ==
                ALINK_GATEWAY_TOPIC_TOPO_ADD_REPLY);
        CHECK(alink_gateway_topic_classify(&t, "/ext/session/a1Gw/gw1/combine/batch_login_reply") ==
                ALINK_GATEWAY_TOPIC_LOGIN_REPLY);
        CHECK(alink_gateway_topic_classify(&t, "/ext/error/a1Gw/gw1") == ALINK_GATEWAY_TOPIC_ERROR);
        CHECK(alink_gateway_topic_classify(&t, "/sys/a1Gw/gw1/thing/topo/change") ==
                ALINK_GATEWAY_TOPIC_TOPO_CHANGE);
        CHECK(alink_gateway_topic_classify(&t, "/sys/a1Gw/gw2/thing/topo/add_reply") ==
                ALINK_GATEWAY_TOPIC_UNKNOWN);
        CHECK(alink_gateway_topic_classify(&t, NULL) == ALINK_GATEWAY_TOPIC_UNKNOWN);
        alink_gateway_topics_done(&t);
}

static void check_device(const char *topic, const char *pk, const char *dn)
{
        _cleanup_(freep) char *p = NULL, *d = NULL;

        if (!pk) {
                CHECK(alink_topic_device(topic, &p, &d) == -EINVAL);
                CHECK(!p && !d);
                return;
        }
        CHECK(alink_topic_device(topic, &p, &d) == 0);
        CHECK_STREQ(p, pk);
        CHECK_STREQ(d, dn);
}

TEST(topic_device)
{
        check_device("/sys/a1Sub/lamp01/thing/service/property/set", "a1Sub", "lamp01");
        check_device("/ext/rrpc/123/sys/a1Sub/lamp01/thing/service/Get", "a1Sub", "lamp01");
        check_device("/a1Sub/lamp01/user/data", "a1Sub", "lamp01");
        check_device("/ota/device/upgrade/a1Sub/lamp01", "a1Sub", "lamp01");
        check_device("/ext/session/a1Gw/gw1/combine/batch_login_reply", NULL, NULL);
        check_device("/sys//lamp01/x", NULL, NULL);
        check_device("/sys/a1Sub", NULL, NULL);
        check_device("/ext/rrpc/123", NULL, NULL);
        check_device("relative/topic", NULL, NULL);
        check_device(NULL, NULL, NULL);
}

static json_object *parse(const char *s)
{
        json_object *o = json_tokener_parse(s);

        CHECK(o != NULL);
        return o;
}

static const char *member_string(json_object *o, const char *key)
{
        json_object *v;

        CHECK(json_object_object_get_ex(o, key, &v));
        return json_object_get_string(v);
}

TEST(topo_add_and_login_signed)
{
        _cleanup_(freep) char *add = NULL, *login = NULL, *logout = NULL, *get = NULL;
        json_object *o, *params, *e;

        CHECK(alink_build_topo_add("7", &lamp, 1, 1700000000000, &add) == 0);
        o = parse(add);
        CHECK_STREQ(member_string(o, "method"), "thing.topo.add");
        CHECK(json_object_object_get_ex(o, "params", &params) && json_object_array_length(params) == 1);
        e = json_object_array_get_idx(params, 0);
        CHECK_STREQ(member_string(e, "productKey"), "a1Sub");
        CHECK_STREQ(member_string(e, "clientId"), "a1Sub.lamp01");
        CHECK_STREQ(member_string(e, "timestamp"), "1700000000000");
        CHECK_STREQ(member_string(e, "signmethod"), "hmacSha256");
        CHECK_STREQ(member_string(e, "sign"),
                "6fbc745956ee024e5c6fa71e7717958c7c144efc43b369ddaa6ce406050b270f");
        json_object_put(o);

        CHECK(alink_build_batch_login("8", &lamp, 1, 1700000000000, &login) == 0);
        o = parse(login);
        CHECK(json_object_object_get_ex(o, "params", &params));
        CHECK_STREQ(member_string(params, "signMethod"), "hmacSha256");
        CHECK(json_object_object_get_ex(params, "deviceList", &params) &&
                json_object_array_length(params) == 1);
        e = json_object_array_get_idx(params, 0);
        /* Signed with the client id exactly as sent, _ss=1 included; cleanSession is not signed. */
        CHECK_STREQ(member_string(e, "clientId"), "a1Sub.lamp01|_ss=1|");
        CHECK_STREQ(member_string(e, "cleanSession"), "false");
        CHECK_STREQ(member_string(e, "sign"),
                "1d03c77fe56eee569f9ab3797deb632b24da3b46b9d5e2727930d103469ff20d");
        json_object_put(o);

        CHECK(alink_build_batch_logout("9", &lamp, 1, &logout) == 0);
        CHECK(strstr(logout, "\"params\":[{\"productKey\":\"a1Sub\",\"deviceName\":\"lamp01\"}]") != NULL);
        CHECK(strstr(logout, "sub-secret") == NULL);
        CHECK(alink_build_topo_get("10", &get) == 0);
        CHECK(strstr(get, "\"params\":{}") != NULL);

        /* The platform's limits per request. */
        AlinkSubdevice many[ALINK_BATCH_LOGIN_MAX + 1];
        char *out = NULL;
        for (size_t i = 0; i < ELEMENTSOF(many); i++)
                many[i] = lamp;
        CHECK(alink_build_topo_add("1", many, ALINK_TOPO_ADD_MAX + 1, 1, &out) == -EINVAL);
        CHECK(alink_build_batch_login("1", many, ALINK_BATCH_LOGIN_MAX + 1, 1, &out) == -EINVAL);
        CHECK(alink_build_batch_login("1", many, 0, 1, &out) == -EINVAL);
        CHECK(alink_build_batch_login("1", many, ALINK_BATCH_LOGIN_MAX, 1, &out) == 0);
        free(out);
}

TEST(gateway_replies)
{
        AlinkGatewayReply r;
        _cleanup_(freep) char *error = NULL;
        const char *ok =
                "{\"id\":\"8\",\"code\":200,\"message\":\"success\",\"data\":[{\"productKey\":\"a1Sub\","
                "\"deviceName\":\"lamp01\"},{\"productKey\":\"a1Sub\",\"deviceName\":\"lamp02\"},7]}";
        const char *str =
                "{\"id\":\"9\",\"code\":\"6287\",\"message\":\"invalid sign\",\"data\":{\"productKey\":"
                "\"a1Sub\",\"deviceName\":\"lamp03\"}}";
        const char *bad_status = "{\"id\":\"1\",\"params\":{\"status\":\"x\",\"subList\":[]}}";
        const char *change =
                "{\"id\":\"3\",\"version\":\"1.0\",\"method\":\"thing.topo.change\",\"params\":{"
                "\"status\":8,\"subList\":[{\"productKey\":\"a1Sub\",\"deviceName\":\"lamp01\"}]}}";

        CHECK(alink_parse_gateway_reply(ok, strlen(ok), &r, &error) == 0);
        CHECK(r.code == 200 && r.n_devices == 2);
        CHECK_STREQ(r.devices[1].device_name, "lamp02");
        alink_gateway_reply_done(&r);

        /* Codes as strings, data as one object (the doc's examples). */
        CHECK(alink_parse_gateway_reply(str, strlen(str), &r, &error) == 0);
        CHECK(r.code == 6287 && r.n_devices == 1);
        CHECK_STREQ(r.devices[0].device_name, "lamp03");
        CHECK_STREQ(r.message, "invalid sign");
        alink_gateway_reply_done(&r);

        CHECK(alink_parse_topo_change(change, strlen(change), &r, &error) == 0);
        CHECK(r.status == 8 && r.n_devices == 1);
        alink_gateway_reply_done(&r);

        CHECK(alink_parse_gateway_reply("{\"id\":\"1\"}", 10, &r, &error) == ALINK_E_INVALID);
        alink_gateway_reply_done(&r);
        error = mfree(error);
        CHECK(alink_parse_topo_change(bad_status, strlen(bad_status), &r, &error) == ALINK_E_INVALID);
        alink_gateway_reply_done(&r);
}
