/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* tsl.c: the thing model (TSL) with json-c: the console's export parsed into an immutable Tsl, and the
 * checks of params against it.
 *
 * Parsing is strict about what the checks rely on (types, specs, identifiers) and ignores what they do not
 * read ("name", "desc", "required", "method", "unit", and any member it does not know). Every error names
 * the JSON path ("$.properties[2].dataType.specs.min: ..."). Lookups go through arrays sorted by
 * identifier (bsearch), so a set against a model of 300 features costs a few string compares per member.
 *
 * A check runs twice over the params: once to decide, touching nothing, then (only when all is well) to
 * normalise: float and double values given as JSON integers become doubles ("10.0"), an integral double
 * given to an int becomes an integer, true/false given to a bool become 1/0, and a date given as a JSON
 * integer becomes the string of its digits. The names of values in messages are built only when there is
 * an error: a check allocates nothing unless it normalises or fails. */
#include <fcntl.h>
#include <inttypes.h>
#include <float.h>
#include <json-c/json.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "alink.h"
#include "string-table.h"
#include "string-util.h"
#include "tsl.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* The limits of "Limits" (https://www.alibabacloud.com/help/doc-detail/30527.htm) and "Supported data
 * types" (https://help.aliyun.com/en/iot/user-guide/supported-data-types). */
#define TSL_MAX_TEXT_LENGTH 10240
#define TSL_MAX_ENUM_ITEMS 100
#define TSL_MAX_STRUCT_MEMBERS 50
#define TSL_MAX_ARRAY_SIZE 512
#define TSL_MAX_PARAMS 100 /* input or output parameters of one service or event */
/* A custom module's identifier: 1 to 30 letters, digits and underscores ("Add a TSL feature",
 * https://www.alibabacloud.com/help/en/iot/user-guide/add-a-tsl-feature). */
#define TSL_MAX_MODULE_ID 30
/* Feature and parameter identifiers: the console allows letters, digits and underscores; the public pages
 * do not agree on the length, so this takes what any of them allows and more (a longer one would only be
 * refused by the console, never sent by it). */
#define TSL_MAX_IDENTIFIER 128
/* Nesting of the export: the specs of a struct member inside an array property are 10 levels deep. */
#define TSL_MAX_JSON_DEPTH 32

/* The platform's TSL check codes (SDK 3 mirrors them, negated, in src/infra/infra_defs.h as
 * ERROR_DSL_PARSE_*), used as the vocabulary of the messages. */
enum {
        CODE_PARAMS_NOT_OBJECT = 6301,
        CODE_PARAMS_EMPTY = 6302,
        CODE_NOT_IN_MODEL = 6304,
        CODE_WRONG_TYPE = 6305,
        CODE_INT = 6306,
        CODE_FLOAT = 6307,
        CODE_BOOL = 6308,
        CODE_ENUM = 6309,
        CODE_TEXT = 6310,
        CODE_DATE = 6311,
        CODE_STRUCT = 6312,
        CODE_DOUBLE = 6322,
};

typedef struct TslParam TslParam;

/* One line of a lookup table: the tables are sorted by identifier, and index is the position in the
 * export (for messages). */
typedef struct IndexEntry {
        const char *identifier;
        size_t index;
        void *item;
} IndexEntry;

/* Parameters (a service's inputData or outputData, an event's outputData, a struct's members), in the
 * export's order, and by identifier. */
typedef struct TslParamList {
        TslParam *items;
        size_t n;
        IndexEntry *by_id;
} TslParamList;

struct TslType {
        TslTypeKind kind;
        /* int, float, double (an int's are integers within int32) */
        bool has_min, has_max;
        double min, max;
        /* text: bytes */
        size_t length;
        /* enum: the keys, sorted */
        int32_t *keys;
        size_t n_keys;
        /* struct */
        TslParamList members;
        /* array: at most size items of item */
        size_t size;
        TslType *item;
};

struct TslParam {
        char *identifier;
        TslType type;
};

struct TslProperty {
        char *identifier;
        bool writable;
        TslType type;
};

struct TslService {
        char *identifier;
        TslCallType call_type;
        TslParamList input, output;
};

typedef enum TslEventType {
        TSL_EVENT_INFO,
        TSL_EVENT_ALERT,
        TSL_EVENT_ERROR,
        _TSL_EVENT_TYPE_MAX,
        _TSL_EVENT_TYPE_INVALID = -22,
} TslEventType;

struct TslEvent {
        char *identifier;
        TslEventType type;
        TslParamList output;
};

struct Tsl {
        char *product_key;
        char *module; /* functionBlockId, or NULL for the default module */
        TslProperty *properties;
        size_t n_properties;
        IndexEntry *properties_by_id;
        TslService *services;
        size_t n_services;
        IndexEntry *services_by_id;
        TslEvent *events;
        size_t n_events;
        IndexEntry *events_by_id;
};

static const char *const tsl_type_kind_table[_TSL_TYPE_KIND_MAX] = {
        [TSL_TYPE_INT] = "int",
        [TSL_TYPE_FLOAT] = "float",
        [TSL_TYPE_DOUBLE] = "double",
        [TSL_TYPE_TEXT] = "text",
        [TSL_TYPE_DATE] = "date",
        [TSL_TYPE_BOOL] = "bool",
        [TSL_TYPE_ENUM] = "enum",
        [TSL_TYPE_STRUCT] = "struct",
        [TSL_TYPE_ARRAY] = "array",
};
DEFINE_STRING_TABLE(tsl_type_kind, TslTypeKind);

static const char *const tsl_call_type_table[_TSL_CALL_TYPE_MAX] = {
        [TSL_CALL_ASYNC] = "async",
        [TSL_CALL_SYNC] = "sync",
};
DEFINE_STRING_TABLE_TO_STRING(tsl_call_type, TslCallType)
/* Not in the header: only the parser reads call types. */
static _DEFINE_STRING_TABLE_FROM_STRING(tsl_call_type, TslCallType, strcmp)

        static const char *const tsl_event_type_table[_TSL_EVENT_TYPE_MAX] = {
                [TSL_EVENT_INFO] = "info",
                [TSL_EVENT_ALERT] = "alert",
                [TSL_EVENT_ERROR] = "error",
};
static _DEFINE_STRING_TABLE_FROM_STRING(tsl_event_type, TslEventType, strcmp)

/* ---- errors and paths ---- */

#define tsl_error(ret_error, ...) error_printf(ret_error, TSL_E_INVALID, __VA_ARGS__)

        /* Where a value is: a chain of segments on the stack, from the innermost to the root, written out
         * only for an error. The root is a name ("$", "Temperature"); below it a member (".specs") or an
         * index
         * ("[3]"). */
        typedef struct Path {
        const struct Path *parent;
        const char *name; /* NULL: index */
        size_t index;
} Path;

#define PATH_ROOT(n) ((Path){.name = (n)})
#define PATH_MEMBER(p, n) ((Path){.parent = (p), .name = (n)})
#define PATH_INDEX(p, i) ((Path){.parent = (p), .index = (i)})

static size_t path_write(const Path *p, char *buf, size_t size)
{
        size_t l = p->parent ? path_write(p->parent, buf, size) : 0;
        int n;

        if (!p->parent)
                n = snprintf(buf + l, size - l, "%s", p->name);
        else if (p->name)
                n = snprintf(buf + l, size - l, ".%s", p->name);
        else
                n = snprintf(buf + l, size - l, "[%zu]", p->index);
        return n < 0 ? l : MIN(l + (size_t) n, size - 1);
}

/* The path as text; paths are short (identifiers of at most TSL_MAX_IDENTIFIER bytes, at most a few
 * levels deep), and a longer one is cut. */
