/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* conf.c: table-driven INI configuration on top of inih.
 *
 * inih does the INI syntax; this file owns the table of keys, their parsers and the checks of values
 * against each other. inih does not tell a handler which line it is on, so the file is fed through our
 * own line reader, which counts lines, rejects over-long ones and catches lines inih would reject, so
 * every problem carries its line number and parsing always continues to the end. */
#include <assert.h>
#include <dirent.h>
#include <fcntl.h>
#include <glob.h>
#include <ini.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "alink-limits.h"
#include "conf.h"
#include "log.h"
#include "macro.h"
#include "string-util.h"
#include "binding.h"
#include "time-util.h"
#include "tsl.h"
#include "tsl-default.h"

typedef struct ConfItem ConfItem;

typedef struct ConfParser {
        Conf *conf;
        const char *file;
        FILE *f;
        unsigned line;
        unsigned n_errors;
        unsigned n_warnings;
        bool *seen; /* per table item, for duplicate detection within one file */
        bool oom;
} ConfParser;

typedef int (*ConfParseFn)(ConfParser *p, const ConfItem *item, const char *value, void *data);

struct ConfItem {
        const char *section;
        const char *key;
        ConfParseFn parse;
        size_t offset, size; /* of the field in Conf */
        uint64_t min, max;
};

/* A configuration file or drop-in larger than this is not one (a mistake such as /dev/zero, or a log). */
#define CONF_MAX_FILE_SIZE (1024 * 1024)
#define CONF_MAX_SECRET 1024

_printf_(3, 4) static void conf_problem(ConfParser *p, int level, const char *format, ...)
{
        _cleanup_(freep) char *msg = NULL;
        va_list ap;
        int r;

        va_start(ap, format);
        r = vasprintf(&msg, format, ap);
        va_end(ap);
        if (r < 0) {
                p->oom = true;
                return;
        }
        if (level <= LOG_ERR)
                p->n_errors++;
        else
                p->n_warnings++;
        if (p->line > 0)
                log_full(level, "%s:%u: %s", p->file, p->line, msg);
        else
                log_full(level, "%s: %s", p->file, msg);
}

#define conf_error(p, ...) conf_problem(p, LOG_ERR, __VA_ARGS__)
#define conf_warn(p, ...) conf_problem(p, LOG_WARNING, __VA_ARGS__)

static int store_string(ConfParser *p, char **dst, const char *value)
{
        /* An empty value resets the key to its default, as in systemd's files. */
        if (free_and_strdup(dst, isempty(value) ? NULL : value) < 0) {
                p->oom = true;
                return -ENOMEM;
        }
        return 0;
}

/* Product keys, device names, instance ids and regions end up inside MQTT topics and host names: no
 * '/', '+', '#', spaces or control characters can be allowed in them. */
static int parse_identifier(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        const char *extra = streq(item->key, "device_name") ? "-_.:@" : "-_";

        if (!isempty(value) && (strlen(value) > item->max || !alnum_or_chars(value, extra))) {
                conf_error(p, "invalid %s \"%s\": use 1..%" PRIu64 " characters from A-Z a-z 0-9 %s",
                        item->key, value, item->max, extra);
                return 0;
        }
        return store_string(p, data, value);
}

static int parse_property_id(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        /* Thing-model identifiers: letters, digits, underscore; "module:identifier" for custom modules. */
        if (!isempty(value) && (strlen(value) > 50 || !alnum_or_chars(value, "_:"))) {
                conf_error(p,
                        "invalid %s \"%s\": a thing-model identifier has 1..50 characters from "
                        "A-Z a-z 0-9 _ :",
                        item->key, value);
                return 0;
        }
        return store_string(p, data, value);
}

static int parse_path(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        if (!isempty(value) && value[0] != '/') {
                conf_error(p, "%s must be an absolute path, got \"%s\"", item->key, value);
                return 0;
        }
        return store_string(p, data, value);
}

static int parse_host(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        if (!isempty(value) && (strlen(value) > 253 || !alnum_or_chars(value, "-.:[]"))) {
                conf_error(p, "invalid %s \"%s\": expected a host name or IP address", item->key, value);
                return 0;
        }
        return store_string(p, data, value);
}

static int parse_secret(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        (void) item;
        /* Never echo the value. */
        if (!isempty(value) && strlen(value) > CONF_MAX_SECRET) {
                conf_error(p, "device_secret is longer than %u bytes", CONF_MAX_SECRET);
                return 0;
        }
        p->conf->line_inline_secret = p->line;
        if (free_and_strdup(data, isempty(value) ? NULL : value) < 0)
                p->oom = true;
        return 0;
}

static int parse_secret_file(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        p->conf->line_secret_file = p->line;
        return parse_path(p, item, value, data);
}

static int parse_bool(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        int b = parse_boolean(value);

        if (b < 0) {
                conf_error(p, "invalid %s \"%s\": expected yes or no", item->key, value);
                return 0;
        }
        *(bool *) data = b;
        return 0;
}

/* The name of a systemd template unit, without "@" and suffix ("ali-linkd-install"). */
static int parse_unit_prefix(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        if (!isempty(value) &&
                (strlen(value) > 200 || !alnum_or_chars(value, "-_.:") || strchr(value, '@'))) {
                conf_error(p,
                        "invalid %s \"%s\": give a template unit's name without \"@\" and suffix, such as "
                        "ali-linkd-install",
                        item->key, value);
                return 0;
        }
        return store_string(p, data, value);
}

static int parse_log_level(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        int l = log_level_from_string(value);

        if (l < 0) {
                conf_error(p, "invalid %s \"%s\": expected debug, info, notice, warning or err", item->key,
                        value);
                return 0;
        }
        *(int *) data = l;
        return 0;
}

static int parse_user_topics(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        char ***dst = data;
        char **l = NULL;

        if (strv_split(value, " ,\t", &l) < 0) {
                p->oom = true;
                return -ENOMEM;
        }
        for (char **t = l; *t; t++) {
                size_t slashes = 0;
                for (const char *c = *t; *c; c++)
                        slashes += *c == '/';
                /* Below /${pk}/${dn}/user/ (4 slashes): at most ALINK_MAX_TOPIC_SLASHES in the whole topic.
                 */
                if ((*t)[0] == '/' || !alnum_or_chars(*t, "-_/+#") || strstr(*t, "//") ||
                        slashes > ALINK_MAX_TOPIC_SLASHES - 4 || (*t)[strlen(*t) - 1] == '/') {
                        conf_error(p,
                                "invalid %s entry \"%s\": give a name below "
                                "/${product_key}/${device_name}/user/, "
                                "such as \"data\"",
                                item->key, *t);
                        strv_free(l);
                        return 0;
                }
        }
        strv_free(*dst);
        *dst = l;
        return 0;
}

