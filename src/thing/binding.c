/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* binding.c: the [binding.IDENTIFIER] sections (one table of keys), their checks against the property's
 * type, and the Binding that dispatches to its kind (binding-internal.h) and answers writes from a defer
 * source, so done is never called from inside binding_write(). */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding-internal.h"
#include "binding.h"
#include "log.h"
#include "macro.h"
#include "string-table.h"
#include "string-util.h"
#include "time-util.h"

static const char *const binding_kind_table[_BINDING_KIND_MAX] = {
        [BINDING_GPIO_OUTPUT] = "gpio-output",
        [BINDING_GPIO_INPUT] = "gpio-input",
        [BINDING_PWM] = "pwm",
        [BINDING_LED] = "led",
        [BINDING_FILE] = "file",
        [BINDING_COMMAND] = "command",
};
DEFINE_STRING_TABLE_TO_STRING(binding_kind, BindingKind)

static const char *const binding_edge_table[_BINDING_EDGE_MAX] = {
        [BINDING_EDGE_BOTH] = "both",
        [BINDING_EDGE_RISING] = "rising",
        [BINDING_EDGE_FALLING] = "falling",
};
DEFINE_STRING_TABLE(binding_edge, BindingEdge)

static const char *const binding_bias_table[_BINDING_BIAS_MAX] = {
        [BINDING_BIAS_AS_IS] = "as-is",
        [BINDING_BIAS_DISABLED] = "disabled",
        [BINDING_BIAS_PULL_UP] = "pull-up",
        [BINDING_BIAS_PULL_DOWN] = "pull-down",
};
DEFINE_STRING_TABLE(binding_bias, BindingBias)

/* ---------------------------------------------------------------------------------------------------------
 * The keys. */

#define error_set(ret_error, ...) error_printf(ret_error, -EINVAL, __VA_ARGS__)

typedef struct BindingKey BindingKey;
typedef int (*BindingKeyParser)(
        BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **ret_error);

/* The kinds a key applies to. */
#define K(kind) (1u << (kind))
#define GPIO (K(BINDING_GPIO_OUTPUT) | K(BINDING_GPIO_INPUT))
#define GPIO_IN K(BINDING_GPIO_INPUT)
#define PWM K(BINDING_PWM)
#define LED K(BINDING_LED)
#define FILE_ K(BINDING_FILE)
#define COMMAND K(BINDING_COMMAND)
#define ALL (GPIO | PWM | LED | FILE_ | COMMAND)

struct BindingKey {
        const char *key;
        unsigned kinds;
        BindingKeyParser parse;
        size_t offset;
        uint64_t min, max;
};

static int parse_type(BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        static const struct {
                const char *name;
                BindingKind kind;
        } types[] = {
                {"gpio", BINDING_GPIO_OUTPUT},
                {"pwm", BINDING_PWM},
                {"led", BINDING_LED},
                {"file", BINDING_FILE},
                {"command", BINDING_COMMAND},
        };

        for (size_t i = 0; i < ELEMENTSOF(types); i++)
                if (streq(value, types[i].name)) {
                        c->kind = types[i].kind == BINDING_GPIO_OUTPUT && s->input ? BINDING_GPIO_INPUT
                                                                                   : types[i].kind;
                        return 0;
                }
        return error_set(e, "%s = %s: expected gpio, pwm, led, file or command", k->key, value);
}

static int parse_direction(
        BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        if (streq(value, "input"))
                s->input = true;
        else if (streq(value, "output"))
                s->input = false;
        else
                return error_set(e, "%s = %s: expected input or output", k->key, value);
        if (c->kind == BINDING_GPIO_OUTPUT || c->kind == BINDING_GPIO_INPUT)
                c->kind = s->input ? BINDING_GPIO_INPUT : BINDING_GPIO_OUTPUT;
        return 0;
}

/* A name without blanks: a chip, a line name, an LED. */
static int parse_word(BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        if (isempty(value) || strlen(value) > 128 || !printable_word(value))
                return error_set(
                        e, "%s = %s: expected a name of 1..128 characters without blanks", k->key, value);
        return free_and_strdup((char **) ((uint8_t *) s + k->offset), value);
}

