/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-tsl.c: the thing model: the console's exports (a thermostat with every type, SDK 3's real light
 * export, a custom module, the shipped RGB light) parsed and looked up; broken models refused with their
 * JSON path; every type and spec rule checked both ways; normalisation; all or nothing. */
#include <fcntl.h>
#include <json-c/json.h>
#include <sys/stat.h>

#include "alink.h"
#include "tsl.h"
#include "test.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

_Static_assert(TSL_E_INVALID == ALINK_E_INVALID, "callers treat both alike");

static char *fixture(const char *name)
{
        const char *top = getenv("top_srcdir");
        char *p;

        CHECK(asprintf(&p, "%s/%s", top ?: "..", name) >= 0);
        return p;
}

static Tsl *load(const char *name)
{
        _cleanup_(freep) char *path = fixture(name), *error = NULL;
        Tsl *t = NULL;
        int r = tsl_load_file(path, &t, &error);

        if (r != 0) {
                fprintf(stderr, "%s: %d %s\n", path, r, error ?: "");
                abort();
        }
        CHECK(!error);
        return t;
}

/* JSON written with ' for " (the tests' models and params are easier to read so). */
static char *dq(const char *s)
{
        char *d = strdup(s);

        CHECK(d);
        for (char *p = d; *p; p++)
                if (*p == '\'')
                        *p = '"';
        return d;
}

static int parse_q(const char *q, Tsl **ret, char **error)
{
        _cleanup_(freep) char *s = dq(q);
        return tsl_parse(s, strlen(s), ret, error);
}

static void expect_bad_tsl(const char *q, const char *want)
{
        _cleanup_(tsl_freep) Tsl *t = NULL;
        _cleanup_(freep) char *error = NULL;
        int r = parse_q(q, &t, &error);

        if (r != TSL_E_INVALID) {
                fprintf(stderr, "expected TSL_E_INVALID for %s, got %d\n", q, r);
                abort();
        }
        CHECK(!t);
        CHECK_CONTAINS(error, want);
}

/* A model of one property of the given dataType (in ' quotes). */
static Tsl *one_property(const char *mode, const char *data_type)
{
        _cleanup_(freep) char *q = NULL, *error = NULL;
        Tsl *t = NULL;

        CHECK(asprintf(&q, "{'properties':[{'identifier':'P','accessMode':'%s','dataType':%s}]}", mode,
                      data_type) >= 0);
        if (parse_q(q, &t, &error) != 0) {
                fprintf(stderr, "%s: %s\n", q, error);
                abort();
        }
        return t;
}

typedef enum Kind { SET, POST, INPUT, OUTPUT, EVENT } Kind;

/* Runs a check on params (in ' quotes): NULL when accepted, with *ret_after (optional) the params as
 * serialised afterwards; else the error message (and the params must be unchanged). */
static char *run(Kind kind, const Tsl *t, const char *id, const char *q, char **ret_after)
{
        _cleanup_(freep) char *s = dq(q), *before = NULL;
        _cleanup_(json_object_putp) json_object *params = json_tokener_parse(s);
        char *error = NULL;
        int r;

        CHECK(params);
        before = strdup(json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN));
        switch (kind) {
        case SET:
                r = tsl_check_property_set(t, params, &error);
                break;
        case POST:
                r = tsl_check_property_post(t, params, &error);
                break;
        case INPUT:
                r = tsl_check_service_input(tsl_find_service(t, id), params, &error);
                break;
        case OUTPUT:
                r = tsl_check_service_output(tsl_find_service(t, id), params, &error);
                break;
        default:
                r = tsl_check_event_output(tsl_find_event(t, id), params, &error);
                break;
        }
        if (r == 0) {
                CHECK(!error);
                if (ret_after)
                        *ret_after = strdup(json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN));
                return NULL;
        }
        CHECK_INTEQ(r, TSL_E_INVALID);
        CHECK(error);
        /* All or nothing: a refused message is left as it came. */
        CHECK_STREQ(json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN), before);
        return error;
}

static void accept(Kind kind, const Tsl *t, const char *id, const char *q, const char *want_after)
{
        _cleanup_(freep) char *after = NULL, *want = want_after ? dq(want_after) : NULL;
        char *error = run(kind, t, id, q, &after);

        if (error) {
                fprintf(stderr, "refused %s: %s\n", q, error);
                abort();
        }
        if (want)
                CHECK_STREQ(after, want);
}

static void refuse(Kind kind, const Tsl *t, const char *id, const char *q, const char *want)
{
        _cleanup_(freep) char *error = run(kind, t, id, q, NULL);

        if (!error) {
                fprintf(stderr, "accepted %s, expected \"%s\"\n", q, want);
                abort();
        }
        CHECK_CONTAINS(error, want);
}

#define ACCEPT_SET(t, q, after) accept(SET, t, NULL, q, after)
#define REFUSE_SET(t, q, want) refuse(SET, t, NULL, q, want)

/* ---- the fixtures ---- */

TEST(thermostat_loads)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");
        static const struct {
                const char *id;
                TslTypeKind kind;
                bool writable;
        } props[] = {
                {"TargetTemperature", TSL_TYPE_FLOAT, true},
                {"CurrentTemperature", TSL_TYPE_DOUBLE, false},
                {"Humidity", TSL_TYPE_INT, false},
                {"Mode", TSL_TYPE_ENUM, true},
                {"Power", TSL_TYPE_BOOL, true},
                {"Name", TSL_TYPE_TEXT, true},
                {"Since", TSL_TYPE_DATE, false},
                {"Config", TSL_TYPE_STRUCT, true},
                {"Points", TSL_TYPE_ARRAY, true},
                {"Rooms", TSL_TYPE_ARRAY, true},
                {"Tags", TSL_TYPE_ARRAY, true},
                {"Counts", TSL_TYPE_ARRAY, false},
        };
        double min, max;

        CHECK_STREQ(tsl_product_key(t), "a1ThermoStat");
        CHECK_INTEQ(tsl_n_properties(t), ELEMENTSOF(props));
        for (size_t i = 0; i < ELEMENTSOF(props); i++) {
                const TslProperty *p = tsl_find_property(t, props[i].id);
                CHECK(p);
                CHECK(p == tsl_property_at(t, i)); /* in the export's order */
                CHECK_STREQ(tsl_property_identifier(p), props[i].id);
                CHECK_INTEQ(tsl_type_kind(tsl_property_type(p)), props[i].kind);
                CHECK_INTEQ(tsl_property_writable(p), props[i].writable);
        }
        CHECK(!tsl_property_at(t, ELEMENTSOF(props)));
        CHECK(!tsl_find_property(t, "Nope"));
        CHECK(!tsl_find_property(t, "power")); /* case matters */
        CHECK(!tsl_find_property(t, ""));

        CHECK(tsl_type_range(tsl_property_type(tsl_find_property(t, "TargetTemperature")), &min, &max));
        CHECK(min == 5 && max == 40);
        CHECK(tsl_type_range(tsl_property_type(tsl_find_property(t, "CurrentTemperature")), &min, &max));
        CHECK(min == -40 && max == 125);
        CHECK(tsl_type_range(tsl_property_type(tsl_find_property(t, "Humidity")), &min, &max));
        CHECK(min == 0 && max == 100);
        CHECK(!tsl_type_range(tsl_property_type(tsl_find_property(t, "Mode")), &min, &max));
        CHECK(!tsl_type_range(tsl_property_type(tsl_find_property(t, "Name")), NULL, NULL));

        /* The pseudo-entries are not features. */
        CHECK_INTEQ(tsl_n_services(t), 2);
        CHECK(!tsl_find_service(t, "set"));
        CHECK(!tsl_find_service(t, "get"));
        CHECK_STREQ(tsl_service_identifier(tsl_service_at(t, 0)), "SetSchedule");
        CHECK_STREQ(tsl_service_identifier(tsl_service_at(t, 1)), "Calibrate");
        CHECK(!tsl_service_at(t, 2));
        CHECK_INTEQ(tsl_service_call_type(tsl_find_service(t, "SetSchedule")), TSL_CALL_ASYNC);
        CHECK_INTEQ(tsl_service_call_type(tsl_find_service(t, "Calibrate")), TSL_CALL_SYNC);

        CHECK_INTEQ(tsl_n_events(t), 2);
        CHECK(!tsl_find_event(t, "post"));
        CHECK_STREQ(tsl_event_identifier(tsl_event_at(t, 0)), "Fault");
        CHECK_STREQ(tsl_event_identifier(tsl_event_at(t, 1)), "Heartbeat");
        CHECK(tsl_find_event(t, "Fault") == tsl_event_at(t, 0));
        CHECK(!tsl_event_at(t, 2));
}

