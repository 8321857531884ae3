/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alink.h: Alink topics and JSON messages, as pure functions, for any product key and device name.
 * Sources: "Device properties, events, and services" (https://help.aliyun.com/document_detail/89301.htm)
 * and the Link SDK C components/data-model/aiot_dm_api.c.
 *
 * The owner of the Alink JSON formats (json-c); src/ota/ota-job.c reuses its parser and the package
 * members for the OTA job file. Parsers take the raw payload from the network (any bytes, any length) and
 * either fill an ali-linkd structure or return ALINK_E_INVALID with a message naming the problem; they
 * never crash and never trust a size. Builders return malloc'ed strings the caller frees.
 * Nothing here logs, keeps state, or does I/O. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "alink-limits.h"
#include "digest.h"
#include "macro.h"

struct json_object;

/* Alink messages are shallow; a deeper document is an attack or a bug, not a request. */
#define ALINK_MAX_JSON_DEPTH 16
#define ALINK_MAX_ID_LENGTH 64

/* Reply codes a device uses (§2.4, §2.10). */
enum {
        ALINK_CODE_SUCCESS = 200,
        ALINK_CODE_REQUEST_ERROR = 400,
        ALINK_CODE_TOO_MANY_REQUESTS = 429,
        ALINK_CODE_PARAM_ERROR = 460,
};

/* Expected outcome: the message was not acceptable; *ret_error says why. */
enum {
        ALINK_E_INVALID = 1,
        ALINK_E_NO_FIRMWARE = 2, /* a firmware/get_reply saying nothing is pending */
};

typedef enum AlinkTopicKind {
        ALINK_TOPIC_UNKNOWN,
        ALINK_TOPIC_PROPERTY_SET,     /* /sys/pk/dn/thing/service/property/set */
        ALINK_TOPIC_EVENT_POST_REPLY, /* /sys/pk/dn/thing/event/<name>/post_reply ("property" for posts) */
        ALINK_TOPIC_SERVICE,          /* /sys/pk/dn/thing/service/<name> */
        ALINK_TOPIC_USER,             /* /pk/dn/user/<name...> */
        ALINK_TOPIC_OTA_UPGRADE,      /* /ota/device/upgrade/pk/dn */
        ALINK_TOPIC_OTA_FIRMWARE_GET_REPLY, /* /sys/pk/dn/thing/ota/firmware/get_reply */
        ALINK_TOPIC_RRPC_SERVICE,           /* /ext/rrpc/<id>/sys/pk/dn/thing/service/<name>: reply there */
        ALINK_TOPIC_RRPC_REQUEST,           /* /sys/pk/dn/rrpc/request/<name = msgId> */
        ALINK_TOPIC_DESIRED_GET_REPLY,      /* /sys/pk/dn/thing/property/desired/get_reply */
        ALINK_TOPIC_DESIRED_DELETE_REPLY,   /* /sys/pk/dn/thing/property/desired/delete_reply */
        _ALINK_TOPIC_KIND_MAX,
} AlinkTopicKind;

/* The topics of one device, formatted once from the configured product key and device name. */
typedef struct AlinkTopics {
        char *sys_prefix;         /* "/sys/pk/dn/" */
        char *user_prefix;        /* "/pk/dn/user/" */
        char *property_set;       /* subscribe */
        char *property_set_reply; /* publish */
        char *property_post;      /* publish */
        char *event_post_reply;   /* subscribe, "+" for the event */
        char *service;            /* subscribe, "+" for the service */
        /* Synchronous services (RRPC, "Call a service synchronously",
         * https://help.aliyun.com/document_detail/90568.html): the Link SDK 4 form, answered on the topic
         * it came on, and the older form answered on rrpc/response/<msgId>. */
        char *rrpc_service; /* subscribe: /ext/rrpc/+/sys/pk/dn/thing/service/+ */
        char *rrpc_request; /* subscribe: /sys/pk/dn/rrpc/request/+ */
        /* Desired property values (https://help.aliyun.com/document_detail/171016.html). */
        char *desired_get;          /* publish */
        char *desired_get_reply;    /* subscribe */
        char *desired_delete;       /* publish */
        char *desired_delete_reply; /* subscribe */
        /* OTA (https://help.aliyun.com/document_detail/89307.htm). */
        char *ota_inform;             /* publish */
        char *ota_upgrade;            /* subscribe */
        char *ota_progress;           /* publish */
        char *ota_firmware_get;       /* publish */
        char *ota_firmware_get_reply; /* subscribe */
} AlinkTopics;

#define ALINK_TOPICS_NULL ((AlinkTopics){})

int alink_topics_init(AlinkTopics *t, const char *product_key, const char *device_name);
void alink_topics_done(AlinkTopics *t);
/* "/sys/pk/dn/<suffix>" */
int alink_topic_sys(const AlinkTopics *t, const char *suffix, char **ret);
/* "/pk/dn/user/<name>" */
int alink_topic_user(const AlinkTopics *t, const char *name, char **ret);
/* What a received topic is; *ret_name points into topic (event id, service id or user topic name), is not
 * NUL-terminated where the name ends before the topic does, and has *ret_name_len bytes. */
AlinkTopicKind alink_topic_classify(
        const AlinkTopics *t, const char *topic, const char **ret_name, size_t *ret_name_len);

/* "/sys/pk/dn/rrpc/response/<msg_id>", the answer to an rrpc/request (msg_id has msg_id_len bytes). */
int alink_topic_rrpc_response(const AlinkTopics *t, const char *msg_id, size_t msg_id_len, char **ret);
/* "/sys/pk/dn/thing/event/<event>/post" */
int alink_topic_event_post(const AlinkTopics *t, const char *event, char **ret);

/* True when a local client may publish to topic: this device's own /pk/dn/user/... and
 * /sys/pk/dn/thing/event/... topics, nothing else (D-Bus Publish). */
bool alink_topic_publish_allowed(const AlinkTopics *t, const char *topic);

/* A parsed thing.service.property.set. */
typedef struct AlinkPropertySet {
        char *id; /* as sent (numbers in decimal); NULL when it was missing or unreadable */
        struct json_object
                *params;   /* a non-empty object; what each property means is the device's business */
        char *params_json; /* the params object, re-serialised (for the D-Bus PropertySet signal) */
} AlinkPropertySet;

void alink_property_set_done(AlinkPropertySet *s);
/* The envelope of a set for any product: id, a non-empty params object, no NUL in any key or string. 0, or
 * ALINK_E_INVALID with *ret_error set (and s->id when it could be read), or negative errno. */
int alink_parse_property_set(const void *payload, size_t len, AlinkPropertySet *s, char **ret_error);

/* Any request from the cloud: a service call (async, or sync by either RRPC form). */
typedef struct AlinkRequest {
        char *id;                   /* NULL when it was missing or unreadable */
        char *method;               /* "thing.service.<id>", or NULL when absent */
        struct json_object *params; /* an object, {} when the request had none */
        bool is_reply; /* it has a code and neither method nor params: an answer, not a request */
} AlinkRequest;

void alink_request_done(AlinkRequest *r);
/* 0, ALINK_E_INVALID with *ret_error (and r->id when it could be read: answer it), or negative errno. */
int alink_parse_request(const void *payload, size_t len, AlinkRequest *r, char **ret_error);
/* The service a method names: "thing.service.Foo" gives "Foo"; NULL for anything else. */
const char *alink_method_service(const char *method);

/* A reply from the cloud (post_reply and the like). */
typedef struct AlinkReply {
        char *id;
        int64_t code;
        char *message;
        struct json_object *data; /* the data member when there was one, else NULL */
} AlinkReply;

void alink_reply_done(AlinkReply *r);
int alink_parse_reply(const void *payload, size_t len, AlinkReply *r, char **ret_error);
/* Reads just the id of any request, for answering one we cannot otherwise parse. */
int alink_parse_request_id(const void *payload, size_t len, char **ret_id);
/* The parser under all of the above, for other readers of untrusted JSON (the OTA job file): at most
 * ALINK_MAX_PAYLOAD bytes and ALINK_MAX_JSON_DEPTH levels, strict syntax, valid UTF-8, nothing but white
 * space after the document, an object at the top. 0 with *ret (json_object_put() it), ALINK_E_INVALID
 * with *ret_error, or negative errno. */
int alink_parse_json_object(const void *payload, size_t len, struct json_object **ret, char **ret_error);
/* The strict tokenizer under it (and under the thing model's parser): at most max_depth levels, strict
 * syntax, valid UTF-8. Returns json_tokener_success (0) with *ret, or another enum json_tokener_error with
 * *ret NULL, or -ENOMEM; *ret_end is where it stopped. What may follow the document is the caller's to
 * check. */
int alink_json_tokenize(
        const void *text, size_t len, int max_depth, struct json_object **ret, size_t *ret_end);

/* {"id":"<id>","code":<code>,"data":{}} plus "message" when given; id NULL leaves it out. */
int alink_build_reply(const char *id, int64_t code, const char *message, char **ret);
/* The same with data (an object or NULL for {}), whose reference this takes (also on failure). */
int alink_build_reply_data(
        const char *id, int64_t code, const char *message, struct json_object *data, char **ret);
/* thing.event.<event>.post: {"id","version","sys":{"ack":1},"params":{"value":<output>,"time":<ms>},
 * "method"}; takes output's reference (also on failure). */
int alink_build_event_post(
        const char *id, const char *event, struct json_object *output, uint64_t time_ms, char **ret);
/* thing.property.desired.get for the given identifiers (a NULL-terminated list, at least one). */
int alink_build_desired_get(const char *id, char *const *identifiers, char **ret);
/* thing.property.desired.delete: params {"<identifier>":{"version":<n>}, ...} built by the caller, whose
 * reference this takes (also on failure). */
int alink_build_desired_delete(const char *id, struct json_object *params, char **ret);
/* The per-property refusals in a property post_reply's data: the platform answers 200 and drops each
 * property it cannot parse, naming it in data ({"Foo":"tsl parse: params not exist"}). Calls fn for each
 * (identifier, reason) pair; returns how many there were. */
size_t alink_reply_foreach_refusal(const AlinkReply *r,
        void (*fn)(const char *identifier, const char *reason, void *userdata), void *userdata);
/* thing.event.property.post carrying the given params (a JSON object from a local client): 0, or
 * ALINK_E_INVALID with *ret_error when it is not a non-empty JSON object. */
int alink_build_property_post_params(const char *id, const char *params_json, char **ret, char **ret_error);
/* Fold two thing.event.property.post payloads into one (the outbox coalescing posts that wait): the
 * result is newer's envelope with every property of both, newer's values winning, each value in the
 * timed form {"value":...,"time":<epoch ms>} (batched posts,
 * https://help.aliyun.com/document_detail/89301.htm). older_timed says older's values already are in that
 * form. ALINK_E_INVALID when either is not a property post. */
int alink_merge_property_posts(const char *older, bool older_timed, uint64_t older_ms, const char *newer,
        uint64_t newer_ms, char **ret);
/* thing.event.property.post carrying params, a JSON object whose reference this takes (also on failure). */
int alink_build_property_post_object(const char *id, struct json_object *params, char **ret);

/* Reading one value of a params object, with the codec's limits and wording (for the modules that map
 * properties onto a device). Errors are ALINK_E_INVALID with *ret_error "<what>: <why>". */
int alink_json_error(char **ret_error, const char *format, ...) _printf_(2, 3);
/* The value as compact JSON, cut to 40 characters; NULL when out of memory. Caller frees. */
char *alink_json_describe(struct json_object *v);
/* A whole number in min..max (a boolean when max is 1; an integral double too). */
int alink_json_get_uint(
        struct json_object *v, const char *what, int64_t min, int64_t max, int64_t *ret, char **ret_error);

/* ---- OTA (https://help.aliyun.com/en/iot/user-guide/ota-update) ---- */

#define ALINK_OTA_MAX_URL 4096
/* The SDKs allow 32; a little slack, and it ends up in a file name and an environment variable. */
#define ALINK_OTA_MAX_VERSION 64
#define ALINK_OTA_MAX_MODULE 64
/* extData, as JSON text: it reaches the installer in an environment variable. */
#define ALINK_OTA_MAX_EXTRA 4096

/* One firmware package as the cloud describes it in an upgrade push or a firmware/get_reply. */
typedef struct AlinkOtaFirmware {
        char *url;     /* http:// or https://, used byte for byte; no spaces or control characters */
        uint64_t size; /* > 0 */
        char *version; /* printable, 1..ALINK_OTA_MAX_VERSION */
        DigestMethod sign_method;
        char *sign;   /* lower-case hex of the method's length ("sign", else "md5") */
        char *module; /* NULL for the default module */
        bool is_diff; /* isDiff: 1, a delta the installer must apply to the running image */
        char *extra;  /* extData (the operator's data for this push) as compact JSON text, or NULL */
} AlinkOtaFirmware;

void alink_ota_firmware_done(AlinkOtaFirmware *f);
/* An upgrade push (reply = false: code "1000" or 200, string or number) or a firmware/get_reply
 * (reply = true: code 200;
 * ALINK_E_NO_FIRMWARE when data carries no package). 0, ALINK_E_INVALID with *ret_error, or negative
 * errno. On ALINK_E_INVALID, f->module and f->version are set when they could be read, for the report. */
int alink_parse_ota_upgrade(
        const void *payload, size_t len, bool reply, AlinkOtaFirmware *f, char **ret_error);

/* The package description as members of a JSON object, named as in the cloud's data object (url, size,
 * version, signMethod, sign, module, isDiff and extData when set): for the OTA job file (src/ota/ota-job.c),
 * which keeps a package across restarts. from_json checks it as for a push: 0, ALINK_E_INVALID with
 * *ret_error, or negative errno; f's strings are the caller's in every case (free with
 * alink_ota_firmware_done()). */
int alink_ota_firmware_to_json(const AlinkOtaFirmware *f, struct json_object *o);
int alink_ota_firmware_from_json(struct json_object *o, AlinkOtaFirmware *f, char **ret_error);

/* {"id":"<id>","params":{"version":"<v>"[,"module":"<m>"]}} */
int alink_build_ota_inform(const char *id, const char *version, const char *module, char **ret);
/* {"id":"<id>","params":{"step":"<step>","desc":"<desc>"[,"module":"<m>"]}}: step as a string (§3.5). */
int alink_build_ota_progress(const char *id, int step, const char *desc, const char *module, char **ret);
/* thing.ota.firmware.get for the module (NULL: the default one). */
int alink_build_ota_firmware_get(const char *id, const char *module, char **ret);
