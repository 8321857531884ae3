/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-alink.c: Alink topics and JSON: strings vs numbers, bad JSON, wrong types, out-of-range values. */
#include <json-c/json.h>

#include "alink.h"
#include "led-json.h"
#include "test.h"

/* What the daemon does with a property set: the codec reads the envelope, the light its properties. */
typedef struct TestSet {
        AlinkPropertySet set;
        char *id;
        LedChange change;
} TestSet;

static int parse_set(const char *s, size_t len, const LedModel *m, TestSet *t, char **error)
{
        int r;

        *t = (TestSet){};
        r = alink_parse_property_set(s, len, &t->set, error);
        t->id = t->set.id;
        if (r == 0)
                r = led_change_from_params(m, t->set.params, &t->change, error);
        return r;
}

static void test_set_done(TestSet *t)
{
        alink_property_set_done(&t->set);
        t->id = NULL;
}

static int build_post(const char *id, const LedModel *m, const LedState *st, char **ret)
{
        struct json_object *params;
        int r = led_params_new(m, st, &params);

        return r < 0 ? r : alink_build_property_post_object(id, params, ret);
}

static LedModel model = {.switch_property = "LightSwitch", .color_property = "RGBColor"};
static LedModel model_b = {
        .switch_property = "LightSwitch", .color_property = "RGBColor", .brightness_property = "Brightness"};

/* Parse s; expect ALINK_E_INVALID with an error containing want (and the id when given). */
static void expect_invalid(const LedModel *m, const char *s, const char *want, const char *want_id)
{
        TestSet ps;
        char *error = NULL;
        int r = parse_set(s, strlen(s), m, &ps, &error);

        if (r != ALINK_E_INVALID) {
                fprintf(stderr, "expected ALINK_E_INVALID for %s, got %d\n", s, r);
                abort();
        }
        CHECK_CONTAINS(error, want);
        if (want_id)
                CHECK_STREQ(ps.id, want_id);
        else
                CHECK(ps.id == NULL);
        free(error);
        test_set_done(&ps);
}

/* s holds an integer beyond 64 bits. json-c before 0.17 saturates it, and the check of that value says
 * want; 0.17 and later refuse the whole message in strict mode. Refused either way, with the reason. */
static void expect_invalid_huge(const LedModel *m, const char *s, const char *want)
{
        TestSet ps;
        char *error = NULL;
        int r = parse_set(s, strlen(s), m, &ps, &error);

        CHECK(r == ALINK_E_INVALID);
        if (!error || (!strstr(error, want) && !strstr(error, "integer out of range"))) {
                fprintf(stderr, "%s: \"%s\" says neither \"%s\" nor \"integer out of range\"\n", s,
                        error ? error : "(null)", want);
                abort();
        }
        free(error);
        test_set_done(&ps);
}

static TestSet expect_valid(const LedModel *m, const char *s)
{
        TestSet ps;
        char *error = NULL;
        int r = parse_set(s, strlen(s), m, &ps, &error);

        if (r != 0) {
                fprintf(stderr, "expected %s to parse, got %d: %s\n", s, r, error ? error : "");
                abort();
        }
        return ps;
}

TEST(topics)
{
        AlinkTopics t = ALINK_TOPICS_NULL;
        const char *name;
        size_t len;

        CHECK(alink_topics_init(&t, "pk1", "dev-1") == 0);
        CHECK_STREQ(t.property_set, "/sys/pk1/dev-1/thing/service/property/set");
        CHECK_STREQ(t.property_set_reply, "/sys/pk1/dev-1/thing/service/property/set_reply");
        CHECK_STREQ(t.property_post, "/sys/pk1/dev-1/thing/event/property/post");
        CHECK_STREQ(t.event_post_reply, "/sys/pk1/dev-1/thing/event/+/post_reply");
        CHECK_STREQ(t.service, "/sys/pk1/dev-1/thing/service/+");

        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/thing/service/property/set", &name, &len) ==
                ALINK_TOPIC_PROPERTY_SET);
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/thing/event/property/post_reply", &name, &len) ==
                ALINK_TOPIC_EVENT_POST_REPLY);
        CHECK(len == 8 && strncmp(name, "property", len) == 0);
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/thing/service/reboot", &name, &len) ==
                ALINK_TOPIC_SERVICE);
        CHECK_STREQ(name, "reboot");
        /* Our own replies come back through thing/service/+: never treat them as requests. */
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/thing/service/reboot_reply", &name, &len) ==
                ALINK_TOPIC_UNKNOWN);
        CHECK(alink_topic_classify(&t, "/pk1/dev-1/user/data", &name, &len) == ALINK_TOPIC_USER);
        CHECK_STREQ(name, "data");
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-2/thing/service/property/set", &name, &len) ==
                ALINK_TOPIC_UNKNOWN);
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/thing/service/property/set/x", &name, &len) ==
                ALINK_TOPIC_UNKNOWN);
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/thing/event//post_reply", &name, &len) ==
                ALINK_TOPIC_UNKNOWN);
        CHECK(alink_topic_classify(&t, "/pk1/dev-1/user/", &name, &len) == ALINK_TOPIC_UNKNOWN);
        CHECK(alink_topic_classify(&t, NULL, &name, &len) == ALINK_TOPIC_UNKNOWN);
        alink_topics_done(&t);
}

