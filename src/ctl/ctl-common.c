/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl-common.c: aliLinkctl's calls to the daemon, its properties and their printing. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus-names.h"
#include "ctl-common.h"
#include "string-util.h"

#define X(id, name, ...) [PROP_##id] = name,
static const char *const names[_PROP_MAX] = {BUS_PROPERTIES(X)};
#undef X
#define X(id, name, signature, ...) [PROP_##id] = signature,
static const char *const signatures[_PROP_MAX] = {BUS_PROPERTIES(X)};
#undef X
#define X(id, name, signature, flags, json_key, ...) [PROP_##id] = json_key,
static const char *const json_keys[_PROP_MAX] = {BUS_PROPERTIES(X)};
#undef X
#define X(id, name, signature, flags, json_key, show) [PROP_##id] = show,
static const int shows[_PROP_MAX] = {BUS_PROPERTIES(X)};
#undef X

/* --- errors and calls --- */

int usage_error(const char *format, ...)
{
        va_list ap;

        fprintf(stderr, "aliLinkctl: ");
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fprintf(stderr, "\nSee aliLinkctl --help.\n");
        return EXIT_USAGE;
}

int bus_failed(const char *what, const sd_bus_error *e, int r)
{
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                fprintf(stderr, "ali-linkd is not running (" ALI_BUS_NAME " is not on the system bus)\n");
        else if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
                fprintf(stderr,
                        "%s: access denied: %s\n(Only root and members of the group ali-link may do "
                        "this.)\n",
                        what, e->message);
        else if (sd_bus_error_is_set(e))
                fprintf(stderr, "%s: %s\n", what, e->message);
        else
                fprintf(stderr, "%s: %s\n", what, strerror(r < 0 ? -r : r));
        return r < 0 ? r : -EIO;
}

int call_object_va(sd_bus *bus, const char *what, const char *path, const char *interface,
        const char *method, sd_bus_message **reply, const char *types, va_list ap)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, ALI_BUS_NAME, path, interface, method);
        if (r < 0)
                return bus_failed(what, &e, r);
        if (types) {
                r = sd_bus_message_appendv(m, types, ap);
                if (r < 0)
                        return bus_failed(what, &e, r);
        }
        r = sd_bus_call(bus, m, 0, &e, reply);
        if (r < 0) {
                r = bus_failed(what, &e, r);
                sd_bus_error_free(&e);
        }
        return r;
}

int call(sd_bus *bus, const char *what, const char *method, sd_bus_message **reply, const char *types, ...)
{
        va_list ap;
        int r;

        va_start(ap, types);
        r = call_object_va(bus, what, ALI_BUS_PATH, ALI_BUS_INTERFACE, method, reply, types, ap);
        va_end(ap);
        return r;
}

/* --- the daemon's properties --- */

const char *property_name(Property p)
{
        return p >= 0 && p < _PROP_MAX ? names[p] : NULL;
}

static Property property_from_name(const char *name)
{
        for (size_t i = 0; i < _PROP_MAX; i++)
                if (streq(names[i], name))
                        return (Property) i;
        return _PROP_MAX;
}

void status_done(Status *s)
{
        for (size_t i = 0; i < _PROP_MAX; i++)
                if (streq(signatures[i], "s"))
                        s->v[i].s = mfree(s->v[i].s);
}

const char *status_string(const Status *s, Property p)
{
        return streq(signatures[p], "s") ? strempty(s->v[p].s) : "";
}

/* Reads one value (inside a variant) into s; names the table does not know, or of another type than it
 * says (a newer or older daemon), are skipped. Returns 1 when read, 0 when skipped. */
static int status_read_value(Status *s, const char *name, sd_bus_message *m)
{
        Property p = property_from_name(name);
        PropertyValue *v = p < _PROP_MAX ? &s->v[p] : NULL;
        const char *contents, *str;
        int r;

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;
        if (!v || !streq(contents, signatures[p]))
                r = sd_bus_message_skip(m, contents);
        else
                switch (contents[0]) {
                case 'b':
                        r = sd_bus_message_read(m, "b", &v->b);
                        break;
                case 's':
                        r = sd_bus_message_read(m, "s", &str);
                        if (r >= 0)
                                r = free_and_strdup(&v->s, str);
                        break;
                case 't':
                        r = sd_bus_message_read(m, "t", &v->t);
                        break;
                case 'u':
                        r = sd_bus_message_read(m, "u", &v->u);
                        break;
                case 'i':
                        r = sd_bus_message_read(m, "i", &v->i);
                        break;
                case 'y':
                        r = sd_bus_message_read(m, "y", &v->y);
                        break;
                case '(':
                        r = sd_bus_message_read(
                                m, "(byyy)", &v->led.on, &v->led.red, &v->led.green, &v->led.blue);
                        break;
                default:
                        r = sd_bus_message_skip(m, contents);
                        v = NULL;
                }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (r < 0)
                return r;
        return !!v;
}