static int parse_led_backend(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        LedBackend b = led_backend_from_string(value);

        if (b < 0) {
                conf_error(p, "invalid %s \"%s\": expected none, gpio, pwm or ledclass", item->key, value);
                return 0;
        }
        *(LedBackend *) data = b;
        return 0;
}

static int parse_led_on_exit(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        LedOnExit e = led_on_exit_from_string(value);

        if (e < 0) {
                conf_error(p, "invalid %s \"%s\": expected keep or off", item->key, value);
                return 0;
        }
        *(LedOnExit *) data = e;
        return 0;
}

static bool is_printable_word(const char *s)
{
        for (; *s; s++)
                if ((unsigned char) *s <= ' ' || *s == 0x7f)
                        return false;
        return true;
}

/* A GPIO chip (name, /dev path or label) or a PWM chip's directory name. */
static int parse_led_chip(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        if (!isempty(value) && (strlen(value) > 128 || !is_printable_word(value))) {
                conf_error(p, "invalid %s \"%s\": expected a chip name, path or label without spaces",
                        item->key, value);
                return 0;
        }
        return store_string(p, data, value);
}

/* A byte count, with an optional K, M or G suffix (powers of 1024). */
static int parse_bytes(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        static const struct {
                char suffix;
                uint64_t factor;
        } units[] = {{'K', 1ULL << 10}, {'M', 1ULL << 20}, {'G', 1ULL << 30}};
        _cleanup_(freep) char *digits = strdup(strempty(value));
        uint64_t v, factor = 1;
        size_t l;

        if (!digits) {
                p->oom = true;
                return -ENOMEM;
        }
        l = strlen(digits);
        for (size_t i = 0; l > 1 && i < ELEMENTSOF(units); i++)
                if (digits[l - 1] == units[i].suffix || digits[l - 1] == units[i].suffix + 'a' - 'A') {
                        factor = units[i].factor;
                        digits[--l] = 0;
                }
        if (safe_atou64_range(digits, 0, UINT64_MAX / factor, &v) < 0 || v * factor < item->min ||
                v * factor > item->max) {
                conf_error(p,
                        "invalid %s \"%s\": expected a size in bytes (K, M, G suffixes allowed) in %" PRIu64
                        "..%" PRIu64,
                        item->key, value, item->min, item->max);
                return 0;
        }
        *(uint64_t *) data = v * factor;
        return 0;
}

/* An absolute program path, optionally followed by arguments; no shell is involved. */
static int parse_command(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        if (!isempty(value) && value[0] != '/') {
                conf_error(p, "%s must start with an absolute path, got \"%s\"", item->key, value);
                return 0;
        }
        return store_string(p, data, value);
}

/* A comma-separated list of item->min..item->max words: GPIO lines (offsets or names) or LED names. */
static int parse_led_list(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        bool leds = streq(item->key, "leds");
        char ***dst = data;
        char **l = NULL;
        size_t n;

        if (strv_split(value, ", \t", &l) < 0) {
                p->oom = true;
                return -ENOMEM;
        }
        n = strv_length(l);
        if (isempty(value)) {
                /* Empty: back to the default. */
                strv_free(l);
                *dst = strv_free(*dst);
                return 0;
        }
        if (n < item->min || n > item->max || (leds && n == 2)) {
                conf_error(p, "invalid %s \"%s\": expected %s", item->key, value,
                        leds ? "one multicolor LED, or three LEDs for red, green and blue"
                             : "three lines for red, green and blue, as offsets or names");
                strv_free(l);
                return 0;
        }
        for (char **w = l; *w; w++)
                /* LED names become paths below /sys/class/leds: no "/", no "." or "..". */
                if (strlen(*w) > 64 || (leds && (strchr(*w, '/') || streq(*w, ".") || streq(*w, "..")))) {
                        conf_error(p, "invalid %s entry \"%s\"", item->key, *w);
                        strv_free(l);
                        return 0;
                }
        strv_free(*dst);
        *dst = l;
        return 0;
}

static int parse_led_channels(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        _cleanup_(strv_freep) char **l = NULL;
        unsigned *channels = data, v[3];

        if (strv_split(value, ", \t", &l) < 0) {
                p->oom = true;
                return -ENOMEM;
        }
        for (size_t i = 0; i < 3 && strv_length(l) == 3; i++) {
                uint64_t x;
                if (safe_atou64_range(l[i], 0, 65535, &x) < 0)
                        goto invalid;
                v[i] = (unsigned) x;
        }
        if (strv_length(l) != 3 || v[0] == v[1] || v[0] == v[2] || v[1] == v[2])
                goto invalid;
        memcpy(channels, v, sizeof(v));
        return 0;
invalid:
        conf_error(p, "invalid %s \"%s\": expected three different channel numbers for red, green and blue",
                item->key, value);
        return 0;
}

static bool parse_number(ConfParser *p, const ConfItem *item, const char *value, uint64_t *ret)
{
        if (safe_atou64_range(value, item->min, item->max, ret) < 0) {
                conf_error(p, "invalid %s \"%s\": expected a whole number in %" PRIu64 "..%" PRIu64,
                        item->key, value, item->min, item->max);
                return false;
        }
        return true;
}

/* A whole number in [min, max], stored at the field's own width. */
static int parse_uint(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        uint64_t v;

        assert(item->size == 8 || item->max < UINT64_C(1) << (8 * item->size));
        if (!parse_number(p, item, value, &v))
                return 0;
        switch (item->size) {
        case 1:
                *(uint8_t *) data = (uint8_t) v;
                break;
        case 2:
                *(uint16_t *) data = (uint16_t) v;
                break;
        case 4:
                *(uint32_t *) data = (uint32_t) v;
                break;
        default:
                *(uint64_t *) data = v;
        }
        return 0;
}