TEST(rrpc_and_desired_topics)
{
        AlinkTopics t = ALINK_TOPICS_NULL;
        _cleanup_(freep) char *resp = NULL, *ev = NULL;
        const char *name;
        size_t len;

        CHECK(alink_topics_init(&t, "pk1", "dev-1") == 0);
        CHECK_STREQ(t.rrpc_service, "/ext/rrpc/+/sys/pk1/dev-1/thing/service/+");
        CHECK_STREQ(t.rrpc_request, "/sys/pk1/dev-1/rrpc/request/+");
        CHECK_STREQ(t.desired_get, "/sys/pk1/dev-1/thing/property/desired/get");
        /* Link SDK 4's form: the service is the last level, the reply goes to the same topic. */
        CHECK(alink_topic_classify(&t, "/ext/rrpc/1234/sys/pk1/dev-1/thing/service/GetReport", &name,
                      &len) == ALINK_TOPIC_RRPC_SERVICE);
        CHECK(len == 9 && strncmp(name, "GetReport", len) == 0);
        CHECK(alink_topic_classify(&t, "/ext/rrpc/1234/sys/pk1/dev-2/thing/service/GetReport", &name,
                      &len) == ALINK_TOPIC_UNKNOWN);
        CHECK(alink_topic_classify(&t, "/ext/rrpc//sys/pk1/dev-1/thing/service/GetReport", &name, &len) ==
                ALINK_TOPIC_UNKNOWN);
        CHECK(alink_topic_classify(&t, "/ext/rrpc/1/sys/pk1/dev-1/thing/service/a/b", &name, &len) ==
                ALINK_TOPIC_UNKNOWN);
        CHECK(alink_topic_classify(&t, "/ext/rrpc/1/pk1/dev-1/user/x", &name, &len) == ALINK_TOPIC_UNKNOWN);
        /* The older form: the message id is the last level. */
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/rrpc/request/5678", &name, &len) ==
                ALINK_TOPIC_RRPC_REQUEST);
        CHECK(len == 4 && strncmp(name, "5678", len) == 0);
        CHECK(alink_topic_rrpc_response(&t, name, len, &resp) == 0);
        CHECK_STREQ(resp, "/sys/pk1/dev-1/rrpc/response/5678");
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/rrpc/request/", &name, &len) == ALINK_TOPIC_UNKNOWN);
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/rrpc/request/1/2", &name, &len) ==
                ALINK_TOPIC_UNKNOWN);
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/thing/property/desired/get_reply", &name, &len) ==
                ALINK_TOPIC_DESIRED_GET_REPLY);
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/thing/property/desired/delete_reply", &name, &len) ==
                ALINK_TOPIC_DESIRED_DELETE_REPLY);
        CHECK(alink_topic_event_post(&t, "Fault", &ev) == 0);
        CHECK_STREQ(ev, "/sys/pk1/dev-1/thing/event/Fault/post");
        alink_topics_done(&t);
}

TEST(service_requests)
{
        AlinkRequest r;
        _cleanup_(freep) char *error = NULL;
        const char *call = "{\"id\":\"9\",\"version\":\"1.0\",\"method\":\"thing.service.Reboot\","
                           "\"params\":{\"Delay\":5}}";

        CHECK(alink_parse_request(call, strlen(call), &r, &error) == 0);
        CHECK_STREQ(r.id, "9");
        CHECK_STREQ(alink_method_service(r.method), "Reboot");
        CHECK(json_object_object_length(r.params) == 1);
        CHECK(!r.is_reply);
        alink_request_done(&r);

        /* No params: an empty object; a numeric id is read as the string. */
        CHECK(alink_parse_request("{\"id\":12}", strlen("{\"id\":12}"), &r, &error) == 0);
        CHECK_STREQ(r.id, "12");
        CHECK(r.method == NULL && json_object_object_length(r.params) == 0);
        alink_request_done(&r);

        /* An answer echoed back on an RRPC topic. */
        CHECK(alink_parse_request("{\"id\":\"1\",\"code\":200,\"data\":{}}",
                      strlen("{\"id\":\"1\",\"code\":200,\"data\":{}}"), &r, &error) == 0);
        CHECK(r.is_reply);
        alink_request_done(&r);

        CHECK(alink_parse_request("{\"id\":\"3\",\"params\":[1]}", strlen("{\"id\":\"3\",\"params\":[1]}"),
                      &r, &error) == ALINK_E_INVALID);
        CHECK_STREQ(r.id, "3");
        CHECK_STREQ(error, "params must be an object");
        alink_request_done(&r);
        error = mfree(error);
        CHECK(alink_parse_request("{\"id\":\"3\",\"method\":7}", strlen("{\"id\":\"3\",\"method\":7}"), &r,
                      &error) == ALINK_E_INVALID);
        alink_request_done(&r);

        CHECK(alink_method_service("thing.service.") == NULL);
        CHECK(alink_method_service("thing.event.x.post") == NULL);
        CHECK(alink_method_service(NULL) == NULL);
}

static void count_refusal(const char *identifier, const char *reason, void *userdata)
{
        unsigned *n = userdata;

        CHECK(streq(identifier, "Humidity") || streq(identifier, "Speed"));
        CHECK_STREQ(reason, "tsl parse: params not exist");
        (*n)++;
}