#define PATH_MAX_TEXT 512
static const char *path_text(const Path *p, char buf[static PATH_MAX_TEXT])
{
        buf[0] = '\0';
        (void) path_write(p, buf, PATH_MAX_TEXT);
        return buf;
}

_printf_(3, 4) static int path_error(char **ret_error, const Path *p, const char *format, ...)
{
        char where[PATH_MAX_TEXT];
        _cleanup_(freep) char *why = NULL;
        va_list ap;
        int r;

        if (!ret_error)
                return TSL_E_INVALID;
        va_start(ap, format);
        r = vasprintf(&why, format, ap);
        va_end(ap);
        if (r < 0) {
                why = NULL;
                return -ENOMEM;
        }
        return tsl_error(ret_error, "%s: %s", path_text(p, where), why);
}

/* A value for a message: compact JSON, cut (on a character boundary) to about 40 bytes. */
#define DESCRIBE_MAX 40
static const char *describe(json_object *v, char buf[static DESCRIBE_MAX + 4])
{
        const char *s =
                json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        size_t l;

        if (!s)
                return "(null)";
        l = strlen(s);
        if (l <= DESCRIBE_MAX)
                return s;
        l = DESCRIBE_MAX - 3;
        while (l > 0 && ((unsigned char) s[l] & 0xC0) == 0x80)
                l--;
        memcpy(buf, s, l);
        memcpy(buf + l, "...", 4);
        return buf;
}