/* A duration ("5s", "500ms"), stored in µs, within min..max µs. */
static int parse_usec(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        uint64_t v;

        assert(item->size == sizeof(uint64_t));
        if (parse_duration(value, &v) < 0 || v < item->min || v > item->max) {
                conf_error(p, "invalid %s \"%s\": expected a duration from %" PRIu64 " ms to %" PRIu64 " ms",
                        item->key, value, item->min / 1000, item->max / 1000);
                return 0;
        }
        *(uint64_t *) data = v;
        return 0;
}

static int parse_gamma(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        char *end = NULL;
        double g;

        errno = 0;
        g = strtod(value, &end);
        if (errno != 0 || !end || end == value || *end != 0 || !(g >= 0.1 && g <= 5.0)) {
                conf_error(p, "invalid %s \"%s\": expected a number from 0.1 to 5 (1 is linear)", item->key,
                        value);
                return 0;
        }
        *(double *) data = g;
        return 0;
}

#define C(field) offsetof(Conf, field), sizeof(((Conf *) NULL)->field)
static const ConfItem conf_items[] = {
        {"device", "product_key", parse_identifier, C(product_key), 1, 64},
        {"device", "device_name", parse_identifier, C(device_name), 1, 64},
        {"device", "device_secret", parse_secret, C(inline_secret), 0, 0},
        {"device", "device_secret_file", parse_secret_file, C(device_secret_file), 0, 0},
        {"device", "region", parse_identifier, C(region), 1, 64},
        {"device", "instance_id", parse_identifier, C(instance_id), 1, 64},
        {"device", "tsl", parse_path, C(tsl_path), 0, 0},
        {"device", "gateway", parse_bool, C(gateway), 0, 0},
        /* Well inside the 8 s a synchronous caller waits at most. */
        {"device", "handler_timeout", parse_usec, C(handler_timeout_usec), 100 * 1000, 7 * 1000 * 1000},
        {"mqtt", "host", parse_host, C(host), 0, 0},
        {"mqtt", "port", parse_uint, C(port), 1, 65535},
        {"mqtt", "ca_file", parse_path, C(ca_file), 0, 0},
        {"mqtt", "ca_path", parse_path, C(ca_path), 0, 0},
        {"mqtt", "keepalive", parse_uint, C(keepalive), ALINK_KEEPALIVE_MIN, ALINK_KEEPALIVE_MAX},
        {"mqtt", "clean_session", parse_bool, C(clean_session), 0, 0},
        {"mqtt", "user_topics", parse_user_topics, C(user_topics), 0, 0},
        {"daemon", "log_level", parse_log_level, C(log_level), 0, 0},
        {"daemon", "state_directory", parse_path, C(state_directory), 0, 0},
        {"outbox", "max_messages", parse_uint, C(outbox_max_messages), 1, 1000000},
        {"outbox", "max_bytes", parse_uint, C(outbox_max_bytes), 4096, 1024u * 1024 * 1024},
        {"outbox", "max_rate", parse_uint, C(outbox_max_rate), 1, 1000},
        {"bus", "forward_topics", parse_user_topics, C(bus_forward_topics), 0, 0},
        {"led", "backend", parse_led_backend, C(led.backend), 0, 0},
        {"led", "on_exit", parse_led_on_exit, C(led.on_exit), 0, 0},
        {"led", "chip", parse_led_chip, C(led.chip), 0, 0},
        {"led", "lines", parse_led_list, C(led.lines), 3, 3},
        {"led", "active_low", parse_bool, C(led.active_low), 0, 0},
        {"led", "threshold", parse_uint, C(led.threshold), 1, 255},
        {"led", "channels", parse_led_channels, C(led.channels), 0, 0},
        {"led", "period_ns", parse_uint, C(led.period_ns), 1, UINT32_MAX},
        {"led", "gamma", parse_gamma, C(led.gamma), 0, 0},
        {"led", "leds", parse_led_list, C(led.leds), 1, 3},
        {"led", "sysfs_root", parse_path, C(led.sysfs_root), 0, 0},
        {"led", "switch_property", parse_property_id, C(led_model.switch_property), 0, 0},
        {"led", "color_property", parse_property_id, C(led_model.color_property), 0, 0},
        {"led", "brightness_property", parse_property_id, C(led_model.brightness_property), 0, 0},
        {"ota", "version_file", parse_path, C(ota.version_file), 0, 0},
        {"ota", "version_command", parse_command, C(ota.version_command), 0, 0},
        {"ota", "installer", parse_path, C(ota.installer), 0, 0},
        {"ota", "install_unit", parse_unit_prefix, C(ota.install_unit), 0, 0},
        {"ota", "installer_timeout", parse_uint, C(ota.installer_timeout), 1, 7 * 24 * 3600},
        {"ota", "download_dir", parse_path, C(ota.download_dir), 0, 0},
        {"ota", "ca_file", parse_path, C(ota.ca_file), 0, 0},
        {"ota", "allow_http", parse_bool, C(ota.allow_http), 0, 0},
        {"ota", "max_size", parse_bytes, C(ota.max_size), 1, 1ULL << 40},
        {"ota", "connect_timeout", parse_uint, C(ota.connect_timeout), 1, 3600},
        {"ota", "stall_timeout", parse_uint, C(ota.stall_timeout), 1, 3600},
        {"ota", "installer_applies_diff", parse_bool, C(ota.applies_diff), 0, 0},
        {"ota", "cloud_timeout", parse_uint, C(ota.cloud_timeout), 1, 3600},
};
#undef C

static bool section_known(const char *section)
{
        for (size_t i = 0; i < ELEMENTSOF(conf_items); i++)
                if (streq(conf_items[i].section, section))
                        return true;
        return false;
}

/* [binding.IDENTIFIER] (the gateway's own) or [subdevice.NAME.binding.IDENTIFIER]: one property bound to
 * hardware, into the list given; binding.c owns the keys. section names it in messages. */