TEST(thing_builders_and_feedback)
{
        _cleanup_(freep) char *out = NULL, *error = NULL;
        char *ids[] = {(char *) "Mode", (char *) "Label", NULL};
        AlinkReply reply;
        unsigned n = 0;
        json_object *data = json_object_new_object();

        json_object_object_add(data, "Uptime", json_object_new_int(42));
        CHECK(alink_build_reply_data("7", 200, NULL, data, &out) == 0);
        CHECK_STREQ(out, "{\"id\":\"7\",\"code\":200,\"data\":{\"Uptime\":42}}");
        out = mfree(out);

        data = json_object_new_object();
        json_object_object_add(data, "Code", json_object_new_int(3));
        CHECK(alink_build_event_post("8", "Fault", data, 1700000000000, &out) == 0);
        CHECK_STREQ(out,
                "{\"id\":\"8\",\"version\":\"1.0\",\"sys\":{\"ack\":1},\"method\":"
                "\"thing.event.Fault.post\",\"params\":{\"value\":{\"Code\":3},\"time\":1700000000000}}");
        out = mfree(out);

        CHECK(alink_build_desired_get("9", ids, &out) == 0);
        CHECK_STREQ(out, "{\"id\":\"9\",\"version\":\"1.0\",\"sys\":{\"ack\":1},\"method\":"
                         "\"thing.property.desired.get\",\"params\":[\"Mode\",\"Label\"]}");
        out = mfree(out);

        /* The platform's 200 that still drops properties. */
        const char *pr = "{\"id\":\"5\",\"code\":200,\"data\":{\"Humidity\":\"tsl parse: params not exist\","
                         "\"Speed\":\"tsl parse: params not exist\",\"n\":1},\"message\":\"success\"}";
        CHECK(alink_parse_reply(pr, strlen(pr), &reply, &error) == 0);
        CHECK(alink_reply_foreach_refusal(&reply, count_refusal, &n) == 2);
        CHECK(n == 2);
        alink_reply_done(&reply);
        CHECK(alink_parse_reply("{\"id\":\"5\",\"code\":200}", strlen("{\"id\":\"5\",\"code\":200}"), &reply,
                      &error) == 0);
        CHECK(alink_reply_foreach_refusal(&reply, count_refusal, &n) == 0);
        alink_reply_done(&reply);
}

TEST(property_set_seed_example)
{
        /* The seed's log: a string id and version "1.0.0". */
        TestSet ps = expect_valid(&model, "{\"method\": \"thing.service.property.set\",\"id\": "
                                          "\"36195462\",\"params\":{\"LightSwitch\":1},"
                                          "\"version\":\"1.0.0\"}");

        CHECK_STREQ(ps.id, "36195462");
        CHECK(ps.change.set_on && ps.change.value.on);
        CHECK(!ps.change.set_red && !ps.change.set_green && !ps.change.set_blue &&
                !ps.change.set_brightness);
        test_set_done(&ps);
}

TEST(property_set_color_and_numeric_id)
{
        TestSet ps = expect_valid(&model,
                "{\"id\":1626969597470,\"version\":\"1.0\",\"params\":{\"LightSwitch\":0,"
                "\"RGBColor\":{\"Red\":255,\"Green\":0,\"Blue\":128}}}");
        LedState s = LED_STATE_INIT;

        CHECK_STREQ(ps.id, "1626969597470");
        led_change_apply(&ps.change, &s);
        CHECK(!s.on && s.red == 255 && s.green == 0 && s.blue == 128 && s.brightness == 100);
        test_set_done(&ps);

        /* Booleans and integral doubles are whole numbers too; a partial colour keeps the other channels. */
        ps = expect_valid(
                &model, "{\"id\":\"7\",\"params\":{\"LightSwitch\":true,\"RGBColor\":{\"Green\":10.0}}}");
        CHECK(ps.change.set_on && ps.change.value.on && ps.change.set_green && !ps.change.set_red);
        CHECK(ps.change.value.green == 10);
        test_set_done(&ps);

        ps = expect_valid(&model_b, "{\"id\":\"8\",\"params\":{\"Brightness\":40}}");
        CHECK(ps.change.set_brightness && ps.change.value.brightness == 40);
        test_set_done(&ps);
}

TEST(property_set_invalid)
{
        expect_invalid(&model, "", "empty message", NULL);
        expect_invalid(&model, "{", "unexpected end", NULL);
        expect_invalid(&model, "not json", "invalid JSON", NULL);
        expect_invalid(&model, "{\"id\":\"1\",\"params\":{}} trailing", "invalid JSON", NULL);
        expect_invalid(&model, "[1,2]", "expected a JSON object", NULL);
        expect_invalid(&model, "{\"params\":{\"LightSwitch\":1}}", "missing id", NULL);
        expect_invalid(&model, "{\"id\":-5,\"params\":{}}", "invalid id", NULL);
        expect_invalid(&model, "{\"id\":{},\"params\":{}}", "invalid id", NULL);
        expect_invalid_huge(
                &model, "{\"id\":99999999999999999999999999,\"params\":{}}", "at most 15 digits");
        expect_invalid(&model, "{\"id\":1234567890123456,\"params\":{}}", "at most 15 digits", NULL);
        /* A malformed number is not mistaken for a big one. */
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{\"LightSwitch\":0099999999999999999999}}",
                "number expected", NULL);
        expect_invalid(&model, "{\"id\":\"\",\"params\":{}}", "invalid id", NULL);
        expect_invalid(&model, "{\"id\":\"9\"}", "missing params", "9");
        expect_invalid(&model, "{\"id\":\"9\",\"params\":[]}", "params must be an object", "9");
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{}}", "params is empty", "9");
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{\"Foo\":1}}", "unknown property \"Foo\"", "9");
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{\"Brightness\":1}}", "unknown property", "9");
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{\"LightSwitch\":2}}",
                "LightSwitch: 2 is out of range 0..1", "9");
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{\"LightSwitch\":\"1\"}}",
                "LightSwitch: expected a whole number", "9");
        expect_invalid(
                &model, "{\"id\":\"9\",\"params\":{\"LightSwitch\":0.5}}", "expected a whole number", "9");
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{\"RGBColor\":{\"Red\":300}}}",
                "RGBColor.Red: 300 is out of range 0..255", "9");
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{\"RGBColor\":{\"Red\":-1}}}", "out of range", "9");
        expect_invalid(
                &model, "{\"id\":\"9\",\"params\":{\"RGBColor\":{\"Red\":1e300}}}", "out of range", "9");
        expect_invalid_huge(&model,
                "{\"id\":\"9\",\"params\":{\"RGBColor\":{\"Red\":99999999999999999999999}}}",
                "RGBColor.Red");
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{\"RGBColor\":{\"Pink\":3}}}",
                "has no member \"Pink\"", "9");
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{\"RGBColor\":{}}}", "at least one of", "9");
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{\"RGBColor\":255}}", "expected an object", "9");
        expect_invalid(&model_b, "{\"id\":\"9\",\"params\":{\"Brightness\":101}}",
                "Brightness: 101 is out of range", "9");
        /* Invalid UTF-8 inside a string. */
        expect_invalid(&model, "{\"id\":\"9\",\"params\":{\"\xff\":1}}", "invalid JSON", NULL);
}

