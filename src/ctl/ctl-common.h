/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl-common.h: what aliLinkctl's verbs share: the options, errors and exit codes, method calls to the
 * daemon, the daemon's properties as read over D-Bus, and printing.
 *
 * The properties come from the one table in bus-properties.h: a Status holds one value per line of it,
 * read from GetAll or PropertiesChanged, and is printed from the same table (JSON keys, monitor lines).
 * Nothing here opens GPIO or the network; the bus connection is main()'s and the verbs borrow it. */
#pragma once

#include <json-c/json.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdint.h>
#include <systemd/sd-bus.h>

#include "bus-properties.h"
#include "macro.h"

#define EXIT_USAGE 2

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

/* Options (aliLinkctl.c parses them). */
extern bool arg_json;
extern unsigned arg_qos;
extern const char *arg_config;

/* Usage errors print the message and return EXIT_USAGE (positive); failures are negative errno, printed
 * once where they happen. */
int usage_error(const char *format, ...) _printf_(1, 2);
/* Prints why a call failed ("ali-linkd is not running", access denied, the daemon's message) and returns
 * a negative errno. */
int bus_failed(const char *what, const sd_bus_error *e, int r);
/* Calls method on the daemon with arguments of the given types (as sd_bus_message_append(); types may be
 * NULL); *reply (optional) is the caller's to unref. Failures are printed with what. */
int call(sd_bus *bus, const char *what, const char *method, sd_bus_message **reply, const char *types, ...);
/* The same for any object and interface of the daemon. */
int call_object_va(sd_bus *bus, const char *what, const char *path, const char *interface,
        const char *method, sd_bus_message **reply, const char *types, va_list ap);

/* PROP_CONNECTED, PROP_STATE, ...: one per line of BUS_PROPERTIES() (not formatted, as in bus.h). */
typedef enum Property {
/* clang-format off */
#define X(id, ...) PROP_##id,
        BUS_PROPERTIES(X)
#undef X
        _PROP_MAX,
        /* clang-format on */
} Property;

typedef struct PropertyValue {
        union {
                int b;
                char *s; /* malloc'ed, never NULL once read */
                uint64_t t;
                uint32_t u;
                int32_t i;
                uint8_t y;
                struct {
                        int on;
                        uint8_t red, green, blue;
                } led; /* "(byyy)" */
        };
} PropertyValue;

/* The daemon's properties; members a daemon did not send are 0 / NULL. */
typedef struct Status {
        PropertyValue v[_PROP_MAX];
} Status;

void status_done(Status *s);
const char *property_name(Property p);
/* Reads an a{sv} of properties (GetAll, PropertiesChanged) into s; unknown names are skipped.
 * ret_changed (optional) gets the properties in the order they came, terminated by _PROP_MAX; the
 * caller frees it. */
int status_read_dict(Status *s, sd_bus_message *m, Property **ret_changed);
/* GetAll; failures are printed. */
int get_status(sd_bus *bus, Status *s);
/* Strings of a status, "" when not sent. */
const char *status_string(const Status *s, Property p);

/* The value of p as JSON, as status --json and monitor --json show it (a new reference). */
json_object *property_to_json(const Status *s, Property p);
/* Adds "key": value for each property given, up to _PROP_MAX. */
void status_add_json(json_object *o, const Status *s, const Property *props);
/* Every property, in the table's order. */
json_object *status_to_json(const Status *s);
/* The value of p as text for a human ("yes", "none", a local time, "80%", "on, colour #0a141e
 * (10,20,30)"): a string of s, or buf. */
const char *property_to_text(const Status *s, Property p, char *buf, size_t size);
void print_json(json_object *o);

const char *format_bytes(char *buf, size_t size, uint64_t b);
const char *format_time(char *buf, size_t size, uint64_t usec);
const char *format_ago(char *buf, size_t size, uint64_t usec);

/* The verbs: argv[0] is the verb, argc counts it. */
int verb_status(sd_bus *bus, int argc, char *argv[]);
int verb_monitor(sd_bus *bus, int argc, char *argv[]);
int verb_publish(sd_bus *bus, int argc, char *argv[]);
int verb_led(sd_bus *bus, int argc, char *argv[]);
int verb_ota(sd_bus *bus, int argc, char *argv[]);
int verb_reload(sd_bus *bus, int argc, char *argv[]);
int verb_doctor(sd_bus *bus, int argc, char *argv[]);
int verb_get(sd_bus *bus, int argc, char *argv[]);
int verb_set(sd_bus *bus, int argc, char *argv[]);
int verb_post(sd_bus *bus, int argc, char *argv[]);
int verb_event(sd_bus *bus, int argc, char *argv[]);
int verb_call(sd_bus *bus, int argc, char *argv[]);
int verb_devices(sd_bus *bus, int argc, char *argv[]);
int verb_device(sd_bus *bus, int argc, char *argv[]);
int verb_add(sd_bus *bus, int argc, char *argv[]);
int verb_remove(sd_bus *bus, int argc, char *argv[]);
int verb_tsl(sd_bus *bus, int argc, char *argv[]);