static int parse_line(BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        if (isempty(value) || strlen(value) > 128 || !printable_word(value))
                return error_set(e, "%s = %s: not a line offset or name", k->key, value);
        return free_and_strdup(&s->line, value);
}

static int parse_led(BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        /* A directory name in /sys/class/leds: no slash, not . or .. */
        if (isempty(value) || strchr(value, '/') || streq(value, ".") || streq(value, ".."))
                return error_set(
                        e, "%s = %s: expected the name of an LED in /sys/class/leds", k->key, value);
        return parse_word(c, s, k, value, e);
}

static int parse_abs_path(
        BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        if (isempty(value) || value[0] != '/')
                return error_set(e, "%s = %s: expected an absolute path", k->key, value);
        if (strlen(value) > 4096)
                return error_set(e, "%s: the path is longer than 4096 bytes", k->key);
        return free_and_strdup((char **) ((uint8_t *) s + k->offset), value);
}

static int parse_bool(BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        int b = parse_boolean(value);

        if (b < 0)
                return error_set(e, "%s = %s: expected yes or no", k->key, value);
        *(bool *) ((uint8_t *) s + k->offset) = b;
        return 0;
}

static int parse_uint(BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        uint64_t v;

        if (safe_atou64_range(value, k->min, k->max, &v) < 0)
                return error_set(e, "%s = %s: expected an integer from %" PRIu64 " to %" PRIu64, k->key,
                        value, k->min, k->max);
        *(uint64_t *) ((uint8_t *) s + k->offset) = v;
        return 0;
}

static int parse_time(BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        uint64_t v;
        int r;

        r = parse_duration(value, &v);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return error_set(
                        e, "%s = %s: expected a duration such as 500ms, 10s or 2min", k->key, value);
        if (v < k->min || v > k->max)
                return error_set(e, "%s = %s: expected from %" PRIu64 " ms to %" PRIu64 " s", k->key, value,
                        k->min / USEC_PER_MSEC, k->max / USEC_PER_SEC);
        *(uint64_t *) ((uint8_t *) s + k->offset) = v;
        return 0;
}

static int parse_number(
        BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        double v;

        if (safe_atod(value, &v) < 0)
                return error_set(e, "%s = %s: expected a number such as 0.001", k->key, value);
        *(double *) ((uint8_t *) s + k->offset) = v;
        return 0;
}

static int parse_edge(BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        BindingEdge edge = binding_edge_from_string(value);

        if (edge < 0)
                return error_set(e, "%s = %s: expected both, rising or falling", k->key, value);
        s->edge = edge;
        return 0;
}

static int parse_bias(BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        BindingBias bias = binding_bias_from_string(value);

        if (bias < 0)
                return error_set(
                        e, "%s = %s: expected as-is, disabled, pull-up or pull-down", k->key, value);
        s->bias = bias;
        return 0;
}

/* exec = /absolute/path ARGS...: split at blanks, no shell. */
static int parse_exec(BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        _cleanup_(strv_freep) char **l = NULL;

        if (strv_split(strempty(value), " \t", &l) < 0)
                return -ENOMEM;
        if (strv_length(l) == 0)
                return error_set(e, "%s is empty: expected /absolute/path and its arguments", k->key);
        if (l[0][0] != '/')
                return error_set(e, "%s = %s: the program must be an absolute path (no shell, no $PATH)",
                        k->key, l[0]);
        if (strv_length(l) > 64)
                return error_set(e, "%s: more than 64 words", k->key);
        strv_free(s->exec);
        s->exec = TAKE_PTR(l);
        return 0;
}

static bool env_name_valid(const char *s, size_t n)
{
        if (n == 0 || (s[0] >= '0' && s[0] <= '9'))
                return false;
        for (size_t i = 0; i < n; i++)
                if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= 'a' && s[i] <= 'z') ||
                            (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
                        return false;
        return true;
}