TEST(deep_and_large_input)
{
        char *deep = malloc(20000), *big;
        size_t n = 0;
        TestSet ps;
        char *error = NULL;

        CHECK(deep);
        n += (size_t) sprintf(deep, "{\"id\":\"1\",\"params\":{\"LightSwitch\":");
        for (int i = 0; i < 5000; i++)
                deep[n++] = '[';
        deep[n] = 0;
        expect_invalid(&model, deep, "invalid JSON", NULL);
        free(deep);

        big = malloc(ALINK_MAX_PAYLOAD + 2);
        CHECK(big);
        memset(big, ' ', ALINK_MAX_PAYLOAD + 1);
        big[ALINK_MAX_PAYLOAD + 1] = 0;
        CHECK(parse_set(big, ALINK_MAX_PAYLOAD + 1, &model, &ps, &error) == ALINK_E_INVALID);
        CHECK_CONTAINS(error, "exceeds");
        free(error);
        free(big);

        /* A key or string with an escaped NUL: json-c would cut "LightSwitch\u0000junk" to "LightSwitch". */
        expect_invalid(
                &model, "{\"id\":\"1\",\"params\":{\"LightSwitch\\u0000junk\":1}}", "NUL character", "1");
        expect_invalid(&model, "{\"id\":\"1\",\"params\":{\"RGBColor\":{\"Red\\u0000x\":1}}}",
                "NUL character", "1");
        /* An escaped backslash before u0000 is no NUL. */
        const char *escaped = "{\"id\":\"1\",\"params\":{\"LightSwitch\":1},\"x\":\"\\\\u0000\"}";
        CHECK(parse_set(escaped, strlen(escaped), &model, &ps, &error) == 0);
        test_set_done(&ps);

        /* Embedded NUL bytes in the payload: not JSON. */
        CHECK(parse_set("{\"id\":\"1\"\0}", 11, &model, &ps, &error) == ALINK_E_INVALID);
        free(error);
}

TEST(reply_and_post)
{
        char *s = NULL;
        LedState st = {.on = true, .red = 255, .green = 0, .blue = 128, .brightness = 100};

        CHECK(alink_build_reply("42", 200, NULL, &s) == 0);
        CHECK_STREQ(s, "{\"id\":\"42\",\"code\":200,\"data\":{}}");
        free(s);
        CHECK(alink_build_reply(NULL, 460, "invalid JSON", &s) == 0);
        CHECK_STREQ(s, "{\"code\":460,\"data\":{},\"message\":\"invalid JSON\"}");
        free(s);
        CHECK(alink_build_reply("1", 460, "say \"hi\"/ok", &s) == 0);
        CHECK_STREQ(s, "{\"id\":\"1\",\"code\":460,\"data\":{},\"message\":\"say \\\"hi\\\"/ok\"}");
        free(s);

        CHECK(build_post("5", &model, &st, &s) == 0);
        CHECK_STREQ(s,
                "{\"id\":\"5\",\"version\":\"1.0\",\"sys\":{\"ack\":1},\"method\":\"thing.event.property."
                "post\","
                "\"params\":{\"LightSwitch\":1,\"RGBColor\":{\"Red\":255,\"Green\":0,\"Blue\":128}}}");
        free(s);
        CHECK(build_post("6", &model_b, &st, &s) == 0);
        CHECK_CONTAINS(s, "\"Brightness\":100");
        free(s);
}