/* A double as short as it reads back exactly ("40", "0.01", "-1e+20"). */
static const char *format_number(double d, char buf[static 32])
{
        if (d == floor(d) && fabs(d) < 1e15) {
                (void) snprintf(buf, 32, "%.0f", d);
                return buf;
        }
        for (int prec = 1; prec <= 17; prec++) {
                (void) snprintf(buf, 32, "%.*g", prec, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        return buf;
}

/* ---- lookups ---- */

static int compare_entries(const void *a, const void *b)
{
        const IndexEntry *x = a, *y = b;
        int r = strcmp(x->identifier, y->identifier);

        if (r != 0)
                return r;
        /* Equal identifiers (duplicates, refused): by position, so the later one is reported. */
        return x->index < y->index ? -1 : x->index > y->index;
}

static int compare_key(const void *key, const void *element)
{
        return strcmp(key, ((const IndexEntry *) element)->identifier);
}

static void *index_find(const IndexEntry *table, size_t n, const char *identifier)
{
        const IndexEntry *e;

        if (!table || !identifier)
                return NULL;
        e = bsearch(identifier, table, n, sizeof(IndexEntry), compare_key);
        return e ? e->item : NULL;
}

/* Sorts the table and refuses a duplicate identifier: path is the array in the export. */
static int index_sort(IndexEntry *table, size_t n, const Path *path, char **ret_error)
{
        qsort(table, n, sizeof(IndexEntry), compare_entries);
        for (size_t i = 1; i < n; i++)
                if (streq(table[i - 1].identifier, table[i].identifier)) {
                        Path element = PATH_INDEX(path, table[i].index);
                        Path id = PATH_MEMBER(&element, "identifier");
                        return path_error(ret_error, &id, "\"%s\" is defined twice (also at index %zu)",
                                table[i].identifier, table[i - 1].index);
                }
        return 0;
}

/* ---- freeing ---- */

static void type_done(TslType *t);

static void param_list_done(TslParamList *l)
{
        for (size_t i = 0; i < l->n; i++) {
                free(l->items[i].identifier);
                type_done(&l->items[i].type);
        }
        free(l->items);
        free(l->by_id);
        *l = (TslParamList){};
}

static void type_done(TslType *t)
{
        free(t->keys);
        param_list_done(&t->members);
        if (t->item) {
                type_done(t->item);
                free(t->item);
        }
        *t = (TslType){};
}

Tsl *tsl_free(Tsl *t)
{
        if (!t)
                return NULL;
        for (size_t i = 0; i < t->n_properties; i++) {
                free(t->properties[i].identifier);
                type_done(&t->properties[i].type);
        }
        for (size_t i = 0; i < t->n_services; i++) {
                free(t->services[i].identifier);
                param_list_done(&t->services[i].input);
                param_list_done(&t->services[i].output);
        }
        for (size_t i = 0; i < t->n_events; i++) {
                free(t->events[i].identifier);
                param_list_done(&t->events[i].output);
        }
        free(t->properties);
        free(t->properties_by_id);
        free(t->services);
        free(t->services_by_id);
        free(t->events);
        free(t->events_by_id);
        free(t->product_key);
        free(t->module);
        free(t);
        return NULL;
}

/* ---- parsing the export ---- */

/* Member key of object o: NULL when absent. A JSON null counts as absent. */
static json_object *member(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static int expect_type(json_object *v, json_type type, const Path *p, const char *what, char **ret_error)
{
        char d[DESCRIBE_MAX + 4];

        if (json_object_is_type(v, type))
                return 0;
        if (!v)
                return path_error(ret_error, p, "expected %s, got null", what);
        return path_error(ret_error, p, "expected %s, got %s", what, describe(v, d));
}

/* A required member of type type. */
static int get_member(json_object *o, const char *key, json_type type, const char *what, const Path *parent,
        json_object **ret, char **ret_error)
{
        Path p = PATH_MEMBER(parent, key);
        json_object *v;

        if (!json_object_object_get_ex(o, key, &v))
                return path_error(ret_error, &p, "missing");
        *ret = v;
        return expect_type(v, type, &p, what, ret_error);
}

/* An optional string member: *ret stays NULL when absent. */
static int get_optional_string(
        json_object *o, const char *key, const Path *parent, const char **ret, char **ret_error)
{
        Path p = PATH_MEMBER(parent, key);
        json_object *v;
        int r;

        if (!json_object_object_get_ex(o, key, &v))
                return 0;
        r = expect_type(v, json_type_string, &p, "a string", ret_error);
        if (r != 0)
                return r;
        *ret = json_object_get_string(v);
        return 0;
}

/* A decimal number as JSON writes it: -?digits(.digits)?([eE][+-]?digits)?. strtod() alone would also take
 * white space, hex, "inf" and "nan". */
static bool is_decimal_number(const char *s)
{
        const char *p = s;

        if (*p == '-')
                p++;
        if (!(*p >= '0' && *p <= '9'))
                return false;
        while (*p >= '0' && *p <= '9')
                p++;
        if (*p == '.') {
                p++;
                if (!(*p >= '0' && *p <= '9'))
                        return false;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        if (*p == 'e' || *p == 'E') {
                p++;
                if (*p == '+' || *p == '-')
                        p++;
                if (!(*p >= '0' && *p <= '9'))
                        return false;
                while (*p >= '0' && *p <= '9')
                        p++;
        }
        return *p == '\0';
}

/* A number of specs: a string ("10", as the export writes them) or a JSON number. */
static int spec_number(json_object *v, const Path *p, double *ret, char **ret_error)
{
        char d[DESCRIBE_MAX + 4];
        double x;

        switch (json_object_get_type(v)) {
        case json_type_string: {
                const char *s = json_object_get_string(v);
                if (!is_decimal_number(s))
                        return path_error(ret_error, p, "%s is not a number", describe(v, d));
                x = strtod(s, NULL);
                break;
        }
        case json_type_int:
        case json_type_double:
                x = json_object_get_double(v);
                break;
        default:
                return path_error(ret_error, p, "expected a number, got %s", describe(v, d));
        }
        if (!isfinite(x))
                return path_error(ret_error, p, "%s is out of range", describe(v, d));
        *ret = x;
        return 0;
}

/* A whole number of specs in min..max. */
static int spec_integer(json_object *v, const Path *p, double min, double max, double *ret, char **ret_error)
{
        char d[DESCRIBE_MAX + 4], a[32], b[32];
        double x;
        int r;

        r = spec_number(v, p, &x, ret_error);
        if (r != 0)
                return r;
        if (x != floor(x))
                return path_error(ret_error, p, "%s is not an integer", describe(v, d));
        if (x < min || x > max)
                return path_error(ret_error, p, "%s is not in %s..%s", describe(v, d), format_number(min, a),
                        format_number(max, b));
        *ret = x;
        return 0;
}

static bool identifier_is_valid(const char *s, size_t max)
{
        size_t l = strlen(s);

        if (l == 0 || l > max)
                return false;
        for (const char *p = s; *p; p++)
                if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
                            *p == '_'))
                        return false;
        return true;
}

/* The "identifier" member of o, checked. */
static int get_identifier(json_object *o, const Path *parent, const char **ret, char **ret_error)
{
        Path p = PATH_MEMBER(parent, "identifier");
        json_object *v;
        int r;

        r = get_member(o, "identifier", json_type_string, "a string", parent, &v, ret_error);
        if (r != 0)
                return r;
        if (!identifier_is_valid(json_object_get_string(v), TSL_MAX_IDENTIFIER))
                return path_error(ret_error, &p,
                        "\"%s\" is not an identifier (1 to %d letters, digits and underscores)",
                        json_object_get_string(v), TSL_MAX_IDENTIFIER);
        *ret = json_object_get_string(v);
        return 0;
}

typedef enum TypeContext {
        CONTEXT_TOP,    /* a property's or a parameter's type: any kind */
        CONTEXT_MEMBER, /* a struct member's: no struct, no array */
        CONTEXT_ITEM,   /* an array item's: int, float, double, text, struct */
} TypeContext;

static int parse_type(
        json_object *data_type, const Path *p, TypeContext context, TslType *ret, char **ret_error);
static int parse_params(json_object *array, const Path *p, size_t max, TypeContext context,
        TslParamList *ret, char **ret_error);

static int parse_number_specs(json_object *specs, const Path *sp, TslType *t, char **ret_error)
{
        char a[32], b[32];
        json_object *v;
        int r;

        if (!specs)
                return 0;
        r = expect_type(specs, json_type_object, sp, "an object", ret_error);
        if (r != 0)
                return r;

        v = member(specs, "min");
        if (v) {
                Path p = PATH_MEMBER(sp, "min");
                r = t->kind == TSL_TYPE_INT ? spec_integer(v, &p, INT32_MIN, INT32_MAX, &t->min, ret_error)
                                            : spec_number(v, &p, &t->min, ret_error);
                if (r != 0)
                        return r;
                t->has_min = true;
        }
        v = member(specs, "max");
        if (v) {
                Path p = PATH_MEMBER(sp, "max");
                r = t->kind == TSL_TYPE_INT ? spec_integer(v, &p, INT32_MIN, INT32_MAX, &t->max, ret_error)
                                            : spec_number(v, &p, &t->max, ret_error);
                if (r != 0)
                        return r;
                t->has_max = true;
        }
        if (t->has_min && t->has_max && t->min > t->max) {
                Path p = PATH_MEMBER(sp, "min");
                return path_error(ret_error, &p, "the minimum %s is above the maximum %s",
                        format_number(t->min, a), format_number(t->max, b));
        }
        /* The step is informational (values are not refused for it), but must be a number. */
        v = member(specs, "step");
        if (v) {
                Path p = PATH_MEMBER(sp, "step");
                double step;
                r = spec_number(v, &p, &step, ret_error);
                if (r != 0)
                        return r;
        }
        return 0;
}

static int compare_int32(const void *a, const void *b)
{
        int32_t x = *(const int32_t *) a, y = *(const int32_t *) b;
        return x < y ? -1 : x > y;
}

/* bool {"0": "off", "1": "on"}; enum {"0": "red", "1": "blue", ...}. */
static int parse_keyed_specs(json_object *specs, const Path *sp, TslType *t, char **ret_error)
{
        size_t n;
        int r;

        if (!specs && t->kind == TSL_TYPE_BOOL)
                return 0;
        if (!specs)
                return path_error(ret_error, sp, "missing (an enum needs its items)");
        r = expect_type(specs, json_type_object, sp, "an object", ret_error);
        if (r != 0)
                return r;
        n = (size_t) json_object_object_length(specs);
        if (t->kind == TSL_TYPE_ENUM) {
                if (n == 0)
                        return path_error(ret_error, sp, "an enum needs at least one item");
                if (n > TSL_MAX_ENUM_ITEMS)
                        return path_error(ret_error, sp, "%zu items, more than the %d an enum may have", n,
                                TSL_MAX_ENUM_ITEMS);
                t->keys = calloc(n, sizeof(int32_t));
                if (!t->keys)
                        return -ENOMEM;
        }

        json_object_object_foreach(specs, key, value)
        {
                Path p = PATH_MEMBER(sp, key);
                char d[DESCRIBE_MAX + 4];
                if (t->kind == TSL_TYPE_BOOL) {
                        if (!streq(key, "0") && !streq(key, "1"))
                                return path_error(ret_error, &p, "a bool's specs name the values 0 and 1");
                } else {
                        char canonical[16];
                        long k;
                        /* Written as the platform writes them: "1", never "01", "+1" or "1.0". */
                        errno = 0;
                        k = strtol(key, NULL, 10);
                        if (errno != 0 || k < INT32_MIN || k > INT32_MAX ||
                                snprintf(canonical, sizeof(canonical), "%ld", k) < 0 ||
                                !streq(canonical, key))
                                return path_error(ret_error, &p, "an enum's keys are integers");
                        t->keys[t->n_keys++] = (int32_t) k;
                }
                if (!json_object_is_type(value, json_type_string))
                        return path_error(ret_error, &p, "expected a string, got %s", describe(value, d));
        }

        /* Keys are unique: json-c keeps the last of equal keys, and "01" is refused above. */
        if (t->kind == TSL_TYPE_ENUM)
                qsort(t->keys, t->n_keys, sizeof(int32_t), compare_int32);
        return 0;
}

static int parse_array_specs(json_object *specs, const Path *sp, TslType *t, char **ret_error)
{
        Path size_path = PATH_MEMBER(sp, "size"), item_path = PATH_MEMBER(sp, "item");
        json_object *size, *item;
        double n;
        int r;

        if (!specs)
                return path_error(ret_error, sp, "missing (an array needs its size and item)");
        r = expect_type(specs, json_type_object, sp, "an object", ret_error);
        if (r != 0)
                return r;
        size = member(specs, "size");
        if (!size)
                return path_error(ret_error, &size_path, "missing");
        r = spec_integer(size, &size_path, 1, TSL_MAX_ARRAY_SIZE, &n, ret_error);
        if (r != 0)
                return r;
        t->size = (size_t) n;

        r = get_member(specs, "item", json_type_object, "an object", sp, &item, ret_error);
        if (r != 0)
                return r;
        t->item = calloc(1, sizeof(TslType));
        if (!t->item)
                return -ENOMEM;
        return parse_type(item, &item_path, CONTEXT_ITEM, t->item, ret_error);
}

static int parse_type(
        json_object *data_type, const Path *p, TypeContext context, TslType *t, char **ret_error)
{
        Path type_path = PATH_MEMBER(p, "type"), specs_path = PATH_MEMBER(p, "specs");
        json_object *type, *specs;
        TslTypeKind kind;
        int r;

        r = expect_type(data_type, json_type_object, p, "an object", ret_error);
        if (r != 0)
                return r;
        r = get_member(data_type, "type", json_type_string, "a string", p, &type, ret_error);
        if (r != 0)
                return r;
        kind = tsl_type_kind_from_string(json_object_get_string(type));
        if (kind < 0)
                return path_error(
                        ret_error, &type_path, "unknown type \"%s\"", json_object_get_string(type));
        if (context == CONTEXT_MEMBER && (kind == TSL_TYPE_STRUCT || kind == TSL_TYPE_ARRAY))
                return path_error(ret_error, &type_path, "a struct's members cannot be of type %s",
                        json_object_get_string(type));
        if (context == CONTEXT_ITEM && kind != TSL_TYPE_INT && kind != TSL_TYPE_FLOAT &&
                kind != TSL_TYPE_DOUBLE && kind != TSL_TYPE_TEXT && kind != TSL_TYPE_STRUCT)
                return path_error(ret_error, &type_path,
                        "an array's items are int, float, double, text or struct, not %s",
                        json_object_get_string(type));
        t->kind = kind;
        specs = member(data_type, "specs");

        switch (kind) {
        case TSL_TYPE_INT:
        case TSL_TYPE_FLOAT:
        case TSL_TYPE_DOUBLE:
                return parse_number_specs(specs, &specs_path, t, ret_error);
        case TSL_TYPE_TEXT: {
                json_object *length;
                double l;
                t->length = TSL_MAX_TEXT_LENGTH;
                if (!specs)
                        return 0;
                r = expect_type(specs, json_type_object, &specs_path, "an object", ret_error);
                if (r != 0)
                        return r;
                length = member(specs, "length");
                if (length) {
                        Path lp = PATH_MEMBER(&specs_path, "length");
                        r = spec_integer(length, &lp, 1, TSL_MAX_TEXT_LENGTH, &l, ret_error);
                        if (r != 0)
                                return r;
                        t->length = (size_t) l;
                }
                return 0;
        }
        case TSL_TYPE_DATE:
                return 0;
        case TSL_TYPE_BOOL:
        case TSL_TYPE_ENUM:
                return parse_keyed_specs(specs, &specs_path, t, ret_error);
        case TSL_TYPE_STRUCT:
                if (!specs)
                        return path_error(ret_error, &specs_path, "missing (a struct needs its members)");
                r = expect_type(specs, json_type_array, &specs_path, "an array", ret_error);
                if (r != 0)
                        return r;
                if (json_object_array_length(specs) == 0)
                        return path_error(ret_error, &specs_path, "a struct needs at least one member");
                return parse_params(
                        specs, &specs_path, TSL_MAX_STRUCT_MEMBERS, CONTEXT_MEMBER, &t->members, ret_error);
        case TSL_TYPE_ARRAY:
                return parse_array_specs(specs, &specs_path, t, ret_error);
        default:
                return -EINVAL;
        }
}

/* A list of {identifier, dataType} (a struct's specs, inputData, outputData). */
static int parse_params(json_object *array, const Path *p, size_t max, TypeContext context, TslParamList *l,
        char **ret_error)
{
        size_t n = json_object_array_length(array);
        int r;

        if (n > max)
                return path_error(ret_error, p, "%zu entries, more than the %zu allowed", n, max);
        if (n == 0)
                return 0;
        l->items = calloc(n, sizeof(TslParam));
        l->by_id = calloc(n, sizeof(IndexEntry));
        if (!l->items || !l->by_id)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                Path ep = PATH_INDEX(p, i), tp = PATH_MEMBER(&ep, "dataType");
                json_object *e = json_object_array_get_idx(array, i), *data_type;
                TslParam *param = &l->items[i];
                const char *id;

                r = expect_type(e, json_type_object, &ep, "an object", ret_error);
                if (r != 0)
                        return r;
                r = get_identifier(e, &ep, &id, ret_error);
                if (r != 0)
                        return r;
                param->identifier = strdup(id);
                if (!param->identifier)
                        return -ENOMEM;
                l->by_id[i] = (IndexEntry){param->identifier, i, param};
                l->n++;
                data_type = member(e, "dataType");
                if (!data_type)
                        return path_error(ret_error, &tp, "missing");
                r = parse_type(data_type, &tp, context, &param->type, ret_error);
                if (r != 0)
                        return r;
        }
        return index_sort(l->by_id, l->n, p, ret_error);
}

/* An optional inputData/outputData array. */
static int parse_param_member(
        json_object *o, const char *key, const Path *parent, TslParamList *ret, char **ret_error)
{
        Path p = PATH_MEMBER(parent, key);
        json_object *v = member(o, key);
        int r;

        if (!v)
                return 0;
        r = expect_type(v, json_type_array, &p, "an array", ret_error);
        if (r != 0)
                return r;
        return parse_params(v, &p, TSL_MAX_PARAMS, CONTEXT_TOP, ret, ret_error);
}

/* The identifier on the wire: "moduleId:identifier" in a custom module. */
static int feature_identifier(const Tsl *t, const char *id, char **ret)
{
        if (t->module)
                return asprintf(ret, "%s:%s", t->module, id) < 0 ? -ENOMEM : 0;
        *ret = strdup(id);
        return *ret ? 0 : -ENOMEM;
}

/* The entries of one of the three arrays, pseudo-entries skipped: how many, and which. */
static bool is_pseudo_entry(const char *key, const char *id);

static int feature_array(json_object *root, const char *key, const Path *rp, json_object **ret_array,
        size_t *ret_n, char **ret_error)
{
        Path p = PATH_MEMBER(rp, key);
        json_object *a = member(root, key);
        size_t n = 0;
        int r;

        *ret_array = NULL;
        *ret_n = 0;
        if (!a)
                return 0;
        r = expect_type(a, json_type_array, &p, "an array", ret_error);
        if (r != 0)
                return r;
        for (size_t i = 0; i < json_object_array_length(a); i++) {
                Path ep = PATH_INDEX(&p, i);
                json_object *e = json_object_array_get_idx(a, i);
                const char *id;
                r = expect_type(e, json_type_object, &ep, "an object", ret_error);
                if (r != 0)
                        return r;
                r = get_identifier(e, &ep, &id, ret_error);
                if (r != 0)
                        return r;
                if (!is_pseudo_entry(key, id))
                        n++;
        }
        *ret_array = a;
        *ret_n = n;
        return 0;
}

/* The pseudo-entries of the full export (SDK 3, src/dev_model/dm_tsl_alink.c and dm_shadow.h
 * DM_SHW_SPECIAL_*): the property post event and the property set and get services. */
static bool is_pseudo_entry(const char *key, const char *id)
{
        if (streq(key, "events"))
                return streq(id, "post");
        if (streq(key, "services"))
                return streq(id, "set") || streq(id, "get");
        return false;
}

static int parse_properties(Tsl *t, json_object *root, const Path *rp, char **ret_error)
{
        Path ap = PATH_MEMBER(rp, "properties");
        json_object *a;
        size_t n;
        int r;

        r = feature_array(root, "properties", rp, &a, &n, ret_error);
        if (r != 0 || n == 0)
                return r;
        t->properties = calloc(n, sizeof(TslProperty));
        t->properties_by_id = calloc(n, sizeof(IndexEntry));
        if (!t->properties || !t->properties_by_id)
                return -ENOMEM;

        for (size_t i = 0; i < n; i++) {
                Path ep = PATH_INDEX(&ap, i), mp = PATH_MEMBER(&ep, "accessMode"),
                     tp = PATH_MEMBER(&ep, "dataType");
                json_object *e = json_object_array_get_idx(a, i), *mode, *data_type;
                TslProperty *prop = &t->properties[i];
                const char *id, *m;

                (void) get_identifier(e, &ep, &id, NULL); /* checked by feature_array() */
                r = feature_identifier(t, id, &prop->identifier);
                if (r < 0)
                        return r;
                t->properties_by_id[t->n_properties++] = (IndexEntry){prop->identifier, i, prop};

                r = get_member(e, "accessMode", json_type_string, "a string", &ep, &mode, ret_error);
                if (r != 0)
                        return r;
                m = json_object_get_string(mode);
                if (streq(m, "rw") || streq(m, "w"))
                        prop->writable = true;
                else if (!streq(m, "r"))
                        return path_error(ret_error, &mp, "\"%s\" is not r, rw or w", m);

                data_type = member(e, "dataType");
                if (!data_type)
                        return path_error(ret_error, &tp, "missing");
                r = parse_type(data_type, &tp, CONTEXT_TOP, &prop->type, ret_error);
                if (r != 0)
                        return r;
        }
        return index_sort(t->properties_by_id, t->n_properties, &ap, ret_error);
}

static int parse_services(Tsl *t, json_object *root, const Path *rp, char **ret_error)
{
        Path ap = PATH_MEMBER(rp, "services");
        json_object *a;
        size_t n;
        int r;

        r = feature_array(root, "services", rp, &a, &n, ret_error);
        if (r != 0 || n == 0)
                return r;
        t->services = calloc(n, sizeof(TslService));
        t->services_by_id = calloc(n, sizeof(IndexEntry));
        if (!t->services || !t->services_by_id)
                return -ENOMEM;

        for (size_t i = 0; i < json_object_array_length(a); i++) {
                Path ep = PATH_INDEX(&ap, i), cp = PATH_MEMBER(&ep, "callType");
                json_object *e = json_object_array_get_idx(a, i), *call;
                TslService *s;
                const char *id;

                (void) get_identifier(e, &ep, &id, NULL);
                if (is_pseudo_entry("services", id))
                        continue;
                s = &t->services[t->n_services];
                r = feature_identifier(t, id, &s->identifier);
                if (r < 0)
                        return r;
                t->services_by_id[t->n_services++] = (IndexEntry){s->identifier, i, s};

                r = get_member(e, "callType", json_type_string, "a string", &ep, &call, ret_error);
                if (r != 0)
                        return r;
                s->call_type = tsl_call_type_from_string(json_object_get_string(call));
                if (s->call_type < 0)
                        return path_error(
                                ret_error, &cp, "\"%s\" is not async or sync", json_object_get_string(call));
                r = parse_param_member(e, "inputData", &ep, &s->input, ret_error);
                if (r != 0)
                        return r;
                r = parse_param_member(e, "outputData", &ep, &s->output, ret_error);
                if (r != 0)
                        return r;
        }
        return index_sort(t->services_by_id, t->n_services, &ap, ret_error);
}

static int parse_events(Tsl *t, json_object *root, const Path *rp, char **ret_error)
{
        Path ap = PATH_MEMBER(rp, "events");
        json_object *a;
        size_t n;
        int r;

        r = feature_array(root, "events", rp, &a, &n, ret_error);
        if (r != 0 || n == 0)
                return r;
        t->events = calloc(n, sizeof(TslEvent));
        t->events_by_id = calloc(n, sizeof(IndexEntry));
        if (!t->events || !t->events_by_id)
                return -ENOMEM;

        for (size_t i = 0; i < json_object_array_length(a); i++) {
                Path ep = PATH_INDEX(&ap, i), tp = PATH_MEMBER(&ep, "type");
                json_object *e = json_object_array_get_idx(a, i), *type;
                TslEvent *ev;
                const char *id;

                (void) get_identifier(e, &ep, &id, NULL);
                if (is_pseudo_entry("events", id))
                        continue;
                ev = &t->events[t->n_events];
                r = feature_identifier(t, id, &ev->identifier);
                if (r < 0)
                        return r;
                t->events_by_id[t->n_events++] = (IndexEntry){ev->identifier, i, ev};

                r = get_member(e, "type", json_type_string, "a string", &ep, &type, ret_error);
                if (r != 0)
                        return r;
                ev->type = tsl_event_type_from_string(json_object_get_string(type));
                if (ev->type < 0)
                        return path_error(ret_error, &tp, "\"%s\" is not info, alert or error",
                                json_object_get_string(type));
                r = parse_param_member(e, "outputData", &ep, &ev->output, ret_error);
                if (r != 0)
                        return r;
        }
        return index_sort(t->events_by_id, t->n_events, &ap, ret_error);
}

/* Line and column (from 1) of byte offset in text, for syntax errors. */
static void position(const char *text, size_t offset, unsigned *ret_line, unsigned *ret_column)
{
        unsigned line = 1, column = 1;

        for (size_t i = 0; i < offset; i++) {
                if (text[i] == '\n') {
                        line++;
                        column = 1;
                } else if (((unsigned char) text[i] & 0xC0) != 0x80)
                        column++;
        }
        *ret_line = line;
        *ret_column = column;
}

static int parse_document(const char *text, size_t len, json_object **ret, char **ret_error)
{
        json_object *o;
        unsigned line, column;
        int e;
        size_t end;

        /* A file saved by an editor that marks UTF-8. */
        if (len >= 3 && memcmp(text, "\xef\xbb\xbf", 3) == 0) {
                text += 3;
                len -= 3;
        }
        if (len == 0)
                return tsl_error(ret_error, "empty");
        if (len > TSL_MAX_FILE_SIZE)
                return tsl_error(ret_error, "%zu bytes, more than the %d a thing model may have", len,
                        TSL_MAX_FILE_SIZE);
        if (json_text_has_escaped_nul(text, len))
                return tsl_error(ret_error, "a string holds \\u0000");

        e = alink_json_tokenize(text, len, TSL_MAX_JSON_DEPTH, &o, &end);
        if (e < 0)
                return e;
        if (e != json_tokener_success) {
                if (e == json_tokener_continue)
                        return tsl_error(ret_error, "invalid JSON: unexpected end of input");
                position(text, MIN(end, len), &line, &column);
                return tsl_error(ret_error, "invalid JSON at line %u, column %u: %s", line, column,
                        json_tokener_error_desc((enum json_tokener_error) e));
        }
        for (size_t i = end; i < len; i++)
                if (!strchr(" \t\r\n", text[i])) {
                        json_object_put(o);
                        position(text, i, &line, &column);
                        return tsl_error(ret_error,
                                "invalid JSON at line %u, column %u: data after the document", line, column);
                }
        *ret = o;
        return 0;
}

int tsl_parse(const char *text, size_t len, Tsl **ret, char **ret_error)
{
        _cleanup_(json_object_putp) json_object *root = NULL;
        _cleanup_(tsl_freep) Tsl *t = NULL;
        Path rp = PATH_ROOT("$");
        const char *s = NULL;
        json_object *profile;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!text && len > 0)
                return -EINVAL;
        r = parse_document(text, len, &root, ret_error);
        if (r != 0)
                return r;
        r = expect_type(root, json_type_object, &rp, "an object", ret_error);
        if (r != 0)
                return r;

        t = calloc(1, sizeof(Tsl));
        if (!t)
                return -ENOMEM;

        r = get_optional_string(root, "schema", &rp, &s, ret_error);
        if (r != 0)
                return r;
        profile = member(root, "profile");
        if (profile) {
                Path pp = PATH_MEMBER(&rp, "profile");
                r = expect_type(profile, json_type_object, &pp, "an object", ret_error);
                if (r != 0)
                        return r;
                s = NULL;
                r = get_optional_string(profile, "productKey", &pp, &s, ret_error);
                if (r != 0)
                        return r;
                if (s) {
                        t->product_key = strdup(s);
                        if (!t->product_key)
                                return -ENOMEM;
                }
                r = get_optional_string(profile, "version", &pp, &s, ret_error);
                if (r != 0)
                        return r;
        }

        /* A custom module's export names the module; its features are "moduleId:identifier" in messages
         * ("Use TSL models for communication",
         * https://www.alibabacloud.com/help/en/iot/user-guide/use-tsl-models-for-communication). */
        s = NULL;
        r = get_optional_string(root, "functionBlockId", &rp, &s, ret_error);
        if (r != 0)
                return r;
        if (s) {
                Path fp = PATH_MEMBER(&rp, "functionBlockId");
                if (!identifier_is_valid(s, TSL_MAX_MODULE_ID))
                        return path_error(ret_error, &fp,
                                "\"%s\" is not a module identifier (1 to %d letters, digits and "
                                "underscores)",
                                s, TSL_MAX_MODULE_ID);
                t->module = strdup(s);
                if (!t->module)
                        return -ENOMEM;
        }

        r = parse_properties(t, root, &rp, ret_error);
        if (r != 0)
                return r;
        r = parse_services(t, root, &rp, ret_error);
        if (r != 0)
                return r;
        r = parse_events(t, root, &rp, ret_error);
        if (r != 0)
                return r;

        *ret = TAKE_PTR(t);
        return 0;
}