TEST(iotkit_export_loads)
{
        /* SDK 3's own example: its "get" service lists identifiers as strings, which only a parser that
         * skips the pseudo-entries gets past. */
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/iotkit-solo.json");
        static const char *const ids[] = {"LightSwitch", "WIFI_Band", "WiFI_RSSI", "WIFI_AP_BSSID",
                "WIFI_Channel", "WiFI_SNR", "WIFI_Tx_Rate", "WIFI_Rx_Rate", "RGBColor", "HSVColor",
                "HSLColor", "WorkMode", "NightLightSwitch", "Brightness", "ColorTemperature",
                "PropertyCharacter", "Propertypoint"};

        CHECK_STREQ(tsl_product_key(t), "a1X2bEnP82z");
        CHECK_INTEQ(tsl_n_properties(t), ELEMENTSOF(ids));
        for (size_t i = 0; i < ELEMENTSOF(ids); i++)
                CHECK_STREQ(tsl_property_identifier(tsl_find_property(t, ids[i])), ids[i]);
        CHECK_INTEQ(tsl_n_services(t), 0);
        CHECK_INTEQ(tsl_n_events(t), 1);
        CHECK(tsl_find_event(t, "Error"));

        ACCEPT_SET(t, "{'RGBColor':{'Red':255,'Green':0,'Blue':10},'WorkMode':5,'WiFI_RSSI':-60}", NULL);
        ACCEPT_SET(t, "{'HSVColor':{'Hue':360,'Saturation':50.5,'Value':0}}",
                "{'HSVColor':{'Hue':360.0,'Saturation':50.5,'Value':0.0}}");
        REFUSE_SET(t, "{'WiFI_RSSI':0}", "WiFI_RSSI: 0 is above the maximum -1 (6306)");
        REFUSE_SET(t, "{'WorkMode':6}", "WorkMode: 6 is not one of the enum's keys 0, 1, 2, 3, 4, 5 (6309)");
        accept(EVENT, t, "Error", "{'ErrorCode':0}", NULL);
        refuse(EVENT, t, "Error", "{'ErrorCode':1}", "ErrorCode: 1 is not one of the enum's keys 0 (6309)");
}

TEST(custom_module)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/custom-module.json");

        CHECK_INTEQ(tsl_n_properties(t), 2);
        CHECK_STREQ(tsl_property_identifier(tsl_property_at(t, 0)), "Outlet1:Power");
        CHECK_STREQ(tsl_property_identifier(tsl_property_at(t, 1)), "Outlet1:Current");
        CHECK(tsl_find_property(t, "Outlet1:Current"));
        CHECK(!tsl_find_property(t, "Power"));
        CHECK_INTEQ(tsl_n_services(t), 1);
        CHECK(tsl_find_service(t, "Outlet1:Reset"));
        CHECK(!tsl_find_service(t, "Outlet1:set"));
        CHECK_INTEQ(tsl_n_events(t), 1);
        CHECK(tsl_find_event(t, "Outlet1:Overload"));

        ACCEPT_SET(t, "{'Outlet1:Power':1}", NULL);
        REFUSE_SET(t, "{'Power':1}", "Power: not in the thing model (6304)");
        REFUSE_SET(t, "{'Outlet1:Current':1}", "Outlet1:Current: read-only");
        accept(POST, t, NULL, "{'Outlet1:Current':2}", "{'Outlet1:Current':2.0}");
        /* Parameters are not prefixed, only features. */
        accept(EVENT, t, "Outlet1:Overload", "{'Current':17}", "{'Current':17.0}");
}

TEST(shipped_rgb_light)
{
        _cleanup_(tsl_freep) Tsl *t = load("data/tsl/rgb-light.json");
        double min, max;

        CHECK_INTEQ(tsl_n_properties(t), 3);
        CHECK_INTEQ(tsl_n_services(t), 0);
        CHECK_INTEQ(tsl_n_events(t), 0);
        CHECK_INTEQ(tsl_type_kind(tsl_property_type(tsl_find_property(t, "LightSwitch"))), TSL_TYPE_BOOL);
        CHECK_INTEQ(tsl_type_kind(tsl_property_type(tsl_find_property(t, "RGBColor"))), TSL_TYPE_STRUCT);
        CHECK(tsl_type_range(tsl_property_type(tsl_find_property(t, "Brightness")), &min, &max));
        CHECK(min == 0 && max == 100);
        for (size_t i = 0; i < 3; i++)
                CHECK(tsl_property_writable(tsl_property_at(t, i)));

        ACCEPT_SET(
                t, "{'LightSwitch':1,'RGBColor':{'Red':255,'Green':128,'Blue':0},'Brightness':100}", NULL);
        ACCEPT_SET(t, "{'LightSwitch':true}", "{'LightSwitch':1}");
        REFUSE_SET(t, "{'LightSwitch':2}", "LightSwitch: a bool is 0 or 1 (6308)");
        REFUSE_SET(t, "{'RGBColor':{'Red':256,'Green':0,'Blue':0}}",
                "RGBColor.Red: 256 is above the maximum 255 (6306)");
        REFUSE_SET(t, "{'Brightness':101}", "Brightness: 101 is above the maximum 100 (6306)");
}

/* ---- models refused, with the path ---- */