/* environment = K=V K=V: the child's whole environment. Values are not echoed (they may be secret). */
static int parse_environment(
        BindingConfig *c, BindingSettings *s, const BindingKey *k, const char *value, char **e)
{
        _cleanup_(strv_freep) char **l = NULL;
        size_t i = 0;

        if (strv_split(strempty(value), " \t", &l) < 0)
                return -ENOMEM;
        for (char **w = l; *w; w++, i++) {
                const char *eq = strchr(*w, '=');

                if (!eq || !env_name_valid(*w, (size_t) (eq - *w)))
                        return error_set(
                                e, "%s: word %zu is not NAME=VALUE (NAME of A-Z a-z 0-9 _)", k->key, i + 1);
                if (strncmp(*w, "ALI_LINKD_", 10) == 0)
                        return error_set(e, "%s: word %zu sets %.*s, which ali-linkd sets itself", k->key,
                                i + 1, (int) (eq - *w), *w);
        }
        strv_free(s->environment);
        s->environment = TAKE_PTR(l);
        return 0;
}

#define S(field) offsetof(BindingSettings, field)
/* clang-format off */
static const BindingKey binding_keys[] = {
        {"type", ALL, parse_type, 0, 0, 0},
        {"direction", GPIO, parse_direction, 0, 0, 0},
        {"chip", GPIO | PWM, parse_word, S(chip), 0, 0},
        {"line", GPIO, parse_line, S(line), 0, 0},
        {"active_low", GPIO, parse_bool, S(active_low), 0, 0},
        {"bias", GPIO, parse_bias, S(bias), 0, 0},
        {"edge", GPIO_IN, parse_edge, S(edge), 0, 0},
        {"debounce", GPIO_IN, parse_time, S(debounce_usec), 0, 10 * USEC_PER_SEC},
        {"event", GPIO_IN, parse_word, S(event), 0, 0},
        {"channel", PWM, parse_uint, S(channel), 0, 1023},
        {"period_ns", PWM, parse_uint, S(period_ns), 1, UINT32_MAX},
        {"led", LED, parse_led, S(led), 0, 0},
        {"sysfs_root", PWM | LED, parse_abs_path, S(sysfs_root), 0, 0},
        {"path", FILE_, parse_abs_path, S(path), 0, 0},
        {"create", FILE_, parse_bool, S(create), 0, 0},
        {"readback", FILE_, parse_bool, S(readback), 0, 0},
        {"interval", FILE_, parse_time, S(interval_usec), 10 * USEC_PER_MSEC, 24 * 3600 * USEC_PER_SEC},
        {"scale", FILE_, parse_number, S(scale), 0, 0},
        {"offset", FILE_, parse_number, S(offset), 0, 0},
        {"exec", COMMAND, parse_exec, S(exec), 0, 0},
        {"environment", COMMAND, parse_environment, S(environment), 0, 0},
        {"timeout", COMMAND, parse_time, S(timeout_usec), 1 * USEC_PER_MSEC, 24 * 3600 * USEC_PER_SEC},
};
/* clang-format on */
#undef S

static const char *const kind_type_names[_BINDING_KIND_MAX] = {
        [BINDING_GPIO_OUTPUT] = "gpio",
        [BINDING_GPIO_INPUT] = "gpio",
        [BINDING_PWM] = "pwm",
        [BINDING_LED] = "led",
        [BINDING_FILE] = "file",
        [BINDING_COMMAND] = "command",
};

static size_t key_index(const char *key)
{
        for (size_t i = 0; i < ELEMENTSOF(binding_keys); i++)
                if (streq(binding_keys[i].key, key))
                        return i;
        return SIZE_MAX;
}

static bool key_set(const BindingSettings *s, const char *key)
{
        size_t i = key_index(key);

        return i != SIZE_MAX && (s->set & (UINT64_C(1) << i));
}

static void settings_done(BindingSettings *s)
{
        free(s->chip);
        free(s->line);
        free(s->event);
        free(s->led);
        free(s->sysfs_root);
        free(s->path);
        strv_free(s->exec);
        strv_free(s->environment);
        *s = (BindingSettings){};
}