static void handle_binding(ConfParser *p, BindingConfig **list, size_t *n_list, const char *section,
        const char *identifier, const char *name, const char *value)
{
        _cleanup_(freep) char *error = NULL;
        BindingConfig *b = NULL;
        int r;

        if (isempty(identifier) || strlen(identifier) > 50 || !alnum_or_chars(identifier, "_:")) {
                conf_error(p,
                        "[%s]: expected a property's identifier after \"binding.\" (1..50 characters from "
                        "A-Z a-z 0-9 _ :)",
                        section);
                return;
        }
        for (size_t i = 0; i < *n_list; i++)
                if (streq((*list)[i].identifier, identifier))
                        b = &(*list)[i];
        if (!b) {
                BindingConfig *n = reallocarray(*list, *n_list + 1, sizeof(BindingConfig));
                if (!n) {
                        p->oom = true;
                        return;
                }
                *list = n;
                b = &n[*n_list];
                *b = (BindingConfig){.kind = _BINDING_KIND_INVALID, .identifier = strdup(identifier)};
                if (!b->identifier) {
                        p->oom = true;
                        return;
                }
                (*n_list)++;
        }
        r = binding_config_set(b, name, value, &error);
        if (r == -ENOMEM)
                p->oom = true;
        else if (r == -ENOKEY)
                conf_warn(p, "unknown key %s in [%s], ignoring", name, section);
        else if (r < 0)
                conf_error(p, "[%s] %s", section, strna(error));
}

#define SUB(field) offsetof(SubdeviceConf, field), sizeof(((SubdeviceConf *) NULL)->field)

static int parse_subdevice_secret(ConfParser *p, const ConfItem *item, const char *value, void *data)
{
        (void) item;
        /* Never echo the value. */
        if (!isempty(value) && strlen(value) > CONF_MAX_SECRET) {
                conf_error(p, "device_secret is longer than %u bytes", CONF_MAX_SECRET);
                return 0;
        }
        if (free_and_strdup(data, isempty(value) ? NULL : value) < 0)
                p->oom = true;
        return 0;
}

/* The keys of a [subdevice.NAME] section. */
static const ConfItem subdevice_items[] = {
        {"subdevice.NAME", "product_key", parse_identifier, SUB(product_key), 1, 64},
        {"subdevice.NAME", "device_name", parse_identifier, SUB(device_name), 1, 64},
        {"subdevice.NAME", "device_secret", parse_subdevice_secret, SUB(inline_secret), 0, 0},
        {"subdevice.NAME", "device_secret_file", parse_path, SUB(device_secret_file), 0, 0},
        {"subdevice.NAME", "tsl", parse_path, SUB(tsl_path), 0, 0},
};

/* [subdevice.NAME] and [subdevice.NAME.binding.IDENTIFIER]. */
static void handle_subdevice(ConfParser *p, const char *section, const char *name, const char *value)
{
        const char *rest = section + strlen("subdevice."), *dot = strchr(rest, '.');
        _cleanup_(freep) char *sub_name = dot ? strndup(rest, (size_t) (dot - rest)) : strdup(rest);
        Conf *c = p->conf;
        SubdeviceConf *sd = NULL;

        if (!sub_name) {
                p->oom = true;
                return;
        }
        if (isempty(sub_name) || strlen(sub_name) > 64 || !alnum_or_chars(sub_name, "-_")) {
                conf_error(p,
                        "[%s]: expected a name after \"subdevice.\" (1..64 characters from A-Z a-z 0-9 - _)",
                        section);
                return;
        }
        for (size_t i = 0; i < c->n_subdevices; i++)
                if (streq(c->subdevices[i].name, sub_name))
                        sd = &c->subdevices[i];
        if (!sd) {
                SubdeviceConf *n = reallocarray(c->subdevices, c->n_subdevices + 1, sizeof(SubdeviceConf));
                if (!n) {
                        p->oom = true;
                        return;
                }
                c->subdevices = n;
                sd = &n[c->n_subdevices++];
                *sd = (SubdeviceConf){.name = TAKE_PTR(sub_name)};
        }
        if (dot) {
                if (strncmp(dot, ".binding.", 9) != 0) {
                        conf_warn(p, "unknown section [%s], ignoring %s", section, name);
                        return;
                }
                handle_binding(p, &sd->bindings, &sd->n_bindings, section, dot + 9, name, value);
                return;
        }
        for (size_t i = 0; i < ELEMENTSOF(subdevice_items); i++)
                if (streq(subdevice_items[i].key, name)) {
                        (void) subdevice_items[i].parse(
                                p, &subdevice_items[i], value, (uint8_t *) sd + subdevice_items[i].offset);
                        return;
                }
        conf_warn(p, "unknown key %s in [%s], ignoring", name, section);
}

static int handle_entry(void *userdata, const char *section, const char *name, const char *value)
{
        ConfParser *p = userdata;

        if (section && strncmp(section, "binding.", 8) == 0) {
                handle_binding(
                        p, &p->conf->bindings, &p->conf->n_bindings, section, section + 8, name, value);
                return 1;
        }
        if (section && strncmp(section, "subdevice.", 10) == 0) {
                handle_subdevice(p, section, name, value);
                return 1;
        }

        for (size_t i = 0; i < ELEMENTSOF(conf_items); i++) {
                const ConfItem *item = &conf_items[i];

                if (!streq(item->section, section) || !streq(item->key, name))
                        continue;
                if (p->seen[i])
                        conf_warn(p, "%s is set more than once in [%s]; the last one wins", name, section);
                p->seen[i] = true;
                (void) item->parse(p, item, value, (uint8_t *) p->conf + item->offset);
                return 1;
        }

        if (isempty(section))
                conf_warn(p, "%s is outside of any section, ignoring", name);
        else if (!section_known(section))
                conf_warn(p, "unknown section [%s], ignoring %s", section, name);
        else
                conf_warn(p, "unknown key %s in [%s], ignoring", name, section);
        return 1; /* keep going: report everything in one pass */
}

/* inih's reader: one line per call. We count lines here, drop leading blanks (so inih's multi-line
 * continuation never glues an indented line to the previous key) and flag what inih would reject. */