TEST(bad_json)
{
        expect_bad_tsl("", "empty");
        expect_bad_tsl("{'properties':[}", "invalid JSON at line 1, column 16");
        expect_bad_tsl("{'properties':[]", "unexpected end of input");
        expect_bad_tsl("{} {}", "invalid JSON at line 1, column 4");
        expect_bad_tsl("{'a':1,}", "invalid JSON");   /* strict: no trailing comma */
        expect_bad_tsl("{'a':'\\u0000'}", "\\u0000"); /* keys and identifiers are C strings */
        expect_bad_tsl("[]", "$: expected an object, got []");
        expect_bad_tsl("{'properties':{}}", "$.properties: expected an array, got {}");
        expect_bad_tsl("{'profile':[]}", "$.profile: expected an object");
        expect_bad_tsl("{'profile':{'productKey':1}}", "$.profile.productKey: expected a string, got 1");
        expect_bad_tsl("{'schema':7}", "$.schema: expected a string");

        /* Not UTF-8; too deep. */
        {
                static const char s[] = "{\"schema\":\"\xff\"}";
                _cleanup_(freep) char *error = NULL;
                Tsl *t = NULL;
                CHECK_INTEQ(tsl_parse(s, sizeof(s) - 1, &t, &error), TSL_E_INVALID);
                CHECK_CONTAINS(error, "invalid JSON");
        }
        {
                char deep[200];
                _cleanup_(freep) char *error = NULL;
                Tsl *t = NULL;
                memset(deep, '[', 100);
                memset(deep + 100, ']', 100);
                CHECK_INTEQ(tsl_parse(deep, sizeof(deep), &t, &error), TSL_E_INVALID);
                CHECK_CONTAINS(error, "invalid JSON");
        }
        /* A byte order mark is skipped. */
        {
                static const char s[] = "\xef\xbb\xbf{\"profile\":{\"productKey\":\"pk\"}}";
                _cleanup_(tsl_freep) Tsl *t = NULL;
                _cleanup_(freep) char *error = NULL;
                CHECK_INTEQ(tsl_parse(s, sizeof(s) - 1, &t, &error), 0);
                CHECK_STREQ(tsl_product_key(t), "pk");
        }
        /* Not NUL-terminated: only len bytes are read. */
        {
                static const char s[] = "{}garbage";
                _cleanup_(tsl_freep) Tsl *t = NULL;
                _cleanup_(freep) char *error = NULL;
                CHECK_INTEQ(tsl_parse(s, 2, &t, &error), 0);
                CHECK_INTEQ(tsl_n_properties(t), 0);
                CHECK(!tsl_product_key(t));
        }
}

TEST(bad_features)
{
        expect_bad_tsl("{'properties':[1]}", "$.properties[0]: expected an object, got 1");
        expect_bad_tsl("{'properties':[{'accessMode':'r','dataType':{'type':'int'}}]}",
                "$.properties[0].identifier: missing");
        expect_bad_tsl("{'properties':[{'identifier':'A b','accessMode':'r','dataType':{'type':'int'}}]}",
                "$.properties[0].identifier: \"A b\" is not an identifier");
        expect_bad_tsl("{'properties':[{'identifier':'','accessMode':'r','dataType':{'type':'int'}}]}",
                "$.properties[0].identifier: \"\" is not an identifier");
        expect_bad_tsl("{'properties':[{'identifier':'A','dataType':{'type':'int'}}]}",
                "$.properties[0].accessMode: missing");
        expect_bad_tsl("{'properties':[{'identifier':'A','accessMode':'x','dataType':{'type':'int'}}]}",
                "$.properties[0].accessMode: \"x\" is not r, rw or w");
        expect_bad_tsl(
                "{'properties':[{'identifier':'A','accessMode':'r'}]}", "$.properties[0].dataType: missing");
        expect_bad_tsl("{'properties':[{'identifier':'A','accessMode':'r','dataType':{'type':'int'}},"
                       "{'identifier':'B','accessMode':'r','dataType':{'type':'int'}},"
                       "{'identifier':'A','accessMode':'r','dataType':{'type':'int'}}]}",
                "$.properties[2].identifier: \"A\" is defined twice (also at index 0)");
        expect_bad_tsl("{'services':[{'identifier':'S','callType':'later'}]}",
                "$.services[0].callType: \"later\" is not async or sync");
        expect_bad_tsl("{'services':[{'identifier':'S'}]}", "$.services[0].callType: missing");
        expect_bad_tsl(
                "{'services':[{'identifier':'set'},{'identifier':'S','callType':'sync','inputData':{}}]}",
                "$.services[1].inputData: expected an array");
        expect_bad_tsl("{'services':[{'identifier':'S','callType':'sync','inputData':[{'identifier':'x',"
                       "'dataType':{'type':'int'}},{'identifier':'x','dataType':{'type':'text'}}]}]}",
                "$.services[0].inputData[1].identifier: \"x\" is defined twice");
        expect_bad_tsl(
                "{'services':[{'identifier':'S','callType':'sync'},{'identifier':'S','callType':'async'}]}",
                "$.services[1].identifier: \"S\" is defined twice");
        expect_bad_tsl(
                "{'services':[{'identifier':'S','callType':'sync','outputData':[{'identifier':'x'}]}]}",
                "$.services[0].outputData[0].dataType: missing");
        expect_bad_tsl("{'events':[{'identifier':'E','type':'warning'}]}",
                "$.events[0].type: \"warning\" is not info, alert or error");
        expect_bad_tsl("{'events':[{'identifier':'post'},{'identifier':'E'}]}", "$.events[1].type: missing");
        expect_bad_tsl("{'events':[{'identifier':'E','type':'info','outputData':[{'identifier':'x',"
                       "'dataType':{'type':'float','specs':{'min':'a'}}}]}]}",
                "$.events[0].outputData[0].dataType.specs.min: \"a\" is not a number");
        expect_bad_tsl("{'functionBlockId':'a:b'}", "$.functionBlockId: \"a:b\" is not a module identifier");
        expect_bad_tsl(
                "{'functionBlockId':'abcdefghijabcdefghijabcdefghijx'}", "is not a module identifier");

        /* The pseudo-entries are skipped whatever they hold, but still need an identifier. */
        {
                _cleanup_(tsl_freep) Tsl *t = NULL;
                _cleanup_(freep) char *error = NULL;
                CHECK_INTEQ(parse_q("{'services':[{'identifier':'get','inputData':['a','b']}],"
                                    "'events':[{'identifier':'post','outputData':7}]}",
                                    &t, &error),
                        0);
                CHECK_INTEQ(tsl_n_services(t), 0);
                CHECK_INTEQ(tsl_n_events(t), 0);
        }
        expect_bad_tsl("{'services':[{'inputData':[]}]}", "$.services[0].identifier: missing");
}

#define P(dt) "{'properties':[{'identifier':'A','accessMode':'r','dataType':" dt "}]}"