int status_read_dict(Status *s, sd_bus_message *m, Property **ret_changed)
{
        _cleanup_(freep) Property *changed = NULL;
        size_t n = 0;
        int r;

        if (ret_changed) {
                /* Each property at most once: the table's size bounds the list. */
                changed = calloc(_PROP_MAX + 1, sizeof(Property));
                if (!changed)
                        return -ENOMEM;
        }
        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                r = status_read_value(s, name, m);
                if (r < 0)
                        return r;
                if (r > 0 && changed && n < _PROP_MAX)
                        changed[n++] = property_from_name(name);
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (changed) {
                changed[n] = _PROP_MAX;
                *ret_changed = TAKE_PTR(changed);
        }
        return r;
}

int get_status(sd_bus *bus, Status *s)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, ALI_BUS_NAME, ALI_BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                &e, &reply, "s", ALI_BUS_INTERFACE);
        if (r < 0) {
                r = bus_failed("Cannot read the daemon's status", &e, r);
                sd_bus_error_free(&e);
                return r;
        }
        r = status_read_dict(s, reply, NULL);
        if (r < 0)
                fprintf(stderr, "Cannot parse the daemon's status: %s\n", strerror(-r));
        return r;
}

/* --- printing --- */

json_object *property_to_json(const Status *s, Property p)
{
        const PropertyValue *v = &s->v[p];
        json_object *o;

        switch (signatures[p][0]) {
        case 'b':
                return json_object_new_boolean(v->b);
        case 's':
                return json_object_new_string(strempty(v->s));
        case 't':
                return json_object_new_uint64(v->t);
        case 'u':
                return json_object_new_int64(v->u);
        case 'i':
                return json_object_new_int(v->i);
        case 'y':
                return json_object_new_int(v->y);
        default: /* "(byyy)" */
                o = json_object_new_object();
                json_object_object_add(o, "on", json_object_new_boolean(v->led.on));
                json_object_object_add(o, "red", json_object_new_int(v->led.red));
                json_object_object_add(o, "green", json_object_new_int(v->led.green));
                json_object_object_add(o, "blue", json_object_new_int(v->led.blue));
                return o;
        }
}

void status_add_json(json_object *o, const Status *s, const Property *props)
{
        for (; *props < _PROP_MAX; props++)
                json_object_object_add(o, json_keys[*props], property_to_json(s, *props));
}

json_object *status_to_json(const Status *s)
{
        json_object *o = json_object_new_object();

        for (size_t i = 0; i < _PROP_MAX; i++)
                json_object_object_add(o, json_keys[i], property_to_json(s, (Property) i));
        return o;
}

const char *property_to_text(const Status *s, Property p, char *buf, size_t size)
{
        const PropertyValue *v = &s->v[p];
        uint64_t n;

        switch (signatures[p][0]) {
        case 'b':
                return yes_no(v->b);
        case 's':
                return shows[p] == BUS_PROPERTY_SHOW_OR_NONE && isempty(v->s) ? "none" : strempty(v->s);
        case 'i':
                snprintf(buf, size, "%" PRIi32, v->i);
                return buf;
        case '(':
                snprintf(buf, size, "%s, colour #%02x%02x%02x (%u,%u,%u)", v->led.on ? "on" : "off",
                        v->led.red, v->led.green, v->led.blue, v->led.red, v->led.green, v->led.blue);
                return buf;
        default:
                break;
        }
        n = signatures[p][0] == 't' ? v->t : signatures[p][0] == 'u' ? v->u : v->y;
        if (shows[p] == BUS_PROPERTY_SHOW_TIME)
                return format_time(buf, size, n);
        snprintf(buf, size, "%" PRIu64 "%s", n, shows[p] == BUS_PROPERTY_SHOW_PERCENT ? "%" : "");
        return buf;
}

void print_json(json_object *o)
{
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(stdout);
}

const char *format_bytes(char *buf, size_t size, uint64_t b)
{
        if (b < 1024)
                snprintf(buf, size, "%" PRIu64 " B", b);
        else if (b < 1024 * 1024)
                snprintf(buf, size, "%.1f KiB", (double) b / 1024);
        else
                snprintf(buf, size, "%.1f MiB", (double) b / (1024 * 1024));
        return buf;
}

const char *format_time(char *buf, size_t size, uint64_t usec)
{
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "n/a");
        return buf;
}

const char *format_ago(char *buf, size_t size, uint64_t usec)
{
        struct timespec ts;
        uint64_t now, d;

        clock_gettime(CLOCK_REALTIME, &ts);
        now = (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / 1000;
        d = now > usec ? (now - usec) / USEC_PER_SEC : 0;
        if (d < 60)
                snprintf(buf, size, "%" PRIu64 "s ago", d);
        else if (d < 3600)
                snprintf(buf, size, "%" PRIu64 "min ago", d / 60);
        else if (d < 86400)
                snprintf(buf, size, "%" PRIu64 "h %" PRIu64 "min ago", d / 3600, d % 3600 / 60);
        else
                snprintf(buf, size, "%" PRIu64 " days ago", d / 86400);
        return buf;
}