int tsl_load_file(const char *path, Tsl **ret, char **ret_error)
{
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *text = NULL, *error = NULL;
        size_t len = 0;
        struct stat st;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!path)
                return -EINVAL;
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0) {
                r = -errno;
                (void) tsl_error(ret_error, "%s: %s", path, strerror(-r));
                return r;
        }
        if (fstat(fd, &st) < 0) {
                r = -errno;
                (void) tsl_error(ret_error, "%s: %s", path, strerror(-r));
                return r;
        }
        if (!S_ISREG(st.st_mode))
                return tsl_error(ret_error, "%s: not a regular file", path);
        if (st.st_size > TSL_MAX_FILE_SIZE)
                return tsl_error(ret_error, "%s: %jd bytes, more than the %d a thing model may have", path,
                        (intmax_t) st.st_size, TSL_MAX_FILE_SIZE);

        /* One byte more than the limit, to notice a file that grew since fstat(). */
        text = malloc(TSL_MAX_FILE_SIZE + 1);
        if (!text)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, text + len, TSL_MAX_FILE_SIZE + 1 - len);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        r = -errno;
                        (void) tsl_error(ret_error, "%s: %s", path, strerror(-r));
                        return r;
                }
                if (n == 0 || len + (size_t) n > TSL_MAX_FILE_SIZE) {
                        len += (size_t) n;
                        break;
                }
                len += (size_t) n;
        }

        r = tsl_parse(text, len, ret, ret_error ? &error : NULL);
        if (r != 0 && error)
                return tsl_error(ret_error, "%s: %s", path, error) < 0 ? -ENOMEM : r;
        return r;
}