TEST(bad_types)
{
        expect_bad_tsl(P("{'specs':{}}"), "$.properties[0].dataType.type: missing");
        expect_bad_tsl(P("{'type':'long'}"), "$.properties[0].dataType.type: unknown type \"long\"");
        expect_bad_tsl(P("[]"), "$.properties[0].dataType: expected an object");

        /* int, float, double */
        expect_bad_tsl(P("{'type':'int','specs':{'min':'abc'}}"),
                "$.properties[0].dataType.specs.min: \"abc\" is not a number");
        expect_bad_tsl(P("{'type':'int','specs':{'max':'1.5'}}"),
                "$.properties[0].dataType.specs.max: \"1.5\" is not an integer");
        expect_bad_tsl(P("{'type':'int','specs':{'max':'2147483648'}}"),
                "$.properties[0].dataType.specs.max: \"2147483648\" is not in -2147483648..2147483647");
        expect_bad_tsl(P("{'type':'int','specs':{'min':'10','max':'1'}}"),
                "$.properties[0].dataType.specs.min: the minimum 10 is above the maximum 1");
        expect_bad_tsl(P("{'type':'float','specs':{'min':' 1'}}"), "\" 1\" is not a number");
        expect_bad_tsl(P("{'type':'float','specs':{'min':'0x10'}}"), "\"0x10\" is not a number");
        expect_bad_tsl(P("{'type':'float','specs':{'min':'inf'}}"), "\"inf\" is not a number");
        expect_bad_tsl(P("{'type':'double','specs':{'max':'1e999'}}"), "\"1e999\" is out of range");
        expect_bad_tsl(
                P("{'type':'double','specs':{'max':true}}"), "specs.max: expected a number, got true");
        expect_bad_tsl(P("{'type':'double','specs':{'step':'x'}}"), "specs.step: \"x\" is not a number");
        expect_bad_tsl(P("{'type':'double','specs':[]}"), "specs: expected an object");

        /* text */
        expect_bad_tsl(P("{'type':'text','specs':{'length':'0'}}"),
                "$.properties[0].dataType.specs.length: \"0\" is not in 1..10240");
        expect_bad_tsl(P("{'type':'text','specs':{'length':'10241'}}"), "\"10241\" is not in 1..10240");

        /* bool, enum */
        expect_bad_tsl(P("{'type':'bool','specs':{'0':'off','2':'on'}}"),
                "$.properties[0].dataType.specs.2: a bool's specs name the values 0 and 1");
        expect_bad_tsl(
                P("{'type':'bool','specs':{'0':1}}"), "$.properties[0].dataType.specs.0: expected a string");
        expect_bad_tsl(P("{'type':'enum'}"), "$.properties[0].dataType.specs: missing");
        expect_bad_tsl(P("{'type':'enum','specs':{}}"), "an enum needs at least one item");
        expect_bad_tsl(P("{'type':'enum','specs':{'a':'x'}}"), "specs.a: an enum's keys are integers");
        expect_bad_tsl(
                P("{'type':'enum','specs':{'1':'x','01':'y'}}"), "specs.01: an enum's keys are integers");
        expect_bad_tsl(P("{'type':'enum','specs':{'3000000000':'x'}}"), "an enum's keys are integers");
        {
                /* 101 items. */
                _cleanup_(freep) char *specs = calloc(1, 2048), *q = NULL;
                size_t l = 0;
                for (int i = 0; i <= 100; i++)
                        l += (size_t) sprintf(specs + l, "%s'%d':'x'", i ? "," : "", i);
                CHECK(asprintf(&q, P("{'type':'enum','specs':{%s}}"), specs) >= 0);
                expect_bad_tsl(q, "101 items, more than the 100 an enum may have");
        }

        /* struct */
        expect_bad_tsl(P("{'type':'struct'}"), "$.properties[0].dataType.specs: missing");
        expect_bad_tsl(
                P("{'type':'struct','specs':{}}"), "$.properties[0].dataType.specs: expected an array");
        expect_bad_tsl(P("{'type':'struct','specs':[]}"), "a struct needs at least one member");
        expect_bad_tsl(
                P("{'type':'struct','specs':[{'identifier':'x','dataType':{'type':'struct','specs':[]}}]}"),
                "$.properties[0].dataType.specs[0].dataType.type: a struct's members cannot be of type "
                "struct");
        expect_bad_tsl(
                P("{'type':'struct','specs':[{'identifier':'x','dataType':{'type':'array','specs':{}}}]}"),
                "a struct's members cannot be of type array");
        expect_bad_tsl(P("{'type':'struct','specs':[{'identifier':'x','dataType':{'type':'int'}},"
                         "{'identifier':'x','dataType':{'type':'int'}}]}"),
                "$.properties[0].dataType.specs[1].identifier: \"x\" is defined twice");
        expect_bad_tsl(P("{'type':'struct','specs':[{'identifier':'x y','dataType':{'type':'int'}}]}"),
                "$.properties[0].dataType.specs[0].identifier: \"x y\" is not an identifier");
        {
                _cleanup_(freep) char *members = calloc(1, 8192), *q = NULL;
                size_t l = 0;
                for (int i = 0; i <= 50; i++)
                        l += (size_t) sprintf(members + l,
                                "%s{'identifier':'m%d','dataType':{'type':'int'}}", i ? "," : "", i);
                CHECK(asprintf(&q, P("{'type':'struct','specs':[%s]}"), members) >= 0);
                expect_bad_tsl(q, "51 entries, more than the 50 allowed");
        }

        /* array */
        expect_bad_tsl(P("{'type':'array'}"), "$.properties[0].dataType.specs: missing");
        expect_bad_tsl(P("{'type':'array','specs':{'item':{'type':'int'}}}"),
                "$.properties[0].dataType.specs.size: missing");
        expect_bad_tsl(P("{'type':'array','specs':{'size':'513','item':{'type':'int'}}}"),
                "$.properties[0].dataType.specs.size: \"513\" is not in 1..512");
        expect_bad_tsl(
                P("{'type':'array','specs':{'size':'0','item':{'type':'int'}}}"), "\"0\" is not in 1..512");
        expect_bad_tsl(
                P("{'type':'array','specs':{'size':'2'}}"), "$.properties[0].dataType.specs.item: missing");
        expect_bad_tsl(P("{'type':'array','specs':{'size':'2','item':{'type':'bool'}}}"),
                "$.properties[0].dataType.specs.item.type: an array's items are int, float, double, text or "
                "struct, not bool");
        expect_bad_tsl(
                P("{'type':'array','specs':{'size':'2','item':{'type':'array','specs':{}}}}"), "not array");
        expect_bad_tsl(
                P("{'type':'array','specs':{'size':'2','item':{'type':'struct','specs':[{'identifier':'x',"
                  "'dataType':{'type':'array'}}]}}}"),
                "$.properties[0].dataType.specs.item.specs[0].dataType.type: a struct's members cannot be "
                "of type "
                "array");
        expect_bad_tsl(P("{'type':'array','specs':{'size':'2','item':{'type':'int','specs':{'min':'x'}}}}"),
                "$.properties[0].dataType.specs.item.specs.min: \"x\" is not a number");
}

TEST(tolerated)
{
        _cleanup_(tsl_freep) Tsl *t = NULL;
        _cleanup_(freep) char *error = NULL;
        double min, max;

        /* Numbers given as numbers, unknown members, "w", types without specs, an int with one bound. */
        CHECK_INTEQ(
                parse_q("{'future':{'x':1},'profile':{'productKey':'pk','version':'2'},'properties':["
                        "{'identifier':'F','accessMode':'w','dataType':{'type':'float','specs':{'min':-1.5,"
                        "'max':2}},'extra':1},"
                        "{'identifier':'I','accessMode':'rw','dataType':{'type':'int','specs':{'max':'10'}}}"
                        ","
                        "{'identifier':'T','accessMode':'rw','dataType':{'type':'text'}},"
                        "{'identifier':'D','accessMode':'rw','dataType':{'type':'date'}},"
                        "{'identifier':'B','accessMode':'rw','dataType':{'type':'bool'}},"
                        "{'identifier':'U','accessMode':'rw','dataType':{'type':'int','specs':null}}]}",
                        &t, &error),
                0);
        CHECK(!error);
        CHECK_STREQ(tsl_product_key(t), "pk");
        CHECK(tsl_property_writable(tsl_find_property(t, "F")));
        CHECK(tsl_type_range(tsl_property_type(tsl_find_property(t, "F")), &min, &max));
        CHECK(min == -1.5 && max == 2);
        CHECK(!tsl_type_range(tsl_property_type(tsl_find_property(t, "I")), &min, &max));

        ACCEPT_SET(t, "{'I':-2147483648,'U':2147483647}", NULL);
        REFUSE_SET(t, "{'I':11}", "I: 11 is above the maximum 10 (6306)");
        REFUSE_SET(t, "{'U':2147483648}", "U: 2147483648 is out of the int32 range (6306)");
        REFUSE_SET(t, "{'U':-2147483649}", "U: -2147483649 is out of the int32 range (6306)");
        REFUSE_SET(t, "{'U':99999999999999999999}", "out of the int32 range (6306)");
        ACCEPT_SET(t, "{'F':-1.5}", NULL);
        REFUSE_SET(t, "{'F':2.0001}", "F: 2.0001 is above the maximum 2 (6307)");
        {
                /* Without a length, a text may have the platform's maximum. */
                _cleanup_(freep) char *q = malloc(10240 + 16);
                CHECK(q);
                strcpy(q, "{'T':'");
                memset(q + 6, 'x', 10240);
                strcpy(q + 6 + 10240, "'}");
                ACCEPT_SET(t, q, NULL);
                strcpy(q + 6 + 10240, "x'}");
                REFUSE_SET(t, q, "T: 10241 bytes, longer than its length 10240 (6310)");
        }
}