static char *read_line(char *buf, int size, void *userdata)
{
        ConfParser *p = userdata;
        _cleanup_(freep) char *line = NULL;
        size_t allocated = 0;
        ssize_t n;
        const char *s;

        n = getline(&line, &allocated, p->f);
        if (n < 0)
                return NULL;
        p->line++;

        while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
                line[--n] = 0;
        /* Editors on other systems start UTF-8 files with a byte order mark. */
        if (p->line == 1 && n >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) {
                memmove(line, line + 3, (size_t) n - 2);
                n -= 3;
        }
        if (memchr(line, 0, (size_t) n)) {
                conf_error(p, "line contains a NUL byte, ignoring it");
                goto empty;
        }
        s = line + strspn(line, " \t");
        /* inih hands us its line buffer, INI_MAX_LINE bytes (200 as Debian builds it): the line, its newline
         * and the NUL must fit. */
        if (strlen(s) + 2 > (size_t) size) {
                conf_error(p, "line is longer than %d characters, ignoring it", size - 2);
                goto empty;
        }
        if (*s && !strchr(";#", *s)) {
                if (*s == '[') {
                        if (!strchr(s, ']')) {
                                conf_error(p, "section header is missing ']'");
                                goto empty;
                        }
                } else if (!strchr(s, '=')) {
                        conf_error(p, "expected \"key = value\", got \"%s\"", s);
                        goto empty;
                }
        }
        snprintf(buf, (size_t) size, "%s\n", s);
        return buf;
empty:
        snprintf(buf, (size_t) size, "\n");
        return buf;
}

static int parse_one_file(Conf *c, const char *path, bool required, unsigned *n_errors)
{
        _cleanup_(fclosep) FILE *f = NULL;
        bool seen[ELEMENTSOF(conf_items)] = {};
        ConfParser p = {.conf = c, .file = path, .seen = seen};
        struct stat st = {};

        f = fopen(path, "re");
        if (!f) {
                if (errno == ENOENT && !required)
                        return 0;
                log_error_errno(errno, "%s: cannot open: %m", path);
                (*n_errors)++;
                return 0;
        }
        if (fstat(fileno(f), &st) < 0) {
                log_error_errno(errno, "%s: cannot stat: %m", path);
                (*n_errors)++;
                return 0;
        }
        if (!S_ISREG(st.st_mode) || st.st_size > CONF_MAX_FILE_SIZE) {
                log_error("%s: %s", path,
                        S_ISREG(st.st_mode) ? "larger than 1 MiB, not a configuration file"
                                            : "not a regular file");
                (*n_errors)++;
                return 0;
        }
        p.f = f;
        (void) ini_parse_stream(read_line, &p, handle_entry, &p);
        if (ferror(f)) {
                log_error("%s: read error", path);
                p.n_errors++;
        }
        if (p.oom)
                return -ENOMEM;
        *n_errors += p.n_errors;
        return 0;
}

/* Warn when a file holding the secret can be read by anyone but its owner and the daemon's own group. */
static void check_secret_file_mode(const char *path, int fd)
{
        struct stat st;

        if (fstat(fd, &st) < 0)
                return;
        if ((st.st_mode & S_IROTH) || ((st.st_mode & S_IRGRP) && st.st_gid != getegid()))
                log_warning("%s holds the device secret but is readable by %s (mode %04o); "
                            "chmod o-r,g-r it or make it root:ali-link 0640",
                        path, (st.st_mode & S_IROTH) ? "everyone" : "another group",
                        (unsigned) (st.st_mode & 07777));
}

static int read_secret_file(const char *path, char **ret)
{
        _cleanup_(closep) int fd = -1;
        char buf[CONF_MAX_SECRET + 2];
        ssize_t n;
        size_t len;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        check_secret_file_mode(path, fd);
        n = read(fd, buf, sizeof(buf) - 1);
        if (n < 0) {
                int r = -errno;
                explicit_bzero(buf, sizeof(buf));
                return r;
        }
        len = (size_t) n;
        if (len > CONF_MAX_SECRET) {
                explicit_bzero(buf, sizeof(buf));
                return -E2BIG;
        }
        while (len > 0 && strchr(" \t\r\n", buf[len - 1]))
                len--;
        buf[len] = 0;
        if (len == 0 || memchr(buf, 0, len)) {
                explicit_bzero(buf, sizeof(buf));
                return -EBADMSG;
        }
        *ret = strdup(buf);
        explicit_bzero(buf, sizeof(buf));
        return *ret ? 0 : -ENOMEM;
}

static int resolve_secret(Conf *c, unsigned *n_errors)
{
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        int r;

        if (c->inline_secret && c->device_secret_file) {
                log_error("%s:%u: set only one of device_secret and device_secret_file", c->path,
                        MAX(c->line_inline_secret, c->line_secret_file));
                (*n_errors)++;
                return 0;
        }

        /* A credential handed in by systemd (LoadCredential=device-secret:...) wins: it is the recommended
         * place, outside the config. */
        if (!isempty(creds)) {
                _cleanup_(freep) char *p = NULL;

                if (asprintf(&p, "%s/" CONF_SECRET_CREDENTIAL, creds) < 0)
                        return -ENOMEM;
                r = read_secret_file(p, &c->device_secret);
                if (r >= 0) {
                        c->secret_source = SECRET_CREDENTIAL;
                        return 0;
                }
                if (r != -ENOENT) {
                        log_error_errno(r, "%s: cannot read the device secret credential: %s", p,
                                r == -EBADMSG ? "it is empty"
                                : r == -E2BIG ? "it is too long"
                                              : "%m");
                        (*n_errors)++;
                        return 0;
                }
        }

        if (c->device_secret_file) {
                r = read_secret_file(c->device_secret_file, &c->device_secret);
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        log_error_errno(r, "%s:%u: cannot read device_secret_file %s: %s", c->path,
                                c->line_secret_file, c->device_secret_file,
                                r == -EBADMSG ? "it is empty"
                                : r == -E2BIG ? "it is too long"
                                              : "%m");
                        (*n_errors)++;
                        return 0;
                }
                c->secret_source = SECRET_FILE;
                return 0;
        }

        if (c->inline_secret) {
                c->device_secret = strdup(c->inline_secret);
                if (!c->device_secret)
                        return -ENOMEM;
                c->secret_source = SECRET_INLINE;
                /* The config itself holds the secret now. */
                _cleanup_(closep) int fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                if (fd >= 0)
                        check_secret_file_mode(c->path, fd);
        }
        return 0;
}

/* The RGB light's thing model (data/tsl/rgb-light.json, built in) with the identifiers [led] gives its
 * properties: LightSwitch, RGBColor and Brightness there, in that order; Brightness only when [led]
 * brightness_property is set. Exactly the product ali-linkd served before it read thing models. */