/* ---- accessors ---- */

const char *tsl_product_key(const Tsl *t)
{
        return t ? t->product_key : NULL;
}

size_t tsl_n_properties(const Tsl *t)
{
        return t ? t->n_properties : 0;
}

const TslProperty *tsl_property_at(const Tsl *t, size_t i)
{
        return t && i < t->n_properties ? &t->properties[i] : NULL;
}

const TslProperty *tsl_find_property(const Tsl *t, const char *identifier)
{
        return t ? index_find(t->properties_by_id, t->n_properties, identifier) : NULL;
}

const char *tsl_property_identifier(const TslProperty *p)
{
        return p ? p->identifier : NULL;
}

bool tsl_property_writable(const TslProperty *p)
{
        return p && p->writable;
}

const TslType *tsl_property_type(const TslProperty *p)
{
        return p ? &p->type : NULL;
}

size_t tsl_n_services(const Tsl *t)
{
        return t ? t->n_services : 0;
}

const TslService *tsl_service_at(const Tsl *t, size_t i)
{
        return t && i < t->n_services ? &t->services[i] : NULL;
}

const TslService *tsl_find_service(const Tsl *t, const char *identifier)
{
        return t ? index_find(t->services_by_id, t->n_services, identifier) : NULL;
}

const char *tsl_service_identifier(const TslService *s)
{
        return s ? s->identifier : NULL;
}