static void settings_init(BindingSettings *s)
{
        *s = (BindingSettings){
                .period_ns = BINDING_DEFAULT_PERIOD_NS,
                .readback = true,
                .scale = 1.0,
                .timeout_usec = BINDING_DEFAULT_TIMEOUT_USEC,
        };
}

static int settings_copy(const BindingSettings *from, BindingSettings *to)
{
        BindingSettings s = *from;

        s.chip = s.line = s.event = s.led = s.sysfs_root = s.path = NULL;
        s.exec = s.environment = NULL;
        if (free_and_strdup(&s.chip, from->chip) < 0 || free_and_strdup(&s.line, from->line) < 0 ||
                free_and_strdup(&s.event, from->event) < 0 || free_and_strdup(&s.led, from->led) < 0 ||
                free_and_strdup(&s.sysfs_root, from->sysfs_root) < 0 ||
                free_and_strdup(&s.path, from->path) < 0 || strv_copy(from->exec, &s.exec) < 0 ||
                strv_copy(from->environment, &s.environment) < 0) {
                settings_done(&s);
                return -ENOMEM;
        }
        *to = s;
        return 0;
}

int binding_config_set(BindingConfig *c, const char *key, const char *value, char **ret_error)
{
        BindingSettings *s = c->settings;
        size_t i = key_index(key);
        int r;

        *ret_error = NULL;
        if (i == SIZE_MAX)
                return -ENOKEY;
        if (!s) {
                s = malloc(sizeof(*s));
                if (!s)
                        return -ENOMEM;
                settings_init(s);
                c->settings = s;
                /* Until type is given: it is checked by binding_config_verify(). */
                c->kind = _BINDING_KIND_INVALID;
        }
        r = binding_keys[i].parse(c, s, &binding_keys[i], strempty(value), ret_error);
        if (r < 0)
                return r;
        s->set |= UINT64_C(1) << i;
        return 0;
}

int binding_config_verify(const BindingConfig *c, char **ret_error)
{
        const BindingSettings *s = c->settings;

        *ret_error = NULL;
        if (!s || !key_set(s, "type") || c->kind < 0 || c->kind >= _BINDING_KIND_MAX)
                return error_set(ret_error, "type is not set: expected gpio, pwm, led, file or command");
        for (size_t i = 0; i < ELEMENTSOF(binding_keys); i++) {
                const BindingKey *k = &binding_keys[i];

                if (!(s->set & (UINT64_C(1) << i)) || (k->kinds & K(c->kind)))
                        continue;
                if (c->kind == BINDING_GPIO_OUTPUT && (k->kinds & GPIO_IN))
                        return error_set(ret_error, "%s applies to direction = input only", k->key);
                return error_set(
                        ret_error, "%s does not apply to type = %s", k->key, kind_type_names[c->kind]);
        }
        switch (c->kind) {
        case BINDING_GPIO_OUTPUT:
        case BINDING_GPIO_INPUT:
                if (!s->line)
                        return error_set(ret_error, "line is not set: give the line's offset or name");
                break;
        case BINDING_PWM:
                if (!key_set(s, "channel"))
                        return error_set(ret_error, "channel is not set: give the PWM channel's number");
                if (s->chip && (strchr(s->chip, '/') || streq(s->chip, ".") || streq(s->chip, "..")))
                        return error_set(
                                ret_error, "chip = %s: expected a PWM chip such as pwmchip0", s->chip);
                break;
        case BINDING_LED:
                if (!s->led)
                        return error_set(
                                ret_error, "led is not set: give the LED's name in /sys/class/leds");
                break;
        case BINDING_FILE:
                if (!s->path)
                        return error_set(ret_error, "path is not set: give the file's absolute path");
                if (key_set(s, "interval") && key_set(s, "create"))
                        return error_set(
                                ret_error, "create applies to a written file, not to a sampled one");
                if (s->scale == 0)
                        return error_set(ret_error, "scale = 0 would make every sample the same");
                break;
        case BINDING_COMMAND:
                if (!s->exec)
                        return error_set(
                                ret_error, "exec is not set: give /absolute/path and its arguments");
                break;
        default:
                break;
        }
        return 0;
}