/* ---- the checks, type by type ---- */

TEST(check_int)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");

        accept(POST, t, NULL, "{'Humidity':0}", NULL);
        accept(POST, t, NULL, "{'Humidity':100}", NULL);
        accept(POST, t, NULL, "{'Humidity':42.0}", "{'Humidity':42}"); /* integral: sent as an integer */
        refuse(POST, t, NULL, "{'Humidity':101}", "Humidity: 101 is above the maximum 100 (6306)");
        refuse(POST, t, NULL, "{'Humidity':-1}", "Humidity: -1 is below the minimum 0 (6306)");
        refuse(POST, t, NULL, "{'Humidity':4.5}", "Humidity: 4.5 is not an integer (6306)");
        refuse(POST, t, NULL, "{'Humidity':'5'}", "Humidity: expected an int, got \"5\" (6305)");
        refuse(POST, t, NULL, "{'Humidity':true}", "Humidity: expected an int, got true (6305)");
        refuse(POST, t, NULL, "{'Humidity':null}", "Humidity: expected an int, got null (6305)");
        refuse(POST, t, NULL, "{'Humidity':[1]}", "Humidity: expected an int, got [1] (6305)");
        refuse(POST, t, NULL, "{'Humidity':1e10}", "Humidity: 1e10 is out of the int32 range (6306)");
}

TEST(check_float_double)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");

        /* The decimal point the platform wants: an integer becomes a double, written "10.0". */
        ACCEPT_SET(t, "{'TargetTemperature':10}", "{'TargetTemperature':10.0}");
        ACCEPT_SET(t, "{'TargetTemperature':21.5}", "{'TargetTemperature':21.5}");
        ACCEPT_SET(t, "{'TargetTemperature':21.25}", NULL); /* the step is informational */
        ACCEPT_SET(t, "{'TargetTemperature':5}", "{'TargetTemperature':5.0}");
        ACCEPT_SET(t, "{'TargetTemperature':4e1}", "{'TargetTemperature':4e1}"); /* as written */
        REFUSE_SET(
                t, "{'TargetTemperature':40.5}", "TargetTemperature: 40.5 is above the maximum 40 (6307)");
        REFUSE_SET(t, "{'TargetTemperature':4}", "TargetTemperature: 4 is below the minimum 5 (6307)");
        REFUSE_SET(
                t, "{'TargetTemperature':'21'}", "TargetTemperature: expected a float, got \"21\" (6305)");
        REFUSE_SET(
                t, "{'TargetTemperature':false}", "TargetTemperature: expected a float, got false (6305)");

        accept(POST, t, NULL, "{'CurrentTemperature':-40}", "{'CurrentTemperature':-40.0}");
        accept(POST, t, NULL, "{'CurrentTemperature':124.99}", NULL);
        refuse(POST, t, NULL, "{'CurrentTemperature':125.01}",
                "CurrentTemperature: 125.01 is above the maximum 125 (6322)");
        refuse(POST, t, NULL, "{'CurrentTemperature':{}}",
                "CurrentTemperature: expected a double, got {} (6305)");
}

TEST(check_text)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");
        char q[400];

        ACCEPT_SET(t, "{'Name':''}", NULL);
        ACCEPT_SET(t, "{'Name':'Wohnzimmer \xe5\xae\xa2\xe5\x8e\x85'}", NULL);
        /* 255 bytes fit, 256 do not; the length counts bytes, not characters. */
        strcpy(q, "{'Name':'");
        memset(q + 9, 'n', 255);
        strcpy(q + 9 + 255, "'}");
        ACCEPT_SET(t, q, NULL);
        strcpy(q + 9 + 255, "n'}");
        REFUSE_SET(t, q, "Name: 256 bytes, longer than its length 255 (6310)");
        strcpy(q, "{'Name':'");
        for (int i = 0; i < 86; i++)
                memcpy(q + 9 + 3 * i, "\xe5\xae\xa2", 3); /* 86 characters, 258 bytes */
        strcpy(q + 9 + 258, "'}");
        REFUSE_SET(t, q, "Name: 258 bytes, longer than its length 255 (6310)");
        REFUSE_SET(t, "{'Name':5}", "Name: expected a text (a string), got 5 (6305)");
        REFUSE_SET(t, "{'Name':'a\\u0000b'}", "Name: a text holds a NUL (6310)");
}

TEST(check_date)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");

        accept(POST, t, NULL, "{'Since':'1635839462000'}", NULL);
        accept(POST, t, NULL, "{'Since':1635839462000}", "{'Since':'1635839462000'}");
        accept(POST, t, NULL, "{'Since':'0'}", NULL);
        refuse(POST, t, NULL, "{'Since':'abc'}", "Since: \"abc\" is not epoch milliseconds (6311)");
        refuse(POST, t, NULL, "{'Since':''}", "Since: \"\" is not epoch milliseconds (6311)");
        refuse(POST, t, NULL, "{'Since':'-5'}", "Since: \"-5\" is not epoch milliseconds (6311)");
        refuse(POST, t, NULL, "{'Since':'16358394620001635839462000'}", "is not epoch milliseconds (6311)");
        refuse(POST, t, NULL, "{'Since':-1}", "Since: -1 is not epoch milliseconds (6311)");
        refuse(POST, t, NULL, "{'Since':1.5}",
                "Since: expected a date (a string of epoch milliseconds), got 1.5 (6305)");
}

TEST(check_bool)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");

        ACCEPT_SET(t, "{'Power':0}", NULL);
        ACCEPT_SET(t, "{'Power':1}", NULL);
        ACCEPT_SET(t, "{'Power':true}", "{'Power':1}");
        ACCEPT_SET(t, "{'Power':false}", "{'Power':0}");
        REFUSE_SET(t, "{'Power':2}", "Power: a bool is 0 or 1 (6308)");
        REFUSE_SET(t, "{'Power':-1}", "Power: a bool is 0 or 1 (6308)");
        REFUSE_SET(t, "{'Power':'on'}", "Power: expected a bool (0 or 1), got \"on\" (6305)");
        REFUSE_SET(t, "{'Power':1.0}", "Power: expected a bool (0 or 1), got 1.0 (6305)");
}

TEST(check_enum)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");

        ACCEPT_SET(t, "{'Mode':0}", NULL);
        ACCEPT_SET(t, "{'Mode':2}", NULL);
        REFUSE_SET(t, "{'Mode':7}", "Mode: 7 is not one of the enum's keys 0, 1, 2 (6309)");
        REFUSE_SET(t, "{'Mode':-1}", "Mode: -1 is not one of the enum's keys 0, 1, 2 (6309)");
        REFUSE_SET(t, "{'Mode':4294967296}", "Mode: 4294967296 is not one of the enum's keys");
        REFUSE_SET(t, "{'Mode':'1'}", "Mode: expected an enum (an integer), got \"1\" (6305)");
        REFUSE_SET(t, "{'Mode':1.0}", "Mode: expected an enum (an integer), got 1.0 (6305)");
}