static int conf_light_tsl(const Conf *c, char **ret)
{
        const char *names[] = {
                c->led_model.switch_property, c->led_model.color_property, c->led_model.brightness_property};
        json_object *o = json_tokener_parse(tsl_default), *props;
        int r = -ENOMEM;

        if (!o || !json_object_object_get_ex(o, "properties", &props) ||
                json_object_array_length(props) != ELEMENTSOF(names))
                goto finish;
        for (size_t i = ELEMENTSOF(names); i-- > 0;) {
                if (!names[i])
                        (void) json_object_array_del_idx(props, i, 1);
                else if (json_object_object_add(json_object_array_get_idx(props, i), "identifier",
                                 json_object_new_string(names[i])) < 0)
                        goto finish;
        }
        *ret = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        r = *ret ? 0 : -ENOMEM;
finish:
        json_object_put(o);
        return r;
}

/* event = EVENT of a gpio input: the model has the event, with an output parameter named as the property
 * that takes the line's 0 and 1. Returns the number of problems (logged). */
static unsigned conf_check_binding_event(const Conf *c, const Tsl *tsl, const BindingConfig *b)
{
        const char *event = binding_config_event(b);
        const TslEvent *e;

        if (!event)
                return 0;
        e = tsl_find_event(tsl, event);
        if (!e) {
                log_error("%s: [binding.%s] event = %s: the thing model has no such event", c->path,
                        b->identifier, event);
                return 1;
        }
        for (int v = 0; v <= 1; v++) {
                _cleanup_(freep) char *error = NULL;
                json_object *output = json_object_new_object();
                int r;

                if (!output || json_object_object_add(output, b->identifier, json_object_new_int(v)) < 0) {
                        json_object_put(output);
                        return log_oom(), 1;
                }
                r = tsl_check_event_output(e, output, &error);
                json_object_put(output);
                if (r != 0) {
                        log_error("%s: [binding.%s] event = %s: its output cannot carry %s = %d: %s",
                                c->path, b->identifier, event, b->identifier, v, strna(error));
                        return 1;
                }
        }
        return 0;
}

/* Each binding complete, and for a property of the model of the right type. Returns the number of
 * problems (logged). */
static unsigned conf_check_bindings(
        const Conf *c, const Tsl *tsl, const BindingConfig *bindings, size_t n_bindings)
{
        unsigned n = 0;

        for (size_t i = 0; i < n_bindings; i++) {
                const BindingConfig *b = &bindings[i];
                _cleanup_(freep) char *error = NULL;
                const TslProperty *prop;
                BindingType type = {};

                if (binding_config_verify(b, &error) < 0) {
                        log_error("%s: [binding.%s] %s", c->path, b->identifier, strna(error));
                        n++;
                        continue;
                }
                prop = tsl ? tsl_find_property(tsl, b->identifier) : NULL;
                if (!prop) {
                        if (tsl)
                                log_error("%s: [binding.%s]: the thing model has no property %s", c->path,
                                        b->identifier, b->identifier);
                        n += !!tsl;
                        continue;
                }
                binding_type_from_property(prop, &type);
                if (binding_config_check_type(b, &type, &error) < 0) {
                        log_error("%s: [binding.%s] %s", c->path, b->identifier, strna(error));
                        n++;
                        continue;
                }
                n += conf_check_binding_event(c, tsl, b);
        }
        return n;
}

/* Each [subdevice.NAME]: its identity, one secret, its thing model and bindings; no two the same device, and
 * none the gateway itself. Returns the number of problems (logged), or negative errno. */
static int conf_check_subdevices(Conf *c)
{
        const char *creds = getenv("CREDENTIALS_DIRECTORY");
        unsigned n = 0;
        int r;

        for (size_t i = 0; i < c->n_subdevices; i++) {
                SubdeviceConf *sd = &c->subdevices[i];
                _cleanup_(freep) char *error = NULL, *cred = NULL;

                if (!sd->product_key || !sd->device_name) {
                        log_error("%s: [subdevice.%s] needs product_key and device_name", c->path, sd->name);
                        n++;
                        continue;
                }
                if (streq_ptr(sd->product_key, c->product_key) &&
                        streq_ptr(sd->device_name, c->device_name)) {
                        log_error("%s: [subdevice.%s] is the gateway itself", c->path, sd->name);
                        n++;
                }
                for (size_t j = 0; j < i; j++)
                        if (streq_ptr(c->subdevices[j].product_key, sd->product_key) &&
                                streq_ptr(c->subdevices[j].device_name, sd->device_name)) {
                                log_error("%s: [subdevice.%s] and [subdevice.%s] are the same device %s/%s",
                                        c->path, c->subdevices[j].name, sd->name, sd->product_key,
                                        sd->device_name);
                                n++;
                        }

                /* Its secret: the credential "subdevice-NAME", else device_secret_file, else inline. */
                if (!isempty(creds) && asprintf(&cred, "%s/subdevice-%s", creds, sd->name) < 0)
                        return -ENOMEM;
                r = cred ? read_secret_file(cred, &sd->device_secret) : -ENOENT;
                if (r == -ENOENT && sd->device_secret_file)
                        r = read_secret_file(sd->device_secret_file, &sd->device_secret);
                if (r == -ENOENT && !sd->device_secret_file && sd->inline_secret) {
                        sd->device_secret = strdup(sd->inline_secret);
                        r = sd->device_secret ? 0 : -ENOMEM;
                }
                if (r == -ENOMEM)
                        return r;
                if (r < 0) {
                        if (r == -ENOENT && !sd->device_secret_file)
                                log_error("%s: [subdevice.%s] has no secret: give device_secret_file, "
                                          "device_secret, or "
                                          "the systemd credential \"subdevice-%s\"",
                                        c->path, sd->name, sd->name);
                        else
                                log_error_errno(r, "%s: [subdevice.%s] cannot read its secret: %s", c->path,
                                        sd->name,
                                        r == -EBADMSG ? "it is empty"
                                        : r == -E2BIG ? "it is too long"
                                                      : "%m");
                        n++;
                }

                if (!sd->tsl_path) {
                        log_error("%s: [subdevice.%s] needs tsl = PATH, its product's thing model", c->path,
                                sd->name);
                        n++;
                        continue;
                }
                r = tsl_load_file(sd->tsl_path, &sd->tsl, &error);
                if (r != 0) {
                        log_error("%s: [subdevice.%s] tsl: %s", c->path, sd->name,
                                r < 0 && !error ? "cannot be read" : strna(error));
                        n++;
                        continue;
                }
                n += conf_check_bindings(c, sd->tsl, sd->bindings, sd->n_bindings);
        }
        return (int) n;
}