TslCallType tsl_service_call_type(const TslService *s)
{
        return s ? s->call_type : _TSL_CALL_TYPE_INVALID;
}

size_t tsl_n_events(const Tsl *t)
{
        return t ? t->n_events : 0;
}

const TslEvent *tsl_event_at(const Tsl *t, size_t i)
{
        return t && i < t->n_events ? &t->events[i] : NULL;
}

const TslEvent *tsl_find_event(const Tsl *t, const char *identifier)
{
        return t ? index_find(t->events_by_id, t->n_events, identifier) : NULL;
}

const char *tsl_event_identifier(const TslEvent *e)
{
        return e ? e->identifier : NULL;
}

TslTypeKind tsl_type_kind(const TslType *type)
{
        return type ? type->kind : _TSL_TYPE_KIND_INVALID;
}

static bool type_is_number(TslTypeKind k)
{
        return k == TSL_TYPE_INT || k == TSL_TYPE_FLOAT || k == TSL_TYPE_DOUBLE;
}

bool tsl_type_range(const TslType *type, double *ret_min, double *ret_max)
{
        if (!type || !type_is_number(type->kind) || !type->has_min || !type->has_max)
                return false;
        if (ret_min)
                *ret_min = type->min;
        if (ret_max)
                *ret_max = type->max;
        return true;
}

/* ---- the checks ---- */

static int check_value(const TslType *t, const Path *p, json_object *v, bool apply, bool partial,
        json_object **ret_new, char **ret_error);

static int wrong_type(const TslType *t, const Path *p, json_object *v, char **ret_error)
{
        static const char *const expected[_TSL_TYPE_KIND_MAX] = {
                [TSL_TYPE_INT] = "an int",
                [TSL_TYPE_FLOAT] = "a float",
                [TSL_TYPE_DOUBLE] = "a double",
                [TSL_TYPE_TEXT] = "a text (a string)",
                [TSL_TYPE_DATE] = "a date (a string of epoch milliseconds)",
                [TSL_TYPE_BOOL] = "a bool (0 or 1)",
                [TSL_TYPE_ENUM] = "an enum (an integer)",
                [TSL_TYPE_STRUCT] = "a struct (an object)",
                [TSL_TYPE_ARRAY] = "an array",
        };
        char d[DESCRIBE_MAX + 4];

        return path_error(ret_error, p, "expected %s, got %s (%d)", expected[t->kind],
                v ? describe(v, d) : "null", CODE_WRONG_TYPE);
}

static int check_range(const TslType *t, const Path *p, json_object *v, double x, int code, char **ret_error)
{
        char d[DESCRIBE_MAX + 4], b[32];

        if (t->has_min && x < t->min)
                return path_error(ret_error, p, "%s is below the minimum %s (%d)", describe(v, d),
                        format_number(t->min, b), code);
        if (t->has_max && x > t->max)
                return path_error(ret_error, p, "%s is above the maximum %s (%d)", describe(v, d),
                        format_number(t->max, b), code);
        return 0;
}