TEST(post_params_and_publish_topics)
{
        AlinkTopics t = ALINK_TOPICS_NULL;
        char *s = NULL, *error = NULL;

        CHECK(alink_build_property_post_params("9", "{\"Temperature\":21.5}", &s, &error) == 0);
        CHECK_STREQ(s, "{\"id\":\"9\",\"version\":\"1.0\",\"sys\":{\"ack\":1},\"method\":\"thing.event."
                       "property.post\","
                       "\"params\":{\"Temperature\":21.5}}");
        free(s);
        CHECK(alink_build_property_post_params("9", "{}", &s, &error) == ALINK_E_INVALID);
        CHECK_CONTAINS(error, "empty");
        free(error);
        CHECK(alink_build_property_post_params("9", "[1]", &s, &error) == ALINK_E_INVALID);
        free(error);
        CHECK(alink_build_property_post_params("9", "{\"a\":", &s, &error) == ALINK_E_INVALID);
        free(error);

        CHECK(alink_topics_init(&t, "pk", "dn") == 0);
        CHECK(alink_topic_publish_allowed(&t, "/pk/dn/user/data"));
        CHECK(alink_topic_publish_allowed(&t, "/pk/dn/user/a/b"));
        CHECK(alink_topic_publish_allowed(&t, "/sys/pk/dn/thing/event/alarm/post"));
        CHECK(!alink_topic_publish_allowed(&t, "/pk/dn/user/"));
        CHECK(!alink_topic_publish_allowed(&t, "/pk/other/user/data"));
        CHECK(!alink_topic_publish_allowed(&t, "/sys/pk/dn/thing/service/property/set_reply"));
        CHECK(!alink_topic_publish_allowed(&t, "/sys/pk/dn/thing/event/"));
        CHECK(!alink_topic_publish_allowed(&t, "/pk/dn/user/+"));
        CHECK(!alink_topic_publish_allowed(&t, "/pk/dn/user//x"));
        CHECK(!alink_topic_publish_allowed(&t, "/ota/device/inform/pk/dn"));
        CHECK(!alink_topic_publish_allowed(&t, NULL));
        alink_topics_done(&t);
}

TEST(merge_property_posts)
{
        char *s = NULL;

        CHECK(alink_merge_property_posts("{\"id\":\"1\",\"params\":{\"A\":1,\"B\":{\"x\":1}}}", false, 1000,
                      "{\"id\":\"2\",\"version\":\"1.0\",\"params\":{\"A\":2}}", 2000, &s) == 0);
        CHECK_STREQ(s, "{\"id\":\"2\",\"version\":\"1.0\",\"params\":{\"A\":{\"value\":2,\"time\":2000},"
                       "\"B\":{\"value\":{\"x\":1},\"time\":1000}}}");
        /* An already merged (timed) older post keeps its times. */
        {
                char *t = NULL;
                CHECK(alink_merge_property_posts(
                              s, true, 5, "{\"id\":\"3\",\"params\":{\"C\":true}}", 3000, &t) == 0);
                CHECK_STREQ(t, "{\"id\":\"3\",\"params\":{\"A\":{\"value\":2,\"time\":2000},\"B\":{"
                               "\"value\":{\"x\":1},"
                               "\"time\":1000},\"C\":{\"value\":true,\"time\":3000}}}");
                free(t);
        }
        free(s);
        CHECK(alink_merge_property_posts(
                      "{\"id\":\"1\"}", false, 1, "{\"id\":\"2\",\"params\":{}}", 2, &s) == ALINK_E_INVALID);
        CHECK(alink_merge_property_posts("nope", false, 1, "{}", 2, &s) == ALINK_E_INVALID);
}

TEST(parse_reply)
{
        AlinkReply r;
        char *error = NULL;
        const char *ok =
                "{\"code\":200,\"data\":{},\"id\":\"123\",\"message\":\"success\",\"version\":\"1.0\"}";
        const char *ota = "{\"code\":\"1000\",\"id\":1626969597470,\"message\":\"success\"}";
        const char *bad = "{\"code\":6813,\"id\":\"9\",\"message\":\"topic illegal\"}";

        CHECK(alink_parse_reply(ok, strlen(ok), &r, &error) == 0);
        CHECK(r.code == 200);
        CHECK_STREQ(r.id, "123");
        CHECK_STREQ(r.message, "success");
        alink_reply_done(&r);
        CHECK(alink_parse_reply(ota, strlen(ota), &r, &error) == 0);
        CHECK(r.code == 1000);
        CHECK_STREQ(r.id, "1626969597470");
        alink_reply_done(&r);
        CHECK(alink_parse_reply(bad, strlen(bad), &r, &error) == 0);
        CHECK(r.code == 6813);
        alink_reply_done(&r);
        CHECK(alink_parse_reply("{\"id\":\"1\"}", 10, &r, &error) == ALINK_E_INVALID);
        CHECK_CONTAINS(error, "missing code");
        free(error);
        alink_reply_done(&r);
}

TEST(request_id)
{
        char *id = NULL;

        CHECK(alink_parse_request_id("{\"id\":\"77\",\"params\":5}", 23, &id) == 0);
        CHECK_STREQ(id, "77");
        free(id);
        CHECK(alink_parse_request_id("nope", 4, &id) == ALINK_E_INVALID);
        CHECK(id == NULL);
}

/* ---- OTA (https://help.aliyun.com/document_detail/89307.htm) ---- */

#define PUSH_MD5 "93230c3bde425a9d7984a594ac56d6ff"

static AlinkOtaFirmware expect_ota(const char *s, bool reply)
{
        AlinkOtaFirmware f;
        char *error = NULL;
        int r = alink_parse_ota_upgrade(s, strlen(s), reply, &f, &error);

        if (r != 0) {
                fprintf(stderr, "expected %s to parse, got %d: %s\n", s, r, error ? error : "");
                abort();
        }
        return f;
}