/* The thing model: [device] tsl, or the light's. Problems name the file and the JSON path. Returns the
 * number of problems (logged), or negative errno. */
static int conf_load_tsl(Conf *c)
{
        _cleanup_(freep) char *error = NULL, *light = NULL;
        int r;

        if (c->tsl_path)
                r = tsl_load_file(c->tsl_path, &c->tsl, &error);
        else {
                r = conf_light_tsl(c, &light);
                if (r < 0)
                        return r;
                r = tsl_parse(light, strlen(light), &c->tsl, &error);
        }
        if (r == 0) {
                const char *pk = tsl_product_key(c->tsl);
                /* A model exported from another product: sets would be checked against the wrong one. */
                if (!isempty(pk) && c->product_key && !streq(pk, c->product_key))
                        log_warning(
                                "%s: [device] tsl %s is the thing model of product %s, but the device is of "
                                "product %s",
                                c->path, c->tsl_path, pk, c->product_key);
                return 0;
        }
        if (r < 0 && !error)
                log_error_errno(r, "%s: [device] tsl: cannot load the thing model %s: %m", c->path,
                        strna(c->tsl_path));
        else
                log_error("%s: [device] tsl: %s", c->path, strna(error));
        return 1;
}

/* qsort() passes pointers to the elements, which are char pointers. */
static int compare_paths(const void *a, const void *b)
{
        return strcmp(*(char *const *) a, *(char *const *) b);
}

static int dropins_load(Conf *c, unsigned *n_errors)
{
        _cleanup_(freep) char *pattern = NULL;
        glob_t g = {};
        int r = 0;

        if (asprintf(&pattern, "%s.d/*.conf", c->path) < 0)
                return -ENOMEM;
        if (glob(pattern, GLOB_NOSORT, NULL, &g) != 0) {
                globfree(&g);
                return 0;
        }
        /* Sorted, so later names override earlier ones predictably. */
        qsort(g.gl_pathv, g.gl_pathc, sizeof(char *), compare_paths);
        for (size_t i = 0; i < g.gl_pathc && r >= 0; i++)
                r = parse_one_file(c, g.gl_pathv[i], /* required= */ true, n_errors);
        globfree(&g);
        return r;
}

static int conf_new(Conf **ret, const char *path)
{
        Conf *c;

        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->keepalive = 60;
        c->clean_session = true;
        c->handler_timeout_usec = 5 * 1000 * 1000;
        c->log_level = LOG_INFO;
        c->led = (LedConfig){
                .backend = LED_BACKEND_NONE,
                .on_exit = LED_ON_EXIT_KEEP,
                .threshold = LED_DEFAULT_THRESHOLD,
                .channels = {0, 1, 2},
                .period_ns = LED_DEFAULT_PERIOD_NS,
                .gamma = LED_DEFAULT_GAMMA,
        };
        c->ota.installer_timeout = 600;
        c->ota.max_size = 1ULL << 30;
        c->ota.connect_timeout = 30;
        c->ota.stall_timeout = 60;
        c->ota.cloud_timeout = 60;
        c->outbox_max_messages = 10000;
        c->outbox_max_bytes = 8 * 1024 * 1024;
        c->outbox_max_rate = 10;
        c->path = strdup(path);
        if (!c->path) {
                free(c);
                return -ENOMEM;
        }
        *ret = c;
        return 0;
}

/* [led] keys against each other. Returns the number of problems (logged). */
static unsigned conf_check_led(const Conf *c)
{
        const LedConfig *l = &c->led;
        unsigned n = 0;

        if (l->backend == LED_BACKEND_LEDCLASS && strv_length(l->leds) == 0) {
                log_error("%s: [led] backend = ledclass needs leds = NAME (a multicolor LED) or leds = "
                          "RED,GREEN,BLUE "
                          "(names in /sys/class/leds)",
                        c->path);
                n++;
        }
        if (l->backend == LED_BACKEND_PWM && l->chip &&
                (strchr(l->chip, '/') || streq(l->chip, ".") || streq(l->chip, ".."))) {
                log_error("%s: [led] chip = %s: a PWM chip is named as in /sys/class/pwm, such as pwmchip0",
                        c->path, l->chip);
                n++;
        }
        return n;
}

static int conf_fill_defaults(Conf *c)
{
        const char *state = getenv("STATE_DIRECTORY");

        if (!c->region && !(c->region = strdup(CONF_DEFAULT_REGION)))
                return -ENOMEM;
        if (!c->ca_file && !c->ca_path && !(c->ca_path = strdup(CONF_DEFAULT_CA_PATH)))
                return -ENOMEM;
        if (!c->state_directory) {
                /* systemd's StateDirectory= may list several, colon-separated: the first is ours. */
                if (!isempty(state))
                        c->state_directory = strndup(state, strcspn(state, ":"));
                else
                        c->state_directory = strdup(CONF_DEFAULT_STATE_DIRECTORY);
                if (!c->state_directory)
                        return -ENOMEM;
        }
        if (!c->led_model.switch_property && !(c->led_model.switch_property = strdup("LightSwitch")))
                return -ENOMEM;
        if (!c->led_model.color_property && !(c->led_model.color_property = strdup("RGBColor")))
                return -ENOMEM;
        if (!c->user_topics && strv_split("", " ", &c->user_topics) < 0)
                return -ENOMEM;
        if (!c->led.lines && strv_split(LED_DEFAULT_GPIO_LINES, ",", &c->led.lines) < 0)
                return -ENOMEM;
        if (!c->led.sysfs_root && !(c->led.sysfs_root = strdup(LED_DEFAULT_SYSFS_ROOT)))
                return -ENOMEM;
        if (!c->ota.version_file && !c->ota.version_command &&
                !(c->ota.version_file = strdup(CONF_DEFAULT_OTA_VERSION_FILE)))
                return -ENOMEM;
        if (!c->ota.download_dir && !(c->ota.download_dir = strdup(c->state_directory)))
                return -ENOMEM;
        if (!c->bus_forward_topics && strv_split("", " ", &c->bus_forward_topics) < 0)
                return -ENOMEM;

        if (!c->host && c->product_key) {
                int r;
                /* https://help.aliyun.com/document_detail/73742.html: instance endpoint when an instance id
                 * is set, else the legacy public endpoint. Both serve TLS with GlobalSign roots on these
                 * ports. */
                if (c->instance_id)
                        r = asprintf(&c->host, "%s.mqtt.iothub.aliyuncs.com", c->instance_id);
                else
                        r = asprintf(&c->host, "%s.iot-as-mqtt.%s.aliyuncs.com", c->product_key, c->region);
                if (r < 0) {
                        c->host = NULL;
                        return -ENOMEM;
                }
        }
        if (c->port == 0)
                c->port = c->instance_id ? 1883 : 443;
        return 0;
}