static bool type_is_number(TslTypeKind k)
{
        return k == TSL_TYPE_INT || k == TSL_TYPE_FLOAT || k == TSL_TYPE_DOUBLE;
}

int binding_config_check_type(const BindingConfig *c, const BindingType *type, char **ret_error)
{
        const BindingSettings *s = c->settings;
        const char *tn = strna(tsl_type_kind_to_string(type->kind));
        bool ranged = type->has_range && type->min < type->max;

        *ret_error = NULL;
        if (!s)
                return error_set(ret_error, "the binding has no settings");

        switch (c->kind) {
        case BINDING_GPIO_OUTPUT:
                if (!(type->kind == TSL_TYPE_BOOL || type->kind == TSL_TYPE_ENUM ||
                            (type->kind == TSL_TYPE_INT && type->has_range && type->min >= 0 &&
                                    type->max <= 1)))
                        return error_set(ret_error,
                                "a gpio output needs a bool, an enum or an int property of range 0..1, not "
                                "%s%s",
                                tn, type->kind == TSL_TYPE_INT ? " of a wider range" : "");
                break;
        case BINDING_GPIO_INPUT:
                if (!(type->kind == TSL_TYPE_BOOL || type->kind == TSL_TYPE_ENUM ||
                            type->kind == TSL_TYPE_INT))
                        return error_set(ret_error,
                                "a gpio input reports 0 or 1: it needs a bool, an enum or an "
                                "int property, not %s",
                                tn);
                return 0; /* read-only and read-write properties alike */
        case BINDING_PWM:
                if (!type_is_number(type->kind) || !ranged)
                        return error_set(ret_error,
                                "pwm maps min..max onto the duty cycle: it needs an int, float or double "
                                "property with a range, not %s%s",
                                tn, type_is_number(type->kind) ? " without one" : "");
                break;
        case BINDING_LED:
                if (!(type->kind == TSL_TYPE_BOOL || (type_is_number(type->kind) && ranged) ||
                            type->kind == TSL_TYPE_INT))
                        return error_set(ret_error,
                                "led needs a bool, an int, or a float or double property with a range, not "
                                "%s%s",
                                tn, type_is_number(type->kind) ? " without one" : "");
                break;
        case BINDING_FILE:
                if (type->kind == TSL_TYPE_STRUCT || type->kind == TSL_TYPE_ARRAY)
                        return error_set(ret_error, "a file holds one value: not a %s property", tn);
                if (!type->writable) {
                        if (!key_set(s, "interval"))
                                return error_set(ret_error,
                                        "the property is read-only: give interval = to sample "
                                        "the file");
                        if ((key_set(s, "scale") || key_set(s, "offset")) && !type_is_number(type->kind) &&
                                type->kind != TSL_TYPE_BOOL && type->kind != TSL_TYPE_ENUM)
                                return error_set(ret_error,
                                        "scale and offset apply to a number, not to a %s "
                                        "property",
                                        tn);
                        return 0;
                }
                if (key_set(s, "interval") || key_set(s, "scale") || key_set(s, "offset"))
                        return error_set(ret_error,
                                "interval, scale and offset sample a read-only property; this "
                                "one is writable");
                return 0;
        case BINDING_COMMAND:
                break;
        default:
                return error_set(ret_error, "type is not set");
        }
        if (!type->writable)
                return error_set(ret_error, "type = %s writes the property, but it is read-only",
                        kind_type_names[c->kind]);
        return 0;
}