static void expect_ota_invalid(const char *s, bool reply, const char *want)
{
        AlinkOtaFirmware f;
        char *error = NULL;
        int r = alink_parse_ota_upgrade(s, strlen(s), reply, &f, &error);

        if (r != ALINK_E_INVALID) {
                fprintf(stderr, "expected ALINK_E_INVALID for %s, got %d\n", s, r);
                abort();
        }
        CHECK_CONTAINS(error, want);
        free(error);
        alink_ota_firmware_done(&f);
}

TEST(ota_topics)
{
        AlinkTopics t = ALINK_TOPICS_NULL;
        const char *name;
        size_t len;

        CHECK(alink_topics_init(&t, "pk1", "dev-1") == 0);
        CHECK_STREQ(t.ota_inform, "/ota/device/inform/pk1/dev-1");
        CHECK_STREQ(t.ota_upgrade, "/ota/device/upgrade/pk1/dev-1");
        CHECK_STREQ(t.ota_progress, "/ota/device/progress/pk1/dev-1");
        CHECK_STREQ(t.ota_firmware_get, "/sys/pk1/dev-1/thing/ota/firmware/get");
        CHECK_STREQ(t.ota_firmware_get_reply, "/sys/pk1/dev-1/thing/ota/firmware/get_reply");
        CHECK(alink_topic_classify(&t, "/ota/device/upgrade/pk1/dev-1", &name, &len) ==
                ALINK_TOPIC_OTA_UPGRADE);
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/thing/ota/firmware/get_reply", &name, &len) ==
                ALINK_TOPIC_OTA_FIRMWARE_GET_REPLY);
        CHECK(alink_topic_classify(&t, "/ota/device/upgrade/pk1/dev-2", &name, &len) == ALINK_TOPIC_UNKNOWN);
        CHECK(alink_topic_classify(&t, "/sys/pk1/dev-1/thing/ota/firmware/get", &name, &len) ==
                ALINK_TOPIC_UNKNOWN);
        alink_topics_done(&t);
}

TEST(ota_push_documented_example)
{
        /* The documentation's push: code is the string "1000", id a number, "Md5", md5 and sign both set. */
        AlinkOtaFirmware f =
                expect_ota("{\"code\":\"1000\",\"data\":{\"size\":432945,\"version\":\"2.0.0\",\"isDiff\":1,"
                           "\"url\":\"https://iotx-ota.oss-cn-shanghai.aliyuncs.com/ota/x/"
                           "y.bin?Expires=1568951190&OSSAccessKeyId=a&Signature=b%3D\","
                           "\"md5\":\"" PUSH_MD5 "\",\"sign\":\"" PUSH_MD5
                           "\",\"signMethod\":\"Md5\",\"digestsign\":\"A4WOP\","
                           "\"module\":\"MCU\",\"extData\":{\"key1\":\"value1\"}},\"id\":1626969597470,"
                           "\"message\":\"success\"}",
                        false);

        CHECK(f.size == 432945);
        CHECK_STREQ(f.version, "2.0.0");
        CHECK_STREQ(f.url, "https://iotx-ota.oss-cn-shanghai.aliyuncs.com/ota/x/"
                           "y.bin?Expires=1568951190&OSSAccessKeyId=a&Signature=b%3D");
        CHECK(f.sign_method == DIGEST_MD5);
        CHECK_STREQ(f.sign, PUSH_MD5);
        CHECK_STREQ(f.module, "MCU");
        CHECK(f.is_diff);
        CHECK_STREQ(f.extra, "{\"key1\":\"value1\"}");
        alink_ota_firmware_done(&f);
}

TEST(ota_push_code_200_diff_and_extra)
{
        /* The current document's form: code 200 as a number; isDiff false as a boolean; extData any JSON. */
        AlinkOtaFirmware f =
                expect_ota("{\"code\":200,\"data\":{\"size\":7,\"version\":\"2\",\"url\":\"https://h/"
                           "x\",\"isDiff\":false,"
                           "\"md5\":\"" PUSH_MD5 "\",\"extData\":[1,\"a/b\",{\"k\":null}]},\"id\":1}",
                        false);
        CHECK(!f.is_diff);
        CHECK_STREQ(f.extra, "[1,\"a/b\",{\"k\":null}]");
        alink_ota_firmware_done(&f);

        f = expect_ota("{\"code\":\"200\",\"data\":{\"size\":7,\"version\":\"2\",\"url\":\"https://h/x\","
                       "\"isDiff\":0,\"md5\":\"" PUSH_MD5 "\",\"extData\":null},\"id\":1}",
                false);
        CHECK(!f.is_diff && !f.extra);
        alink_ota_firmware_done(&f);

#define D(x)                                                                                                \
        "{\"code\":\"1000\",\"id\":1,\"data\":{\"version\":\"1\",\"size\":1,\"url\":\"https://h/"           \
        "x\",\"md5\":\"" PUSH_MD5 "\"," x "}}"
        expect_ota_invalid(D("\"isDiff\":2"), false, "isDiff");
        expect_ota_invalid(D("\"isDiff\":\"yes\""), false, "isDiff");
#undef D
        {
                /* extData larger than what an environment variable should carry. */
                size_t n = ALINK_OTA_MAX_EXTRA + 1;
                char *big = malloc(n + 1), *s = NULL;
                CHECK(big);
                memset(big, 'x', n);
                big[n] = 0;
                CHECK(asprintf(&s,
                              "{\"code\":\"1000\",\"id\":1,\"data\":{\"version\":\"1\",\"size\":1,\"url\":"
                              "\"https://h/x\",\"md5\":\"" PUSH_MD5 "\",\"extData\":\"%s\"}}",
                              big) > 0);
                expect_ota_invalid(s, false, "extData: more than");
                free(s);
                free(big);
        }
}