TEST(check_enum_long_key_list)
{
        _cleanup_(freep) char *specs = calloc(1, 2048), *dt = NULL;
        size_t l = 0;

        for (int i = 0; i < 100; i++)
                l += (size_t) sprintf(specs + l, "%s'%d':'x'", i ? "," : "", i * 1000);
        CHECK(asprintf(&dt, "{'type':'enum','specs':{%s}}", specs) >= 0);
        _cleanup_(tsl_freep) Tsl *t = one_property("rw", dt);

        ACCEPT_SET(t, "{'P':99000}", NULL);
        REFUSE_SET(t, "{'P':5}", "P: 5 is not one of the enum's keys 0, 1000, 2000, ");
        REFUSE_SET(t, "{'P':5}", ", ... (6309)");
}

TEST(check_struct)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");
        static const char full[] = "{'Config':{'Speed':1,'Eco':1,'Label':'night','Until':'1635839462000',"
                                   "'Level':0.5,'Factor':-1.5,'Preset':2}}";

        ACCEPT_SET(t, full, NULL);
        /* Members are normalised like properties. */
        ACCEPT_SET(t,
                "{'Config':{'Speed':1.0,'Eco':true,'Label':'','Until':1,'Level':1,'Factor':0,'Preset':0}}",
                "{'Config':{'Speed':1,'Eco':1,'Label':'','Until':'1','Level':1.0,'Factor':0.0,'Preset':0}}");
        REFUSE_SET(t,
                "{'Config':{'Speed':4,'Eco':1,'Label':'','Until':'1','Level':0,'Factor':0,'Preset':0}}",
                "Config.Speed: 4 is above the maximum 3 (6306)");
        REFUSE_SET(t,
                "{'Config':{'Speed':1,'Eco':1,'Label':'','Until':'1','Level':0,'Factor':0,'Preset':3}}",
                "Config.Preset: 3 is not one of the enum's keys 0, 1, 2 (6309)");
        REFUSE_SET(t,
                "{'Config':{'Speed':1,'Eco':1,'Label':'','Until':'x','Level':0,'Factor':0,'Preset':0}}",
                "Config.Until: \"x\" is not epoch milliseconds (6311)");
        REFUSE_SET(t,
                "{'Config':{'Speed':1,'Eco':1,'Label':'12345678901234567','Until':'1','Level':0,'Factor':0,"
                "'Preset':0}}",
                "Config.Label: 17 bytes, longer than its length 16 (6310)");
        REFUSE_SET(t,
                "{'Config':{'Speed':1,'Eco':1,'Label':'','Until':'1','Level':0,'Factor':1.6,'Preset':0}}",
                "Config.Factor: 1.6 is above the maximum 1.5 (6322)");
        REFUSE_SET(t,
                "{'Config':{'Speed':1,'Eco':1,'Label':'','Until':'1','Level':1.1,'Factor':0,'Preset':0}}",
                "Config.Level: 1.1 is above the maximum 1 (6307)");
        REFUSE_SET(t,
                "{'Config':{'Speed':1,'Eco':2,'Label':'','Until':'1','Level':1,'Factor':0,'Preset':0}}",
                "Config.Eco: a bool is 0 or 1 (6308)");
        /* Missing and extra members: a set may leave members out (it changes the ones it names), nothing
         * else may. */
        ACCEPT_SET(t, "{'Config':{'Eco':1}}", NULL);
        refuse(POST, t, NULL, "{'Config':{'Eco':1,'Label':'','Until':'1','Level':0,'Factor':0,'Preset':0}}",
                "Config: member Speed is missing (6312)");
        REFUSE_SET(t, "{'Config':{}}", "Config: no member of the struct is given (6312)");
        REFUSE_SET(t,
                "{'Config':{'Speed':1,'Eco':1,'Label':'','Until':'1','Level':0,'Factor':0,'Preset':0,"
                "'Turbo':1}}",
                "Config: member Turbo is not in the struct (6312)");
        REFUSE_SET(t, "{'Config':[1]}", "Config: expected a struct (an object), got [1] (6305)");
}

TEST(check_array)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");
        _cleanup_(freep) char *q = calloc(1, 8192);
        size_t l;

        ACCEPT_SET(t, "{'Points':[]}", NULL);
        ACCEPT_SET(t, "{'Points':[1,2.5,-1000]}", "{'Points':[1.0,2.5,-1000.0]}");
        REFUSE_SET(t, "{'Points':[1,2,3,1000.5]}", "Points[3]: 1000.5 is above the maximum 1000 (6307)");
        REFUSE_SET(t, "{'Points':[1,'x']}", "Points[1]: expected a float, got \"x\" (6305)");
        REFUSE_SET(t, "{'Points':{}}", "Points: expected an array, got {} (6305)");

        /* 512 items fit, 600 do not. */
        l = (size_t) sprintf(q, "{'Points':[");
        for (int i = 0; i < 600; i++)
                l += (size_t) sprintf(q + l, "%s%d", i ? "," : "", i % 100);
        strcpy(q + l, "]}");
        REFUSE_SET(t, q, "Points: 600 items, more than its size 512");
        l = (size_t) sprintf(q, "{'Points':[");
        for (int i = 0; i < 512; i++)
                l += (size_t) sprintf(q + l, "%s%d", i ? "," : "", i % 100);
        strcpy(q + l, "]}");
        ACCEPT_SET(t, q, NULL);

        /* Of structs, of texts, of ints. */
        ACCEPT_SET(t, "{'Rooms':[{'Room':'kitchen','Temp':20},{'Room':'hall','Temp':18.5}]}",
                "{'Rooms':[{'Room':'kitchen','Temp':20.0},{'Room':'hall','Temp':18.5}]}");
        REFUSE_SET(t, "{'Rooms':[{'Room':'kitchen','Temp':20},{'Room':'hall'}]}",
                "Rooms[1]: member Temp is missing (6312)");
        REFUSE_SET(t, "{'Rooms':[{'Room':'kitchen','Temp':200}]}",
                "Rooms[0].Temp: 200 is above the maximum 125");
        REFUSE_SET(t, "{'Rooms':[{},{},{},{}]}", "Rooms: 4 items, more than its size 3");
        ACCEPT_SET(t, "{'Tags':['a','bb','12345678']}", NULL);
        REFUSE_SET(t, "{'Tags':['a','123456789']}", "Tags[1]: 9 bytes, longer than its length 8 (6310)");
        accept(POST, t, NULL, "{'Counts':[0,65535,3.0]}", "{'Counts':[0,65535,3]}");
        refuse(POST, t, NULL, "{'Counts':[0,65536]}", "Counts[1]: 65536 is above the maximum 65535 (6306)");
}

/* ---- what each check allows ---- */