bool binding_config_equal(const BindingConfig *a, const BindingConfig *b)
{
        const BindingSettings *x = a->settings, *y = b->settings;

        if (!streq_ptr(a->identifier, b->identifier) || a->kind != b->kind)
                return false;
        if (!x || !y)
                return x == y;
        return x->set == y->set && x->input == y->input && streq_ptr(x->chip, y->chip) &&
               streq_ptr(x->line, y->line) && x->active_low == y->active_low && x->edge == y->edge &&
               x->bias == y->bias && x->debounce_usec == y->debounce_usec && x->channel == y->channel &&
               x->period_ns == y->period_ns && streq_ptr(x->led, y->led) &&
               streq_ptr(x->sysfs_root, y->sysfs_root) && streq_ptr(x->path, y->path) &&
               x->create == y->create && x->readback == y->readback &&
               x->interval_usec == y->interval_usec && x->scale == y->scale && x->offset == y->offset &&
               strv_equal(x->exec, y->exec) && strv_equal(x->environment, y->environment) &&
               x->timeout_usec == y->timeout_usec && streq_ptr(x->event, y->event);
}

void binding_config_done(BindingConfig *c)
{
        if (!c)
                return;
        if (c->settings) {
                settings_done(c->settings);
                free(c->settings);
        }
        free(c->identifier);
        *c = (BindingConfig){.kind = _BINDING_KIND_INVALID};
}

/* ---------------------------------------------------------------------------------------------------------
 * Values. */

uint64_t binding_round_u64(double x)
{
        return x <= 0 ? 0 : (uint64_t) (x + 0.5);
}

static int round_i64(double x, int64_t *ret)
{
        if (!(x > -2147483648.5 && x < 2147483647.5))
                return -ERANGE;
        *ret = x >= 0 ? (int64_t) (x + 0.5) : -(int64_t) (-x + 0.5);
        return 0;
}

int binding_value_to_double(struct json_object *value, double *ret)
{
        switch (json_object_get_type(value)) {
        case json_type_int:
        case json_type_boolean:
                *ret = (double) json_object_get_int64(value);
                return 0;
        case json_type_double:
                *ret = json_object_get_double(value);
                return 0;
        default:
                return -EINVAL;
        }
}

static int format_double(double d, char **ret)
{
        char buf[64];

        /* The shortest of %.15g..%.17g that reads back as the same double. */
        for (int precision = 15; precision <= 17; precision++) {
                (void) snprintf(buf, sizeof(buf), "%.*g", precision, d);
                if (strtod(buf, NULL) == d)
                        break;
        }
        *ret = strdup(buf);
        return *ret ? 0 : -ENOMEM;
}

/* A JSON double serialised in its shortest form, with a decimal point ("12.0"): the TSL's float and double
 * are sent that way, and json-c's own %.17g would turn 0.1 into 0.10000000000000001. */
static struct json_object *new_double(double d)
{
        _cleanup_(freep) char *text = NULL, *with_point = NULL;

        if (format_double(d, &text) < 0)
                return NULL;
        if (!strpbrk(text, ".eEn")) {
                if (asprintf(&with_point, "%s.0", text) < 0)
                        return NULL;
                return json_object_new_double_s(d, with_point);
        }
        return json_object_new_double_s(d, text);
}

int binding_value_from_double(const BindingType *type, double x, struct json_object **ret)
{
        struct json_object *o;
        int64_t i;

        if (type->kind == TSL_TYPE_FLOAT || type->kind == TSL_TYPE_DOUBLE)
                o = new_double(x);
        else {
                if (round_i64(x, &i) < 0)
                        return -ERANGE;
                o = json_object_new_int64(i);
        }
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

double binding_range_fraction(const BindingType *type, double v)
{
        double f;

        if (!type->has_range || !(type->max > type->min))
                return v;
        f = (v - type->min) / (type->max - type->min);
        return f < 0 ? 0 : f > 1 ? 1 : f;
}

int binding_value_format(const BindingType *type, struct json_object *value, char **ret)
{
        const char *s;
        double d;

        switch (type->kind) {
        case TSL_TYPE_INT:
        case TSL_TYPE_BOOL:
        case TSL_TYPE_ENUM:
                if (!json_object_is_type(value, json_type_int) &&
                        !json_object_is_type(value, json_type_boolean))
                        return -EINVAL;
                return asprintf(ret, "%" PRId64, json_object_get_int64(value)) < 0 ? -ENOMEM : 0;
        case TSL_TYPE_FLOAT:
        case TSL_TYPE_DOUBLE:
                if (binding_value_to_double(value, &d) < 0)
                        return -EINVAL;
                return format_double(d, ret);
        case TSL_TYPE_TEXT:
        case TSL_TYPE_DATE:
                if (!json_object_is_type(value, json_type_string))
                        return -EINVAL;
                s = json_object_get_string(value);
                if (strlen(s) != (size_t) json_object_get_string_len(value))
                        return -EINVAL; /* an embedded NUL cannot go into a file, an argument or the
                                           environment */
                *ret = strdup(s);
                return *ret ? 0 : -ENOMEM;
        default:
                s = json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN);
                if (!s)
                        return -ENOMEM;
                *ret = strdup(s);
                return *ret ? 0 : -ENOMEM;
        }
}

