/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tsl.h: a product's thing model (TSL), as the IoT Platform console exports it, and the checks every
 * property set, service call, post and event goes through before anything is actuated or sent.
 *
 * Sources: "TSL parameters" (https://help.aliyun.com/zh/iot/user-guide/tsl-parameters), "Supported data
 * types" (https://help.aliyun.com/en/iot/user-guide/supported-data-types), "Limits"
 * (https://www.alibabacloud.com/help/doc-detail/30527.htm); the SDK 3.0.1 TSL parser
 * (iotkit-embedded src/dev_model/dm_tsl_alink.c) for what a device may skip.
 *
 * The export is JSON: "schema", "profile" {"productKey"}, and arrays "properties", "events", "services".
 * Each data type is {"type": int|float|double|text|date|bool|enum|struct|array, "specs": ...}, and every
 * number inside specs is a string ("min":"0"). The pseudo-entries the full export carries (event "post",
 * services "set" and "get", which repeat the properties) are skipped. A custom module's export has its
 * identifiers prefixed "moduleId:" on the wire.
 *
 * A Tsl is immutable once loaded. Nothing here does I/O except tsl_load_file(), nor logs, nor keeps state.
 * Errors are TSL_E_INVALID with *ret_error, a message that names the JSON path or the identifier and the
 * rule, or negative errno. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "macro.h"

struct json_object;

/* Expected outcome: the TSL or the params do not satisfy the model; *ret_error says why. Equal to
 * ALINK_E_INVALID, so callers can treat both alike. */
#define TSL_E_INVALID 1

/* The console's import limit (DOC "Limits"): a bigger file is not a thing model. */
#define TSL_MAX_FILE_SIZE (512 * 1024)

typedef enum TslTypeKind {
        TSL_TYPE_INT,    /* JSON integer, int32, specs min/max/step (strings) */
        TSL_TYPE_FLOAT,  /* JSON number, specs as int; sent with a decimal point */
        TSL_TYPE_DOUBLE, /* same */
        TSL_TYPE_TEXT,   /* JSON string, specs length (bytes, <= 10240) */
        TSL_TYPE_DATE,   /* JSON string of UTC epoch milliseconds */
        TSL_TYPE_BOOL,   /* JSON integer 0 or 1; specs {"0":"...","1":"..."} */
        TSL_TYPE_ENUM,   /* JSON integer, a key of specs {"0":"red",...} */
        TSL_TYPE_STRUCT, /* JSON object; specs an array of {identifier,name,dataType} (no nesting) */
        TSL_TYPE_ARRAY,  /* JSON array; specs {"size":"N","item":{"type":...,"specs":...}} */
        _TSL_TYPE_KIND_MAX,
        _TSL_TYPE_KIND_INVALID = -22,
} TslTypeKind;

typedef enum TslCallType {
        TSL_CALL_ASYNC, /* thing.service.{id} -> {id}_reply */
        TSL_CALL_SYNC,  /* delivered by RRPC; the caller waits at most 8 s */
        _TSL_CALL_TYPE_MAX,
        _TSL_CALL_TYPE_INVALID = -22,
} TslCallType;

typedef struct Tsl Tsl;
typedef struct TslType TslType;         /* a dataType */
typedef struct TslProperty TslProperty; /* a property: identifier, accessMode, dataType */
typedef struct TslService TslService;   /* a service: identifier, callType, inputData, outputData */
typedef struct TslEvent TslEvent;       /* an event: identifier, type, outputData */

const char *tsl_type_kind_to_string(TslTypeKind k);
TslTypeKind tsl_type_kind_from_string(const char *s);
const char *tsl_call_type_to_string(TslCallType t);

/* Parses an export. The text need not be NUL-terminated. */
int tsl_parse(const char *text, size_t len, Tsl **ret, char **ret_error);
/* Reads and parses a file (regular, at most TSL_MAX_FILE_SIZE); the error names the file. */
int tsl_load_file(const char *path, Tsl **ret, char **ret_error);
Tsl *tsl_free(Tsl *t);
DEFINE_TRIVIAL_CLEANUP_FUNC(Tsl *, tsl_free);

/* profile.productKey, or NULL. */
const char *tsl_product_key(const Tsl *t);

size_t tsl_n_properties(const Tsl *t);
const TslProperty *tsl_property_at(const Tsl *t, size_t i); /* in the export's order */
const TslProperty *tsl_find_property(const Tsl *t, const char *identifier);
const char *tsl_property_identifier(const TslProperty *p);
bool tsl_property_writable(const TslProperty *p); /* accessMode "rw" (or "w") */
const TslType *tsl_property_type(const TslProperty *p);

size_t tsl_n_services(const Tsl *t);
const TslService *tsl_service_at(const Tsl *t, size_t i);
const TslService *tsl_find_service(const Tsl *t, const char *identifier);
const char *tsl_service_identifier(const TslService *s);
TslCallType tsl_service_call_type(const TslService *s);

size_t tsl_n_events(const Tsl *t);
const TslEvent *tsl_event_at(const Tsl *t, size_t i);
const TslEvent *tsl_find_event(const Tsl *t, const char *identifier);
const char *tsl_event_identifier(const TslEvent *e);

TslTypeKind tsl_type_kind(const TslType *type);
/* int, float, double: the specs' min and max (false for the other kinds, or when the export has none). */
bool tsl_type_range(const TslType *type, double *ret_min, double *ret_max);

/* The checks. Each takes a params object and checks it all before saying yes (all or nothing); on success
 * it normalises the object in place: a float or double value given as a JSON integer becomes a double, so
 * it is serialised with a decimal point ("10.0").
 *
 * A property set: every member is a property of the model, writable, and of the right type and specs; a
 * struct may name only some of its members (at least one): the ones the set changes. */
int tsl_check_property_set(const Tsl *t, struct json_object *params, char **ret_error);
/* A property post: every member is a property (read-only ones too), each value plain or in the timed form
 * {"value": v, "time": epoch-ms}. */
int tsl_check_property_post(const Tsl *t, struct json_object *params, char **ret_error);
/* A service call's params against its inputData, and a service's answer against its outputData: every
 * member is a parameter of the list, of the right type; members absent are allowed (the platform does not
 * require them). */
int tsl_check_service_input(const TslService *s, struct json_object *params, char **ret_error);
int tsl_check_service_output(const TslService *s, struct json_object *params, char **ret_error);
/* An event's params against its outputData. */
int tsl_check_event_output(const TslEvent *e, struct json_object *params, char **ret_error);
/* One value against one data type (what the checks above use for each member); what names the value in
 * the message ("Temperature", "Config.Mode", "Points[3]"). Normalises in place where it can: *value may
 * be replaced (the reference is then the new object's). */
int tsl_check_value(const TslType *type, const char *what, struct json_object **value, char **ret_error);