TEST(property_set)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");

        ACCEPT_SET(t, "{'Power':1,'Mode':1,'TargetTemperature':22}",
                "{'Power':1,'Mode':1,'TargetTemperature':22.0}");
        REFUSE_SET(t, "{}", "params is empty (6302)");
        REFUSE_SET(t, "{'Foo':1}", "Foo: not in the thing model (6304)");
        REFUSE_SET(t, "{'Humidity':5}", "Humidity: read-only");
        REFUSE_SET(t, "{'CurrentTemperature':5}", "CurrentTemperature: read-only");
        REFUSE_SET(t, "{'set':{}}", "set: not in the thing model (6304)");
        /* Timed values are for posts. */
        REFUSE_SET(t, "{'Power':{'value':1,'time':1524448722000}}", "Power: expected a bool (0 or 1)");
        /* All or nothing: the good members before a bad one are not normalised either (run() checks). */
        REFUSE_SET(t, "{'TargetTemperature':10,'Power':true,'Mode':9}",
                "Mode: 9 is not one of the enum's keys");
        REFUSE_SET(t, "{'TargetTemperature':10,'Config':{'Speed':1.0},'Humidity':1}", "Humidity: read-only");
        {
                _cleanup_(json_object_putp) json_object *a = json_object_new_array();
                _cleanup_(freep) char *error = NULL;
                CHECK_INTEQ(tsl_check_property_set(t, a, &error), TSL_E_INVALID);
                CHECK_STREQ(error, "params is not an object (6301)");
        }
        {
                _cleanup_(freep) char *error = NULL;
                CHECK_INTEQ(tsl_check_property_set(t, NULL, &error), TSL_E_INVALID);
                CHECK_STREQ(error, "params is not an object (6301)");
        }
        /* Without a place for the message. */
        {
                _cleanup_(json_object_putp) json_object *o = json_tokener_parse("{\"Mode\":9}");
                CHECK_INTEQ(tsl_check_property_set(t, o, NULL), TSL_E_INVALID);
        }
}

TEST(property_post)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");

        accept(POST, t, NULL, "{'Humidity':40,'Power':1}", NULL);
        refuse(POST, t, NULL, "{}", "params is empty (6302)");
        refuse(POST, t, NULL, "{'Nope':1}", "Nope: not in the thing model (6304)");
        /* The timed form (batched posts). */
        accept(POST, t, NULL,
                "{'Humidity':{'value':40,'time':1524448722000},'CurrentTemperature':{'value':20}}",
                "{'Humidity':{'value':40,'time':1524448722000},'CurrentTemperature':{'value':20.0}}");
        accept(POST, t, NULL,
                "{'Config':{'value':{'Speed':1,'Eco':true,'Label':'','Until':'1','Level':0,"
                "'Factor':0,'Preset':0},'time':1}}",
                "{'Config':{'value':{'Speed':1,'Eco':1,'Label':'','Until':'1','Level':0.0,'Factor':0.0,"
                "'Preset':0},'time':1}}");
        refuse(POST, t, NULL, "{'Humidity':{'value':400,'time':1524448722000}}",
                "Humidity: 400 is above the maximum 100 (6306)");
        refuse(POST, t, NULL, "{'Humidity':{'value':40,'time':'soon'}}",
                "Humidity: time \"soon\" is not epoch milliseconds (6311)");
        refuse(POST, t, NULL, "{'Humidity':{'value':40,'time':-1}}",
                "Humidity: time -1 is not epoch milliseconds");
        refuse(POST, t, NULL, "{'Humidity':{'value':40,'when':1}}", "Humidity: expected an int, got {");
        /* A struct value is not mistaken for the timed form. */
        refuse(POST, t, NULL, "{'Config':{'Speed':1}}", "Config: member Eco is missing (6312)");
}

TEST(timed_form_of_a_struct_with_a_member_value)
{
        _cleanup_(tsl_freep) Tsl *t = one_property("r", "{'type':'struct','specs':[{'identifier':'value',"
                                                        "'dataType':{'type':'int'}},{'identifier':'time',"
                                                        "'dataType':{'type':'int'}}]}");

        /* The struct's own members win over the timed form. */
        accept(POST, t, NULL, "{'P':{'value':1,'time':2}}", NULL);
        refuse(POST, t, NULL, "{'P':{'value':1}}", "P: member time is missing (6312)");
}

TEST(service_and_event)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");

        accept(INPUT, t, "SetSchedule", "{'Start':'1635839462000','Target':21,'Days':[1,2,3]}",
                "{'Start':'1635839462000','Target':21.0,'Days':[1,2,3]}");
        accept(INPUT, t, "SetSchedule", "{}", NULL); /* members absent are allowed */
        accept(INPUT, t, "SetSchedule", "{'Target':5}", "{'Target':5.0}");
        refuse(INPUT, t, "SetSchedule", "{'Target':41}", "Target: 41 is above the maximum 40 (6307)");
        refuse(INPUT, t, "SetSchedule", "{'Days':[1,8]}", "Days[1]: 8 is above the maximum 7 (6306)");
        refuse(INPUT, t, "SetSchedule", "{'Days':[1,2,3,4,5,6,7,1]}", "Days: 8 items, more than its size 7");
        refuse(INPUT, t, "SetSchedule", "{'Accepted':1}",
                "Accepted: not an input parameter of SetSchedule (6304)");
        accept(OUTPUT, t, "SetSchedule", "{'Accepted':true}", "{'Accepted':1}");
        refuse(OUTPUT, t, "SetSchedule", "{'Target':20}",
                "Target: not an output parameter of SetSchedule (6304)");

        accept(INPUT, t, "Calibrate", "{'Offset':-5}", "{'Offset':-5.0}");
        refuse(INPUT, t, "Calibrate", "{'Offset':-5.5}", "Offset: -5.5 is below the minimum -5 (6322)");
        accept(OUTPUT, t, "Calibrate", "{'Result':'ok','Status':0}", NULL);
        refuse(OUTPUT, t, "Calibrate", "{'Status':2}",
                "Status: 2 is not one of the enum's keys 0, 1 (6309)");

        accept(EVENT, t, "Fault", "{'Code':2,'Detail':'heater open circuit','At':'1635839462000'}", NULL);
        accept(EVENT, t, "Heartbeat", "{}", NULL);
        refuse(EVENT, t, "Fault", "{'Code':4}", "Code: 4 is not one of the enum's keys 1, 2, 3 (6309)");
        refuse(EVENT, t, "Heartbeat", "{'x':1}", "x: not an output parameter of Heartbeat (6304)");
        refuse(EVENT, t, "Fault", "{'Detail':7}", "Detail: expected a text (a string), got 7 (6305)");

        CHECK_INTEQ(tsl_check_service_input(NULL, NULL, NULL), -EINVAL);
        CHECK_INTEQ(tsl_check_event_output(NULL, NULL, NULL), -EINVAL);
}

TEST(check_value)
{
        _cleanup_(tsl_freep) Tsl *t = load("tests/data/tsl/thermostat.json");
        const TslType *f = tsl_property_type(tsl_find_property(t, "TargetTemperature"));
        const TslType *points = tsl_property_type(tsl_find_property(t, "Points"));
        _cleanup_(json_object_putp) json_object *v = json_object_new_int(10),
                                                *a = json_tokener_parse("[1,2]");
        json_object *keep = v;
        _cleanup_(freep) char *error = NULL;

        CHECK_INTEQ(tsl_check_value(f, "TargetTemperature", &v, &error), 0);
        CHECK(v != keep); /* replaced: the reference is the new object's */
        CHECK_STREQ(json_object_to_json_string(v), "10.0");
        CHECK_INTEQ(tsl_check_value(f, "TargetTemperature", &v, &error), 0);
        CHECK_STREQ(json_object_to_json_string(v), "10.0");

        keep = a;
        CHECK_INTEQ(tsl_check_value(points, "Points", &a, &error), 0);
        CHECK(a == keep); /* normalised in place */
        CHECK_STREQ(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN), "[1.0,2.0]");

        json_object_put(v);
        v = json_object_new_int(50);
        CHECK_INTEQ(tsl_check_value(f, "Config.Level", &v, &error), TSL_E_INVALID);
        CHECK_STREQ(error, "Config.Level: 50 is above the maximum 40 (6307)");
        CHECK_STREQ(json_object_to_json_string(v), "50");
}