int binding_value_parse(const BindingType *type, const char *s, struct json_object **ret)
{
        _cleanup_(freep) char *trimmed = NULL;
        struct json_object *o;
        size_t n;
        int64_t i;
        double d;

        if (type->kind == TSL_TYPE_TEXT || type->kind == TSL_TYPE_DATE) {
                o = json_object_new_string(s);
                if (!o)
                        return -ENOMEM;
                *ret = o;
                return 0;
        }
        s += strspn(s, " \t\n");
        n = strlen(s);
        while (n > 0 && strchr(" \t\n", s[n - 1]))
                n--;
        trimmed = strndup(s, n);
        if (!trimmed)
                return -ENOMEM;
        switch (type->kind) {
        case TSL_TYPE_INT:
        case TSL_TYPE_BOOL:
        case TSL_TYPE_ENUM:
                if (safe_atoi64(trimmed, &i) < 0 || i < INT32_MIN || i > INT32_MAX)
                        return -EBADMSG;
                o = json_object_new_int64(i);
                break;
        case TSL_TYPE_FLOAT:
        case TSL_TYPE_DOUBLE:
                if (safe_atod(trimmed, &d) < 0)
                        return -EBADMSG;
                o = new_double(d);
                break;
        default:
                o = json_tokener_parse(trimmed);
                if (!o)
                        return -EBADMSG;
        }
        if (!o)
                return -ENOMEM;
        *ret = o;
        return 0;
}

/* ---------------------------------------------------------------------------------------------------------
 * The Binding. */

typedef struct BindingCompletion {
        struct BindingCompletion *next;
        BindingWriteDone done;
        void *userdata;
        int code;
        struct json_object *actual;
} BindingCompletion;

static const BindingOps *const binding_ops[_BINDING_KIND_MAX] = {
        [BINDING_GPIO_OUTPUT] = &binding_gpio_output_ops,
        [BINDING_GPIO_INPUT] = &binding_gpio_input_ops,
        [BINDING_PWM] = &binding_pwm_ops,
        [BINDING_LED] = &binding_led_ops,
        [BINDING_FILE] = &binding_file_ops,
        [BINDING_COMMAND] = &binding_command_ops,
};

/* One answer per dispatch, the source armed again while more wait: done may free the binding, which then
 * drops the rest without calling them. */
static int on_defer(sd_event_source *s, void *userdata)
{
        Binding *b = userdata;
        BindingCompletion *c = b->completions;
        int r;

        if (!c)
                return 0;
        b->completions = c->next;
        if (!b->completions)
                b->completions_tail = NULL;
        r = sd_event_source_set_enabled(s, b->completions ? SD_EVENT_ONESHOT : SD_EVENT_OFF);
        if (r < 0)
                log_error_errno(r, "Cannot arm the answers of binding %s: %m", b->identifier);
        c->done(b, c->code, c->actual, c->userdata);
        json_object_put(c->actual);
        free(c);
        return 0;
}