static int check_int(
        const TslType *t, const Path *p, json_object *v, bool apply, json_object **ret_new, char **ret_error)
{
        char d[DESCRIBE_MAX + 4];
        double x;

        if (json_object_is_type(v, json_type_int)) {
                int64_t i = json_object_get_int64(v);
                if (i < INT32_MIN || i > INT32_MAX)
                        return path_error(
                                ret_error, p, "%s is out of the int32 range (%d)", describe(v, d), CODE_INT);
                return check_range(t, p, v, (double) i, CODE_INT, ret_error);
        }
        if (!json_object_is_type(v, json_type_double))
                return wrong_type(t, p, v, ret_error);
        /* 3.0 is the integer 3, and is sent as 3. */
        x = json_object_get_double(v);
        if (!isfinite(x) || x != floor(x))
                return path_error(ret_error, p, "%s is not an integer (%d)", describe(v, d), CODE_INT);
        if (x < INT32_MIN || x > INT32_MAX)
                return path_error(
                        ret_error, p, "%s is out of the int32 range (%d)", describe(v, d), CODE_INT);
        if (check_range(t, p, v, x, CODE_INT, ret_error) != 0)
                return TSL_E_INVALID;
        if (apply) {
                *ret_new = json_object_new_int((int32_t) x);
                if (!*ret_new)
                        return -ENOMEM;
        }
        return 0;
}

static int check_real(
        const TslType *t, const Path *p, json_object *v, bool apply, json_object **ret_new, char **ret_error)
{
        int code = t->kind == TSL_TYPE_FLOAT ? CODE_FLOAT : CODE_DOUBLE;
        char d[DESCRIBE_MAX + 4];
        double x;
        int r;

        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
                return wrong_type(t, p, v, ret_error);
        x = json_object_get_double(v);
        if (!isfinite(x))
                return path_error(ret_error, p, "%s is out of range (%d)", describe(v, d), code);
        r = check_range(t, p, v, x, code, ret_error);
        if (r != 0)
                return r;
        /* The platform wants a decimal point in a float or double ("10.0"): json-c writes a double
         * created from a number that way. */
        if (apply && json_object_is_type(v, json_type_int)) {
                *ret_new = json_object_new_double(x);
                if (!*ret_new)
                        return -ENOMEM;
        }
        return 0;
}

static int check_text(const TslType *t, const Path *p, json_object *v, char **ret_error)
{
        size_t l;

        if (!json_object_is_type(v, json_type_string))
                return wrong_type(t, p, v, ret_error);
        l = (size_t) json_object_get_string_len(v);
        if (memchr(json_object_get_string(v), 0, l))
                return path_error(ret_error, p, "a text holds a NUL (%d)", CODE_TEXT);
        if (l > t->length)
                return path_error(
                        ret_error, p, "%zu bytes, longer than its length %zu (%d)", l, t->length, CODE_TEXT);
        return 0;
}

/* Epoch milliseconds: a string of decimal digits, or a JSON integer (sent as the string). */
static int check_date(
        const TslType *t, const Path *p, json_object *v, bool apply, json_object **ret_new, char **ret_error)
{
        char d[DESCRIBE_MAX + 4], buf[32];

        if (json_object_is_type(v, json_type_string)) {
                const char *s = json_object_get_string(v);
                size_t l = (size_t) json_object_get_string_len(v);
                if (l == 0 || l > 19 || strspn(s, "0123456789") != l)
                        return path_error(ret_error, p, "%s is not epoch milliseconds (%d)", describe(v, d),
                                CODE_DATE);
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return wrong_type(t, p, v, ret_error);
        if (json_object_get_int64(v) < 0)
                return path_error(
                        ret_error, p, "%s is not epoch milliseconds (%d)", describe(v, d), CODE_DATE);
        if (apply) {
                (void) snprintf(buf, sizeof(buf), "%" PRIi64, json_object_get_int64(v));
                *ret_new = json_object_new_string(buf);
                if (!*ret_new)
                        return -ENOMEM;
        }
        return 0;
}

static int check_bool(
        const TslType *t, const Path *p, json_object *v, bool apply, json_object **ret_new, char **ret_error)
{
        if (json_object_is_type(v, json_type_boolean)) {
                if (apply) {
                        *ret_new = json_object_new_int(json_object_get_boolean(v) ? 1 : 0);
                        if (!*ret_new)
                                return -ENOMEM;
                }
                return 0;
        }
        if (!json_object_is_type(v, json_type_int))
                return wrong_type(t, p, v, ret_error);
        if (json_object_get_int64(v) != 0 && json_object_get_int64(v) != 1)
                return path_error(ret_error, p, "a bool is 0 or 1 (%d)", CODE_BOOL);
        return 0;
}

static int check_enum(const TslType *t, const Path *p, json_object *v, char **ret_error)
{
        char d[DESCRIBE_MAX + 4], keys[128];
        size_t l = 0;
        int64_t i;
        int32_t k;

        if (!json_object_is_type(v, json_type_int))
                return wrong_type(t, p, v, ret_error);
        i = json_object_get_int64(v);
        k = (int32_t) i;
        if (i >= INT32_MIN && i <= INT32_MAX &&
                bsearch(&k, t->keys, t->n_keys, sizeof(int32_t), compare_int32))
                return 0;

        keys[0] = '\0';
        for (size_t j = 0; j < t->n_keys && l < sizeof(keys) - 16; j++) {
                int n = snprintf(keys + l, sizeof(keys) - l, "%s%" PRIi32, j > 0 ? ", " : "", t->keys[j]);
                if (n < 0)
                        break;
                l += (size_t) n;
                if (j + 1 < t->n_keys && l >= sizeof(keys) - 16) {
                        (void) snprintf(keys + l, sizeof(keys) - l, ", ...");
                        break;
                }
        }
        return path_error(
                ret_error, p, "%s is not one of the enum's keys %s (%d)", describe(v, d), keys, CODE_ENUM);
}

/* partial: members may be left out (a property set changes the members it names). */
static int check_struct(
        const TslType *t, const Path *p, json_object *v, bool apply, bool partial, char **ret_error)
{
        size_t found = 0;
        int r;

        if (!json_object_is_type(v, json_type_object))
                return wrong_type(t, p, v, ret_error);

        json_object_object_foreach(v, key, value)
        {
                const TslParam *m = index_find(t->members.by_id, t->members.n, key);
                Path mp = PATH_MEMBER(p, key);
                json_object *n = NULL;
                if (!m) {
                        char where[PATH_MAX_TEXT];
                        return tsl_error(ret_error, "%s: member %s is not in the struct (%d)",
                                path_text(p, where), key, CODE_STRUCT);
                }
                found++;
                r = check_value(&m->type, &mp, value, apply, false, &n, ret_error);
                if (r != 0)
                        return r;
                if (n)
                        /* Replaces the value of an existing key: the iteration goes on. */
                        if (json_object_object_add(v, key, n) < 0)
                                return -ENOMEM;
        }
        if (found == 0)
                return path_error(ret_error, p, "no member of the struct is given (%d)", CODE_STRUCT);
        if (found < t->members.n && !partial)
                for (size_t i = 0; i < t->members.n; i++)
                        if (!json_object_object_get_ex(v, t->members.items[i].identifier, NULL)) {
                                char where[PATH_MAX_TEXT];
                                return tsl_error(ret_error, "%s: member %s is missing (%d)",
                                        path_text(p, where), t->members.items[i].identifier, CODE_STRUCT);
                        }
        return 0;
}

static int check_array(const TslType *t, const Path *p, json_object *v, bool apply, char **ret_error)
{
        size_t n;
        int r;

        if (!json_object_is_type(v, json_type_array))
                return wrong_type(t, p, v, ret_error);
        n = json_object_array_length(v);
        if (n > t->size)
                return path_error(ret_error, p, "%zu items, more than its size %zu", n, t->size);
        for (size_t i = 0; i < n; i++) {
                Path ip = PATH_INDEX(p, i);
                json_object *item = json_object_array_get_idx(v, i), *new = NULL;
                /* An array is set as a whole: its structs are whole too. */
                r = check_value(t->item, &ip, item, apply, /* partial= */ false, &new, ret_error);
                if (r != 0)
                        return r;
                if (new &&json_object_array_put_idx(v, i, new) < 0) {
                        json_object_put(new);
                        return -ENOMEM;
                }
        }
        return 0;
}

/* Checks v against t. With apply, normalises: the nested values in place, and v itself by a new object in
 * *ret_new (the caller puts it where v was). */
static int check_value(const TslType *t, const Path *p, json_object *v, bool apply, bool partial,
        json_object **ret_new, char **ret_error)
{
        switch (t->kind) {
        case TSL_TYPE_INT:
                return check_int(t, p, v, apply, ret_new, ret_error);
        case TSL_TYPE_FLOAT:
        case TSL_TYPE_DOUBLE:
                return check_real(t, p, v, apply, ret_new, ret_error);
        case TSL_TYPE_TEXT:
                return check_text(t, p, v, ret_error);
        case TSL_TYPE_DATE:
                return check_date(t, p, v, apply, ret_new, ret_error);
        case TSL_TYPE_BOOL:
                return check_bool(t, p, v, apply, ret_new, ret_error);
        case TSL_TYPE_ENUM:
                return check_enum(t, p, v, ret_error);
        case TSL_TYPE_STRUCT:
                return check_struct(t, p, v, apply, partial, ret_error);
        case TSL_TYPE_ARRAY:
                return check_array(t, p, v, apply, ret_error);
        default:
                return -EINVAL;
        }
}

int tsl_check_value(const TslType *type, const char *what, struct json_object **value, char **ret_error)
{
        Path p = PATH_ROOT(what ?: "value");
        json_object *n = NULL;
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!type || !value)
                return -EINVAL;
        r = check_value(type, &p, *value, /* apply= */ false, /* partial= */ false, NULL, ret_error);
        if (r != 0)
                return r;
        r = check_value(type, &p, *value, /* apply= */ true, /* partial= */ false, &n, ret_error);
        if (r != 0)
                return r;
        if (n) {
                json_object_put(*value);
                *value = n;
        }
        return 0;
}