TEST(identifiers)
{
        _cleanup_(tsl_freep) Tsl *t = NULL;
        _cleanup_(freep) char *error = NULL, *q = NULL, *id = calloc(1, 200);

        CHECK(parse_q("{'properties':[{'identifier':'_9a_Z','accessMode':'r','dataType':{'type':'int'}}]}",
                      &t, &error) == 0);
        CHECK(tsl_find_property(t, "_9a_Z"));
        memset(id, 'a', 128);
        CHECK(asprintf(&q, "{'properties':[{'identifier':'%s','accessMode':'r','dataType':{'type':'int'}}]}",
                      id) >= 0);
        t = tsl_free(t);
        CHECK(parse_q(q, &t, &error) == 0);
        free(q);
        id[128] = 'a';
        CHECK(asprintf(&q, "{'properties':[{'identifier':'%s','accessMode':'r','dataType':{'type':'int'}}]}",
                      id) >= 0);
        expect_bad_tsl(q, "is not an identifier (1 to 128 letters, digits and underscores)");
        expect_bad_tsl("{'properties':[{'identifier':'a:b','accessMode':'r','dataType':{'type':'int'}}]}",
                "\"a:b\" is not an identifier");
        expect_bad_tsl(
                "{'properties':[{'identifier':'\xc3\xa9','accessMode':'r','dataType':{'type':'int'}}]}",
                "is not an identifier");
        expect_bad_tsl("{'properties':[{'identifier':7,'accessMode':'r','dataType':{'type':'int'}}]}",
                "$.properties[0].identifier: expected a string, got 7");
}

TEST(many_features)
{
        /* 300 properties (the limit of a module): every one found. */
        _cleanup_(freep) char *q = calloc(1, 300 * 100 + 64);
        _cleanup_(tsl_freep) Tsl *t = NULL;
        _cleanup_(freep) char *error = NULL;
        size_t l = (size_t) sprintf(q, "{'properties':[");

        for (int i = 0; i < 300; i++)
                l += (size_t) sprintf(q + l,
                        "%s{'identifier':'P%03d','accessMode':'rw','dataType':{'type':'int'}}", i ? "," : "",
                        (i * 7) % 300);
        strcpy(q + l, "]}");
        CHECK_INTEQ(parse_q(q, &t, &error), 0);
        CHECK_INTEQ(tsl_n_properties(t), 300);
        for (int i = 0; i < 300; i++) {
                char id[8];
                sprintf(id, "P%03d", i);
                CHECK_STREQ(tsl_property_identifier(tsl_find_property(t, id)), id);
        }
        CHECK(!tsl_find_property(t, "P300"));
        CHECK_STREQ(tsl_property_identifier(tsl_property_at(t, 1)), "P007");
        ACCEPT_SET(t, "{'P000':1,'P150':2,'P299':3}", NULL);
}

TEST(strings)
{
        CHECK_STREQ(tsl_type_kind_to_string(TSL_TYPE_STRUCT), "struct");
        CHECK_INTEQ(tsl_type_kind_from_string("array"), TSL_TYPE_ARRAY);
        CHECK_INTEQ(tsl_type_kind_from_string("Array"), _TSL_TYPE_KIND_INVALID);
        CHECK_INTEQ(tsl_type_kind_from_string(NULL), _TSL_TYPE_KIND_INVALID);
        CHECK(!tsl_type_kind_to_string(_TSL_TYPE_KIND_MAX));
        CHECK_STREQ(tsl_call_type_to_string(TSL_CALL_SYNC), "sync");
        CHECK(!tsl_call_type_to_string(_TSL_CALL_TYPE_INVALID));
}

/* ---- files ---- */

TEST(load_file)
{
        char dir[] = "/tmp/test-tsl.XXXXXX";
        _cleanup_(freep) char *error = NULL, *path = NULL, *big = NULL;
        Tsl *t = NULL;
        FILE *f;

        CHECK(mkdtemp(dir));

        CHECK(asprintf(&path, "%s/missing.json", dir) >= 0);
        CHECK_INTEQ(tsl_load_file(path, &t, &error), -ENOENT);
        CHECK(!t);
        CHECK_CONTAINS(error, path);
        CHECK_CONTAINS(error, ": No such file or directory");
        error = mfree(error);

        CHECK_INTEQ(tsl_load_file(dir, &t, &error), TSL_E_INVALID);
        CHECK_CONTAINS(error, ": not a regular file");
        error = mfree(error);

        CHECK(f = fopen(path, "w"));
        fputs("{\"properties\":[{\"identifier\":\"A\",\n\"accessMode\":\"r\",\"dataType\":{\"type\":\"int\","
              "\"specs\":{\"min\":\"abc\"}}}]}\n",
                f);
        CHECK(fclose(f) == 0);
        CHECK_INTEQ(tsl_load_file(path, &t, &error), TSL_E_INVALID);
        CHECK(!t);
        CHECK(strncmp(error, path, strlen(path)) == 0);
        CHECK_CONTAINS(error, ": $.properties[0].dataType.specs.min: \"abc\" is not a number");
        error = mfree(error);

        CHECK(f = fopen(path, "w"));
        fputs("{\n  \"properties\": [\n    {,\n", f);
        CHECK(fclose(f) == 0);
        CHECK_INTEQ(tsl_load_file(path, &t, &error), TSL_E_INVALID);
        CHECK_CONTAINS(error, ": invalid JSON at line 3, column 6");
        error = mfree(error);

        CHECK(f = fopen(path, "w"));
        CHECK(fclose(f) == 0);
        CHECK_INTEQ(tsl_load_file(path, &t, &error), TSL_E_INVALID);
        CHECK_CONTAINS(error, ": empty");
        error = mfree(error);

        /* The console's import limit: 512 KiB is a thing model (white space here), one byte more is not. */
        big = malloc(TSL_MAX_FILE_SIZE + 1);
        CHECK(big);
        memset(big, ' ', TSL_MAX_FILE_SIZE + 1);
        big[0] = '{';
        big[TSL_MAX_FILE_SIZE - 1] = '}';
        CHECK(f = fopen(path, "w"));
        CHECK(fwrite(big, 1, TSL_MAX_FILE_SIZE, f) == TSL_MAX_FILE_SIZE);
        CHECK(fclose(f) == 0);
        CHECK_INTEQ(tsl_load_file(path, &t, &error), 0);
        t = tsl_free(t);
        CHECK(f = fopen(path, "a"));
        CHECK(fputc(' ', f) == ' ');
        CHECK(fclose(f) == 0);
        CHECK_INTEQ(tsl_load_file(path, &t, &error), TSL_E_INVALID);
        CHECK_CONTAINS(error, ": 524289 bytes, more than the 524288 a thing model may have");
        error = mfree(error);

        CHECK(unlink(path) == 0);
        CHECK(rmdir(dir) == 0);

        CHECK_INTEQ(tsl_load_file("/dev/null", &t, &error), TSL_E_INVALID);
        CHECK_STREQ(error, "/dev/null: not a regular file");
}