TEST(ota_push_spellings_and_fallbacks)
{
        AlinkOtaFirmware f;

        /* "MD5", numeric code, upper-case digest in md5 only (SDK 3 reads md5): normalised to lower case. */
        f = expect_ota("{\"code\":1000,\"data\":{\"size\":\"10\",\"version\":\"v1\",\"url\":\"http://h/x\","
                       "\"md5\":\"93230C3BDE425A9D7984A594AC56D6FF\",\"signMethod\":\"MD5\"},\"id\":1}",
                false);
        CHECK(f.size == 10 && f.sign_method == DIGEST_MD5 && f.module == NULL);
        CHECK_STREQ(f.sign, PUSH_MD5);
        alink_ota_firmware_done(&f);

        /* No signMethod at all: MD5 from md5. "default" module is the default one. */
        f = expect_ota("{\"code\":\"1000\",\"data\":{\"size\":1,\"version\":\"1\",\"url\":\"https://h/x\","
                       "\"md5\":\"" PUSH_MD5 "\",\"module\":\"default\"},\"id\":1}",
                false);
        CHECK(f.sign_method == DIGEST_MD5 && f.module == NULL);
        alink_ota_firmware_done(&f);

        f = expect_ota("{\"code\":\"1000\",\"data\":{\"size\":1,\"version\":\"1\",\"url\":\"https://h/"
                       "x\",\"signMethod\":"
                       "\"Sha256\",\"sign\":"
                       "\"BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD\"},\"id\":1}",
                false);
        CHECK(f.sign_method == DIGEST_SHA256);
        CHECK_STREQ(f.sign, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
        alink_ota_firmware_done(&f);

        /* A get_reply: code 200 (number), same data. */
        f = expect_ota("{\"code\":200,\"data\":{\"size\":5,\"version\":\"3\",\"url\":\"https://h/"
                       "x\",\"signMethod\":\"Md5\","
                       "\"sign\":\"" PUSH_MD5 "\"},\"id\":\"12\",\"message\":\"success\"}",
                true);
        CHECK(f.size == 5);
        alink_ota_firmware_done(&f);
}

TEST(ota_get_reply_without_package)
{
        AlinkOtaFirmware f;
        char *error = NULL;
        const char *s[] = {
                "{\"code\":200,\"data\":{},\"id\":\"1\",\"message\":\"success\"}",
                "{\"code\":200,\"id\":\"1\"}",
        };

        for (size_t i = 0; i < ELEMENTSOF(s); i++) {
                CHECK(alink_parse_ota_upgrade(s[i], strlen(s[i]), true, &f, &error) == ALINK_E_NO_FIRMWARE);
                CHECK(error == NULL);
        }
}

TEST(ota_push_invalid)
{
        expect_ota_invalid("", false, "empty message");
        expect_ota_invalid(
                "{\"code\":\"999\",\"data\":{},\"id\":1}", false, "code is \"999\", not 1000 or 200");
        expect_ota_invalid("{\"code\":1000.5,\"data\":{},\"id\":1}", false, "not 1000 or 200");
        /* A reply has 200 only. */
        expect_ota_invalid("{\"code\":\"1000\",\"data\":{},\"id\":1}", true, "code is \"1000\", not 200");
        expect_ota_invalid("{\"data\":{},\"id\":1}", false, "missing code");
        expect_ota_invalid("{\"code\":\"1000\",\"id\":1}", false, "missing data");
        expect_ota_invalid("{\"code\":460,\"id\":\"1\",\"message\":\"x\"}", true, "code is 460, not 200");
#define D(x) "{\"code\":\"1000\",\"id\":1,\"data\":{" x "}}"
#define GOOD_SIGN "\"signMethod\":\"Md5\",\"sign\":\"" PUSH_MD5 "\""
        expect_ota_invalid(D("\"size\":1,\"url\":\"https://h/x\"," GOOD_SIGN), false, "missing version");
        expect_ota_invalid(D("\"version\":\"\",\"size\":1,\"url\":\"https://h/x\"," GOOD_SIGN), false,
                "version: expected 1..64");
        expect_ota_invalid(D("\"version\":\"a\\nb\",\"size\":1,\"url\":\"https://h/x\"," GOOD_SIGN), false,
                "version contains");
        expect_ota_invalid(D("\"version\":1,\"size\":1,\"url\":\"https://h/x\"," GOOD_SIGN), false,
                "version: expected a string");
        expect_ota_invalid(D("\"version\":\"1\",\"size\":1," GOOD_SIGN), false, "missing url");
        expect_ota_invalid(D("\"version\":\"1\",\"size\":1,\"url\":\"ftp://h/x\"," GOOD_SIGN), false,
                "not an http or https URL");
        expect_ota_invalid(D("\"version\":\"1\",\"size\":1,\"url\":\"https://h/a b\"," GOOD_SIGN), false,
                "url contains");
        expect_ota_invalid(D("\"version\":\"1\",\"url\":\"https://h/x\"," GOOD_SIGN), false, "missing size");
        expect_ota_invalid(D("\"version\":\"1\",\"size\":0,\"url\":\"https://h/x\"," GOOD_SIGN), false,
                "size: 0 is out of range");
        expect_ota_invalid(D("\"version\":\"1\",\"size\":-5,\"url\":\"https://h/x\"," GOOD_SIGN), false,
                "out of range");
        expect_ota_invalid(
                D("\"module\":\"..\",\"version\":\"1\",\"size\":1,\"url\":\"https://h/x\"," GOOD_SIGN),
                false, "module may not start with");
        expect_ota_invalid(
                D("\"module\":\"a..b\",\"version\":\"1\",\"size\":1,\"url\":\"https://h/x\"," GOOD_SIGN),
                false, "contain \"..\"");
        /* 2^63 as a double: above every int64, although (double) INT64_MAX compares equal to it. */
        expect_ota_invalid(
                D("\"version\":\"1\",\"size\":9.223372036854775808e18,\"url\":\"https://h/x\"," GOOD_SIGN),
                false, "out of range");
        expect_ota_invalid(D("\"version\":\"1\",\"size\":1.5,\"url\":\"https://h/x\"," GOOD_SIGN), false,
                "expected a whole number");
        expect_ota_invalid(D("\"version\":\"1\",\"size\":\"12a\",\"url\":\"https://h/x\"," GOOD_SIGN), false,
                "size: expected");
        expect_ota_invalid(D("\"version\":\"1\",\"size\":1,\"url\":\"https://h/"
                             "x\",\"signMethod\":\"SHA1\",\"sign\":\"ab\""),
                false, "signMethod \"SHA1\" is not supported");
        expect_ota_invalid(D("\"version\":\"1\",\"size\":1,\"url\":\"https://h/"
                             "x\",\"signMethod\":\"SHA256\",\"sign\":\"" PUSH_MD5 "\""),
                false, "sign is not a SHA256 digest (64 hex digits)");
        expect_ota_invalid(D("\"version\":\"1\",\"size\":1,\"url\":\"https://h/"
                             "x\",\"signMethod\":\"Md5\",\"sign\":\"zz230c3bde425a9d7984a594ac56d6ff\""),
                false, "sign is not a MD5 digest");
        /* SHA-256 never falls back to md5. */
        expect_ota_invalid(D("\"version\":\"1\",\"size\":1,\"url\":\"https://h/"
                             "x\",\"signMethod\":\"SHA256\",\"md5\":\"" PUSH_MD5 "\""),
                false, "missing sign");
        expect_ota_invalid(
                D("\"version\":\"1\",\"size\":1,\"url\":\"https://h/x\",\"module\":\"a/b\"," GOOD_SIGN),
                false, "module may only contain");
        expect_ota_invalid(D("\"version\":\"1\",\"size\":1,\"files\":[]," GOOD_SIGN), false,
                "multi-file packages are not supported");
        expect_ota_invalid(
                D("\"version\":\"1\",\"size\":1,\"dProtocol\":\"mqtt\",\"streamId\":1," GOOD_SIGN), false,
                "MQTT-stream downloads are not supported");
#undef D
#undef GOOD_SIGN
}

TEST(ota_push_invalid_keeps_version_and_module)
{
        AlinkOtaFirmware f;
        char *error = NULL;
        const char *s = "{\"code\":\"1000\",\"id\":1,\"data\":{\"version\":\"9\",\"module\":\"MCU\","
                        "\"size\":1,\"url\":\"x\"}}";

        CHECK(alink_parse_ota_upgrade(s, strlen(s), false, &f, &error) == ALINK_E_INVALID);
        CHECK_STREQ(f.module, "MCU");
        CHECK_STREQ(f.version, "9");
        free(error);
        alink_ota_firmware_done(&f);
}

TEST(ota_builders)
{
        char *s = NULL;

        CHECK(alink_build_ota_inform("123", "1.0.1", NULL, &s) == 0);
        CHECK_STREQ(s, "{\"id\":\"123\",\"params\":{\"version\":\"1.0.1\"}}");
        free(s);
        CHECK(alink_build_ota_inform("124", "1.0.1", "MCU", &s) == 0);
        CHECK_STREQ(s, "{\"id\":\"124\",\"params\":{\"version\":\"1.0.1\",\"module\":\"MCU\"}}");
        free(s);
        /* step is a string, also when negative (§3.5). */
        CHECK(alink_build_ota_progress("125", 95, "downloading", NULL, &s) == 0);
        CHECK_STREQ(s, "{\"id\":\"125\",\"params\":{\"step\":\"95\",\"desc\":\"downloading\"}}");
        free(s);
        CHECK(alink_build_ota_progress("126", -3, "digest \"x\"", "MCU", &s) == 0);
        CHECK_STREQ(s, "{\"id\":\"126\",\"params\":{\"step\":\"-3\",\"desc\":\"digest "
                       "\\\"x\\\"\",\"module\":\"MCU\"}}");
        free(s);
        CHECK(alink_build_ota_progress("127", 0, NULL, NULL, &s) == 0);
        CHECK_STREQ(s, "{\"id\":\"127\",\"params\":{\"step\":\"0\",\"desc\":\"\"}}");
        free(s);
        CHECK(alink_build_ota_firmware_get("128", NULL, &s) == 0);
        CHECK_STREQ(s,
                "{\"id\":\"128\",\"version\":\"1.0\",\"params\":{},\"method\":\"thing.ota.firmware.get\"}");
        free(s);
        CHECK(alink_build_ota_firmware_get("129", "MCU", &s) == 0);
        CHECK_CONTAINS(s, "\"params\":{\"module\":\"MCU\"}");
        free(s);
}