/* The timed form of a post, {"value": v, "time": epoch-ms}
 * (https://help.aliyun.com/document_detail/89301.htm): an object with "value" and at most "time" besides,
 * unless the property is a struct that has a member "value" (then the object is the struct's value). */
static bool is_timed(const TslType *t, json_object *v)
{
        if (!json_object_is_type(v, json_type_object) || !json_object_object_get_ex(v, "value", NULL))
                return false;
        if (json_object_object_length(v) > 2 ||
                (json_object_object_length(v) == 2 && !json_object_object_get_ex(v, "time", NULL)))
                return false;
        return t->kind != TSL_TYPE_STRUCT || !index_find(t->members.by_id, t->members.n, "value");
}

typedef enum CheckKind {
        CHECK_SET,
        CHECK_POST,
        CHECK_SERVICE_INPUT,
        CHECK_SERVICE_OUTPUT,
        CHECK_EVENT_OUTPUT,
} CheckKind;

typedef struct CheckContext {
        CheckKind kind;
        const Tsl *tsl;             /* CHECK_SET, CHECK_POST */
        const TslParamList *params; /* the others */
        const char *feature;        /* the service or event, for messages */
} CheckContext;

/* One member of params: found, allowed, and its value checked (then, with apply, normalised). */
static int check_member(const CheckContext *c, json_object *params, const char *key, json_object *value,
        bool apply, char **ret_error)
{
        Path p = PATH_ROOT(key);
        const TslType *type;
        json_object *n = NULL, *target = value;
        int r;

        if (c->tsl) {
                const TslProperty *prop = tsl_find_property(c->tsl, key);
                if (!prop)
                        return tsl_error(
                                ret_error, "%s: not in the thing model (%d)", key, CODE_NOT_IN_MODEL);
                if (c->kind == CHECK_SET && !prop->writable)
                        return tsl_error(ret_error, "%s: read-only", key);
                type = &prop->type;
        } else {
                const TslParam *param = index_find(c->params->by_id, c->params->n, key);
                if (!param)
                        return tsl_error(ret_error, "%s: not %s parameter of %s (%d)", key,
                                c->kind == CHECK_SERVICE_INPUT ? "an input" : "an output", c->feature,
                                CODE_NOT_IN_MODEL);
                type = &param->type;
        }

        if (c->kind == CHECK_POST && is_timed(type, value)) {
                json_object *time;
                target = member(value, "value");
                if (json_object_object_get_ex(value, "time", &time) &&
                        (!json_object_is_type(time, json_type_int) || json_object_get_int64(time) < 0)) {
                        char d[DESCRIBE_MAX + 4];
                        return tsl_error(ret_error, "%s: time %s is not epoch milliseconds (%d)", key,
                                describe(time, d), CODE_DATE);
                }
        }

        /* A set names the struct members it changes (the light's colour has always worked that way);
         * everything else carries them all. */
        r = check_value(type, &p, target, apply, c->kind == CHECK_SET, &n, ret_error);
        if (r != 0 || !n)
                return r;
        /* Replaces the value of an existing key (the caller's iteration goes on). */
        if (json_object_object_add(target == value ? params : value, target == value ? key : "value", n) < 0)
                return -ENOMEM;
        return 0;
}

static int check_params(const CheckContext *c, json_object *params, char **ret_error)
{
        int r;

        if (ret_error)
                *ret_error = NULL;
        if (!json_object_is_type(params, json_type_object))
                return tsl_error(ret_error, "params is not an object (%d)", CODE_PARAMS_NOT_OBJECT);
        if ((c->kind == CHECK_SET || c->kind == CHECK_POST) && json_object_object_length(params) == 0)
                return tsl_error(ret_error, "params is empty (%d)", CODE_PARAMS_EMPTY);

        for (int apply = 0; apply <= 1; apply++) {
                json_object_object_foreach(params, key, value)
                {
                        r = check_member(c, params, key, value, apply, ret_error);
                        if (r != 0)
                                return r;
                }
        }
        return 0;
}

int tsl_check_property_set(const Tsl *t, struct json_object *params, char **ret_error)
{
        if (!t)
                return -EINVAL;
        return check_params(&(CheckContext){.kind = CHECK_SET, .tsl = t}, params, ret_error);
}

int tsl_check_property_post(const Tsl *t, struct json_object *params, char **ret_error)
{
        if (!t)
                return -EINVAL;
        return check_params(&(CheckContext){.kind = CHECK_POST, .tsl = t}, params, ret_error);
}

int tsl_check_service_input(const TslService *s, struct json_object *params, char **ret_error)
{
        if (!s)
                return -EINVAL;
        return check_params(
                &(CheckContext){.kind = CHECK_SERVICE_INPUT, .params = &s->input, .feature = s->identifier},
                params, ret_error);
}

int tsl_check_service_output(const TslService *s, struct json_object *params, char **ret_error)
{
        if (!s)
                return -EINVAL;
        return check_params(
                &(CheckContext){
                        .kind = CHECK_SERVICE_OUTPUT, .params = &s->output, .feature = s->identifier},
                params, ret_error);
}

int tsl_check_event_output(const TslEvent *e, struct json_object *params, char **ret_error)
{
        if (!e)
                return -EINVAL;
        return check_params(
                &(CheckContext){.kind = CHECK_EVENT_OUTPUT, .params = &e->output, .feature = e->identifier},
                params, ret_error);
}