int binding_new(
        Binding **ret, sd_event *e, const BindingConfig *c, const BindingType *type, const BindingHost *host)
{
        _cleanup_(binding_freep) Binding *b = NULL;
        _cleanup_(freep) char *error = NULL;
        int r;

        if (!c->settings || c->kind < 0 || c->kind >= _BINDING_KIND_MAX || !c->identifier)
                return -EINVAL;
        if (binding_config_verify(c, &error) < 0 || binding_config_check_type(c, type, &error) < 0)
                return error ? -EINVAL : -ENOMEM;
        b = calloc(1, sizeof(*b));
        if (!b)
                return -ENOMEM;
        b->event = sd_event_ref(e);
        b->kind = c->kind;
        b->type = *type;
        if (host)
                b->host = *host;
        b->ops = binding_ops[c->kind];
        b->identifier = strdup(c->identifier);
        if (!b->identifier)
                return -ENOMEM;
        r = settings_copy(c->settings, &b->settings);
        if (r < 0)
                return r;
        r = sd_event_add_defer(e, &b->defer_source, on_defer, b);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(b->defer_source, SD_EVENT_OFF);
        (void) sd_event_source_set_description(b->defer_source, "binding-done");
        r = b->ops->open(b);
        if (r < 0)
                return r;
        *ret = TAKE_PTR(b);
        return 0;
}

Binding *binding_free(Binding *b)
{
        if (!b)
                return NULL;
        if (b->ops && b->ops->free)
                b->ops->free(b);
        while (b->completions) {
                BindingCompletion *c = b->completions;
                b->completions = c->next;
                json_object_put(c->actual);
                free(c);
        }
        sd_event_source_disable_unref(b->defer_source);
        settings_done(&b->settings);
        free(b->identifier);
        sd_event_unref(b->event);
        free(b);
        return NULL;
}

const char *binding_identifier(const Binding *b)
{
        return b->identifier;
}

const char *binding_event(const Binding *b)
{
        return b->settings.event;
}

const char *binding_config_event(const BindingConfig *c)
{
        const BindingSettings *s = c->settings;

        return s ? s->event : NULL;
}

bool binding_can_write(const Binding *b)
{
        if (b->kind == BINDING_GPIO_INPUT)
                return false;
        return b->type.writable;
}

void binding_complete(
        Binding *b, BindingWriteDone done, void *userdata, int code, struct json_object *actual)
{
        done(b, code, actual, userdata);
}

void binding_value_changed(Binding *b, struct json_object *value)
{
        if (b->host.value_changed)
                b->host.value_changed(b, value, b->host.userdata);
}

int binding_write(Binding *b, struct json_object *value, BindingWriteDone done, void *userdata)
{
        _cleanup_(json_object_putp) struct json_object *actual = NULL;
        BindingCompletion *c;
        int code, r;

        if (!binding_can_write(b))
                return -EOPNOTSUPP;
        if (b->ops->start) {
                /* 0 when started, or a code to answer at once (the program is missing). */
                r = b->ops->start(b, value, done, userdata);
                if (r <= 0)
                        return r;
                code = r;
        } else {
                code = b->ops->write(b, value, &actual);
                if (code < 0)
                        return code;
        }

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        *c = (BindingCompletion){
                .done = done, .userdata = userdata, .code = code, .actual = TAKE_PTR(actual)};
        r = sd_event_source_set_enabled(b->defer_source, SD_EVENT_ONESHOT);
        if (r < 0) {
                json_object_put(c->actual);
                free(c);
                return r;
        }
        if (b->completions_tail)
                b->completions_tail->next = c;
        else
                b->completions = c;
        b->completions_tail = c;
        return 0;
}

int binding_read(Binding *b, struct json_object **ret)
{
        return b->ops->read(b, ret);
}

void binding_type_from_property(const TslProperty *p, BindingType *ret)
{
        const TslType *t = tsl_property_type(p);

        *ret = (BindingType){
                .kind = tsl_type_kind(t),
                .writable = tsl_property_writable(p),
        };
        ret->has_range = tsl_type_range(t, &ret->min, &ret->max);
}