int conf_load(const char *path, Conf **ret)
{
        _cleanup_(conf_freep) Conf *c = NULL;
        unsigned n_errors = 0;
        bool unconfigured = false;
        int r;

        r = conf_new(&c, path ?: CONF_DEFAULT_PATH);
        if (r < 0)
                return r;

        r = parse_one_file(c, c->path, /* required= */ true, &n_errors);
        if (r < 0)
                return r;
        r = dropins_load(c, &n_errors);
        if (r < 0)
                return r;

        r = resolve_secret(c, &n_errors);
        if (r < 0)
                return r;

        /* Values against each other, and what must be there. */
        if (!c->product_key || !c->device_name || !c->device_secret) {
                if (!c->product_key)
                        log_error("%s: [device] product_key is not set", c->path);
                if (!c->device_name)
                        log_error("%s: [device] device_name is not set", c->path);
                if (!c->device_secret && !c->device_secret_file)
                        log_error("%s: [device] the device secret is not set: give device_secret_file, "
                                  "device_secret, or the systemd credential \"" CONF_SECRET_CREDENTIAL "\"",
                                c->path);
                unconfigured = true;
        }
        if (c->ota.installer && c->ota.install_unit) {
                log_error("%s: [ota] set only one of installer and install_unit", c->path);
                n_errors++;
        }
        if (c->ota.version_file && c->ota.version_command) {
                log_error("%s: [ota] set only one of version_file and version_command", c->path);
                n_errors++;
        }
        if (c->ca_file && c->ca_path)
                log_debug("%s: both ca_file and ca_path are set; both are trusted", c->path);
        /* Checked as the user that runs the daemon (under the unit's sandbox): a CA it cannot read is a
         * configuration error, said once with the reason, not a network failure retried for ever. */
        if (c->ca_file && access(c->ca_file, R_OK) < 0) {
                log_error_errno(errno, "%s: [mqtt] ca_file %s cannot be read: %m", c->path, c->ca_file);
                n_errors++;
        }
        if (c->ota.ca_file && access(c->ota.ca_file, R_OK) < 0) {
                log_error_errno(errno, "%s: [ota] ca_file %s cannot be read: %m", c->path, c->ota.ca_file);
                n_errors++;
        }
        n_errors += conf_check_led(c);

        r = conf_fill_defaults(c);
        if (r < 0)
                return r;
        r = conf_load_tsl(c);
        if (r < 0)
                return r;
        n_errors += r;
        n_errors += conf_check_bindings(c, c->tsl, c->bindings, c->n_bindings);
        r = conf_check_subdevices(c);
        if (r < 0)
                return r;
        n_errors += (unsigned) r;

        if (n_errors > 0) {
                log_error("%s: %u problem%s found", c->path, n_errors, n_errors == 1 ? "" : "s");
                return CONF_E_INVALID;
        }

        *ret = TAKE_PTR(c);
        return unconfigured ? CONF_E_UNCONFIGURED : 0;
}

Conf *conf_free(Conf *c)
{
        if (!c)
                return NULL;
        free(c->path);
        free(c->product_key);
        free(c->device_name);
        erase_and_free(c->device_secret);
        erase_and_free(c->inline_secret);
        free(c->device_secret_file);
        free(c->region);
        free(c->instance_id);
        free(c->host);
        free(c->ca_file);
        free(c->ca_path);
        strv_free(c->user_topics);
        strv_free(c->bus_forward_topics);
        free(c->state_directory);
        free(c->tsl_path);
        tsl_free(c->tsl);
        for (size_t i = 0; i < c->n_bindings; i++)
                binding_config_done(&c->bindings[i]);
        free(c->bindings);
        for (size_t i = 0; i < c->n_subdevices; i++) {
                SubdeviceConf *sd = &c->subdevices[i];
                free(sd->name);
                free(sd->product_key);
                free(sd->device_name);
                erase_and_free(sd->device_secret);
                erase_and_free(sd->inline_secret);
                free(sd->device_secret_file);
                free(sd->tsl_path);
                tsl_free(sd->tsl);
                for (size_t j = 0; j < sd->n_bindings; j++)
                        binding_config_done(&sd->bindings[j]);
                free(sd->bindings);
        }
        free(c->subdevices);
        free(c->led_model.switch_property);
        free(c->led_model.color_property);
        free(c->led_model.brightness_property);
        led_config_done(&c->led);
        free(c->ota.version_file);
        free(c->ota.version_command);
        free(c->ota.installer);
        free(c->ota.install_unit);
        free(c->ota.download_dir);
        free(c->ota.ca_file);
        free(c);
        return NULL;
}

bool conf_connection_changed(const Conf *a, const Conf *b)
{
        return !streq_ptr(a->product_key, b->product_key) || !streq_ptr(a->device_name, b->device_name) ||
               !streq_ptr(a->device_secret, b->device_secret) || !streq_ptr(a->host, b->host) ||
               a->port != b->port || !streq_ptr(a->ca_file, b->ca_file) ||
               !streq_ptr(a->ca_path, b->ca_path) || a->keepalive != b->keepalive ||
               a->clean_session != b->clean_session || !strv_equal(a->user_topics, b->user_topics);
}
