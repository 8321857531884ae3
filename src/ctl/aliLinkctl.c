/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* aliLinkctl: control and inspect ali-linkd over D-Bus.
 *
 * A thin client: every verb is one or a few calls to org.alilinkd1 on the system bus. It never talks to
 * the cloud and never opens GPIO itself; "doctor" reads the configuration and local files, and takes
 * everything about the network from what the daemon observed on its own connection. Exit status: 0 on
 * success, 1 on failure, 2 on a usage error. */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <time.h>
#include <unistd.h>

#include "bus-names.h"
#include "conf.h"
#include "log.h"
#include "macro.h"
#include "string-util.h"

#define EXIT_USAGE 2

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static bool arg_json = false;
static bool arg_help = false;
static unsigned arg_qos = 0;
static const char *arg_config = CONF_DEFAULT_PATH;

/* --- errors and the bus --- */

/* Usage errors are positive 2 throughout; failures are negative errno (printed once, where they happen). */
static int usage_error(const char *format, ...) _printf_(1, 2);
static int usage_error(const char *format, ...)
{
        va_list ap;

        fprintf(stderr, "aliLinkctl: ");
        va_start(ap, format);
        vfprintf(stderr, format, ap);
        va_end(ap);
        fprintf(stderr, "\nSee aliLinkctl --help.\n");
        return EXIT_USAGE;
}

static int bus_failed(const char *what, const sd_bus_error *e, int r)
{
        if (sd_bus_error_has_names(e, SD_BUS_ERROR_SERVICE_UNKNOWN, SD_BUS_ERROR_NAME_HAS_NO_OWNER))
                fprintf(stderr, "ali-linkd is not running (" ALI_BUS_NAME " is not on the system bus)\n");
        else if (sd_bus_error_has_name(e, SD_BUS_ERROR_ACCESS_DENIED))
                fprintf(stderr, "%s: access denied: %s\n(Only root and members of the group ali-link may do this.)\n",
                        what, e->message);
        else if (sd_bus_error_is_set(e))
                fprintf(stderr, "%s: %s\n", what, e->message);
        else
                fprintf(stderr, "%s: %s\n", what, strerror(r < 0 ? -r : r));
        return r < 0 ? r : -EIO;
}

static int call(sd_bus *bus, const char *what, const char *method, sd_bus_message **reply, const char *types, ...)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        va_list ap;
        int r;

        r = sd_bus_message_new_method_call(bus, &m, ALI_BUS_NAME, ALI_BUS_PATH, ALI_BUS_INTERFACE, method);
        if (r < 0)
                return bus_failed(what, &e, r);
        if (types) {
                va_start(ap, types);
                r = sd_bus_message_appendv(m, types, ap);
                va_end(ap);
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

/* --- the daemon's properties --- */

typedef struct Status {
        int connected;
        char *state, *endpoint, *product_key, *device_name, *last_error, *firmware_version, *ota_state;
        uint64_t connected_since, messages_sent, messages_received, bytes_sent, bytes_received, cert_expiry;
        uint32_t reconnects, outbox_depth;
        int32_t ota_progress;
        int led_on;
        uint8_t red, green, blue;
} Status;

static void status_done(Status *s)
{
        free(s->state);
        free(s->endpoint);
        free(s->product_key);
        free(s->device_name);
        free(s->last_error);
        free(s->firmware_version);
        free(s->ota_state);
}

static int read_string(sd_bus_message *m, char **dst)
{
        const char *v;
        int r = sd_bus_message_read(m, "s", &v);
        if (r < 0)
                return r;
        return free_and_strdup(dst, v);
}

/* Reads one property value (inside a variant) into s; unknown names are skipped. */
static int status_read_value(Status *s, const char *name, sd_bus_message *m)
{
        const char *contents;
        int r;

        r = sd_bus_message_peek_type(m, NULL, &contents);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(m, 'v', contents);
        if (r < 0)
                return r;

#define T(n, fmt, field) else if (streq(name, n)) r = sd_bus_message_read(m, fmt, &s->field)
#define S(n, field) else if (streq(name, n)) r = read_string(m, &s->field)
        if (streq(name, "Led"))
                r = sd_bus_message_read(m, "(byyy)", &s->led_on, &s->red, &s->green, &s->blue);
        T("Connected", "b", connected);
        S("State", state);
        S("Endpoint", endpoint);
        S("ProductKey", product_key);
        S("DeviceName", device_name);
        S("LastError", last_error);
        T("ConnectedSince", "t", connected_since);
        T("Reconnects", "u", reconnects);
        T("MessagesSent", "t", messages_sent);
        T("MessagesReceived", "t", messages_received);
        T("BytesSent", "t", bytes_sent);
        T("BytesReceived", "t", bytes_received);
        S("FirmwareVersion", firmware_version);
        S("OtaState", ota_state);
        T("OtaProgress", "i", ota_progress);
        T("OutboxDepth", "u", outbox_depth);
        T("ServerCertificateExpiry", "t", cert_expiry);
        else
                r = sd_bus_message_skip(m, contents);
#undef T
#undef S
        if (r < 0)
                return r;
        return sd_bus_message_exit_container(m);
}

/* Reads an a{sv} of properties; ret_names (optional) collects the names in order. */
static int status_read_dict(Status *s, sd_bus_message *m, char ***ret_names)
{
        _cleanup_(strv_freep) char **names = NULL;
        size_t n = 0;
        int r;

        r = sd_bus_message_enter_container(m, 'a', "{sv}");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
                const char *name;

                r = sd_bus_message_read(m, "s", &name);
                if (r < 0)
                        return r;
                if (ret_names) {
                        char **t = reallocarray(names, n + 2, sizeof(char *));
                        if (!t)
                                return -ENOMEM;
                        names = t;
                        names[n] = strdup(name);
                        names[++n] = NULL;
                        if (!names[n - 1])
                                return -ENOMEM;
                }
                r = status_read_value(s, name, m);
                if (r < 0)
                        return r;
                r = sd_bus_message_exit_container(m);
                if (r < 0)
                        return r;
        }
        if (r < 0)
                return r;
        r = sd_bus_message_exit_container(m);
        if (ret_names)
                *ret_names = TAKE_PTR(names);
        return r;
}

static int get_status(sd_bus *bus, Status *s)
{
        sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r;

        r = sd_bus_call_method(bus, ALI_BUS_NAME, ALI_BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll", &e,
                &reply, "s", ALI_BUS_INTERFACE);
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

/* --- formatting --- */

static const char *format_bytes(char *buf, size_t size, uint64_t b)
{
        if (b < 1024)
                snprintf(buf, size, "%" PRIu64 " B", b);
        else if (b < 1024 * 1024)
                snprintf(buf, size, "%.1f KiB", (double) b / 1024);
        else
                snprintf(buf, size, "%.1f MiB", (double) b / (1024 * 1024));
        return buf;
}

static const char *format_time(char *buf, size_t size, uint64_t usec)
{
        time_t t = (time_t) (usec / USEC_PER_SEC);
        struct tm tm;

        if (usec == 0 || !localtime_r(&t, &tm) || strftime(buf, size, "%a %Y-%m-%d %H:%M:%S %Z", &tm) == 0)
                snprintf(buf, size, "n/a");
        return buf;
}

static const char *format_ago(char *buf, size_t size, uint64_t usec)
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

static json_object *status_to_json(const Status *s)
{
        json_object *o = json_object_new_object(), *led = json_object_new_object();

        json_object_object_add(o, "connected", json_object_new_boolean(s->connected));
        json_object_object_add(o, "state", json_object_new_string(strempty(s->state)));
        json_object_object_add(o, "endpoint", json_object_new_string(strempty(s->endpoint)));
        json_object_object_add(o, "product_key", json_object_new_string(strempty(s->product_key)));
        json_object_object_add(o, "device_name", json_object_new_string(strempty(s->device_name)));
        json_object_object_add(o, "last_error", json_object_new_string(strempty(s->last_error)));
        json_object_object_add(o, "connected_since_usec", json_object_new_uint64(s->connected_since));
        json_object_object_add(o, "reconnects", json_object_new_int64(s->reconnects));
        json_object_object_add(o, "messages_sent", json_object_new_uint64(s->messages_sent));
        json_object_object_add(o, "messages_received", json_object_new_uint64(s->messages_received));
        json_object_object_add(o, "bytes_sent", json_object_new_uint64(s->bytes_sent));
        json_object_object_add(o, "bytes_received", json_object_new_uint64(s->bytes_received));
        json_object_object_add(o, "outbox_depth", json_object_new_int64(s->outbox_depth));
        json_object_object_add(o, "firmware_version", json_object_new_string(strempty(s->firmware_version)));
        json_object_object_add(o, "ota_state", json_object_new_string(strempty(s->ota_state)));
        json_object_object_add(o, "ota_progress", json_object_new_int(s->ota_progress));
        json_object_object_add(o, "server_certificate_expiry_usec", json_object_new_uint64(s->cert_expiry));
        json_object_object_add(led, "on", json_object_new_boolean(s->led_on));
        json_object_object_add(led, "red", json_object_new_int(s->red));
        json_object_object_add(led, "green", json_object_new_int(s->green));
        json_object_object_add(led, "blue", json_object_new_int(s->blue));
        json_object_object_add(o, "led", led);
        return o;
}

static void print_json(json_object *o)
{
        puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE));
        fflush(stdout);
}

/* --- verbs --- */

static int verb_status(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(status_done) Status s = {};
        char b1[64], b2[64], t1[64], t2[64];
        int r;

        (void) argc;
        (void) argv;
        r = get_status(bus, &s);
        if (r < 0)
                return r;
        if (arg_json) {
                _cleanup_(json_object_putp) json_object *o = status_to_json(&s);
                print_json(o);
                return 0;
        }

        if (s.connected)
                printf("ali-linkd: connected to %s since %s (%s)\n", s.endpoint, format_time(t1, sizeof(t1), s.connected_since),
                        format_ago(t2, sizeof(t2), s.connected_since));
        else
                printf("ali-linkd: %s%s%s\n", s.state, isempty(s.endpoint) ? "" : ", endpoint ", strempty(s.endpoint));
        printf("      Device: %s/%s\n", isempty(s.product_key) ? "(not configured)" : s.product_key,
                strempty(s.device_name));
        printf("  Last error: %s\n", isempty(s.last_error) ? "none" : s.last_error);
        printf("     Traffic: sent %" PRIu64 " messages (%s), received %" PRIu64 " (%s); %u reconnect%s\n",
                s.messages_sent, format_bytes(b1, sizeof(b1), s.bytes_sent), s.messages_received,
                format_bytes(b2, sizeof(b2), s.bytes_received), s.reconnects, s.reconnects == 1 ? "" : "s");
        printf("      Outbox: %u message%s waiting for the cloud\n", s.outbox_depth, s.outbox_depth == 1 ? "" : "s");
        printf("    Firmware: %s; OTA %s", isempty(s.firmware_version) ? "unknown version" : s.firmware_version,
                strempty(s.ota_state));
        if (s.ota_progress != 0)
                printf(" (%d)", s.ota_progress);
        printf("\n         LED: %s, colour #%02x%02x%02x (%u,%u,%u)\n", s.led_on ? "on" : "off", s.red, s.green, s.blue,
                s.red, s.green, s.blue);
        return 0;
}

/* "user/data" → "/pk/dn/user/data", "thing/event/x/post" → "/sys/pk/dn/thing/event/x/post". */
static int expand_topic(sd_bus *bus, const char *topic, char **ret)
{
        _cleanup_(status_done) Status s = {};
        int r;

        if (topic[0] == '/')
                return (*ret = strdup(topic)) ? 0 : -ENOMEM;
        r = get_status(bus, &s);
        if (r < 0)
                return r;
        if (isempty(s.product_key) || isempty(s.device_name)) {
                fprintf(stderr, "The daemon is not configured: give the full topic\n");
                return -ENXIO;
        }
        if (strncmp(topic, "thing/", 6) == 0)
                r = asprintf(ret, "/sys/%s/%s/%s", s.product_key, s.device_name, topic);
        else
                r = asprintf(ret, "/%s/%s/%s", s.product_key, s.device_name, topic);
        return r < 0 ? -ENOMEM : 0;
}

static int read_stdin(char **ret)
{
        size_t size = 0, n = 0;
        char *buf = NULL;

        for (;;) {
                size_t k;
                if (n + 4096 + 1 > size) {
                        char *t;
                        size = n + 65536;
                        t = realloc(buf, size);
                        if (!t) {
                                free(buf);
                                return -ENOMEM;
                        }
                        buf = t;
                }
                k = fread(buf + n, 1, size - n - 1, stdin);
                n += k;
                if (n > ALI_BUS_MAX_PAYLOAD) {
                        free(buf);
                        fprintf(stderr, "The payload on standard input exceeds %u bytes\n", ALI_BUS_MAX_PAYLOAD);
                        return -EMSGSIZE;
                }
                if (k == 0)
                        break;
        }
        if (ferror(stdin)) {
                free(buf);
                return -EIO;
        }
        buf[n] = 0;
        if (strlen(buf) != n) {
                free(buf);
                fprintf(stderr, "The payload on standard input contains NUL bytes\n");
                return -EINVAL;
        }
        *ret = buf;
        return 0;
}

static int verb_publish(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(freep) char *topic = NULL, *input = NULL;
        const char *payload = argv[2];
        int r;

        (void) argc;
        r = expand_topic(bus, argv[1], &topic);
        if (r < 0)
                return r;
        if (streq(payload, "-")) {
                r = read_stdin(&input);
                if (r < 0)
                        return r;
                payload = input;
        }
        r = call(bus, "Cannot publish", "Publish", NULL, "ssu", topic, payload, (uint32_t) arg_qos);
        if (r < 0)
                return r;
        if (!arg_json)
                printf("Published %zu bytes to %s (QoS %u)\n", strlen(payload), topic, arg_qos);
        return 0;
}

static int parse_byte(const char *s, uint8_t *ret)
{
        uint64_t v;
        int r = safe_atou64_range(s, 0, 255, &v);
        if (r >= 0)
                *ret = (uint8_t) v;
        return r;
}

static int verb_led(sd_bus *bus, int argc, char *argv[])
{
        const char *a = argv[1];
        uint8_t c[3];
        int on;

        (void) argc;
        if (streq(a, "on") || streq(a, "off")) {
                _cleanup_(status_done) Status s = {};
                int r = get_status(bus, &s);
                if (r < 0)
                        return r;
                on = streq(a, "on");
                c[0] = s.red, c[1] = s.green, c[2] = s.blue;
                /* Switching on a light whose colour is black would show nothing: use white. */
                if (on && c[0] == 0 && c[1] == 0 && c[2] == 0)
                        c[0] = c[1] = c[2] = 255;
        } else if (strchr(a, ',')) {
                _cleanup_(strv_freep) char **l = NULL;
                if (strv_split(a, ",", &l) < 0)
                        return -ENOMEM;
                if (strv_length(l) != 3 || parse_byte(l[0], &c[0]) < 0 || parse_byte(l[1], &c[1]) < 0 ||
                    parse_byte(l[2], &c[2]) < 0)
                        return usage_error("led: expected R,G,B with each 0..255, got \"%s\"", a);
                on = 1;
        } else {
                const char *hex = a[0] == '#' ? a + 1 : a;
                if (hex_decode(hex, c, 3) < 0)
                        return usage_error("led: expected on, off, RRGGBB or R,G,B, got \"%s\"", a);
                on = 1;
        }
        int r = call(bus, "Cannot set the LED", "SetLed", NULL, "byyy", on, c[0], c[1], c[2]);
        if (r < 0)
                return r;
        if (!arg_json)
                printf("LED %s, colour #%02x%02x%02x\n", on ? "on" : "off", c[0], c[1], c[2]);
        return 0;
}

static int verb_ota(sd_bus *bus, int argc, char *argv[])
{
        (void) argc;
        if (streq(argv[1], "request")) {
                int r = call(bus, "Cannot request firmware", "RequestFirmware", NULL, NULL);
                if (r < 0)
                        return r;
                printf("Asked the cloud for pending firmware\n");
                return 0;
        }
        if (streq(argv[1], "status")) {
                _cleanup_(status_done) Status s = {};
                int r = get_status(bus, &s);
                if (r < 0)
                        return r;
                if (arg_json) {
                        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                        json_object_object_add(o, "firmware_version", json_object_new_string(strempty(s.firmware_version)));
                        json_object_object_add(o, "ota_state", json_object_new_string(strempty(s.ota_state)));
                        json_object_object_add(o, "ota_progress", json_object_new_int(s.ota_progress));
                        print_json(o);
                } else
                        printf("Firmware %s; OTA %s, progress %d\n",
                                isempty(s.firmware_version) ? "version unknown" : s.firmware_version,
                                strempty(s.ota_state), s.ota_progress);
                return 0;
        }
        return usage_error("ota: expected \"status\" or \"request\", got \"%s\"", argv[1]);
}

static int verb_reload(sd_bus *bus, int argc, char *argv[])
{
        (void) argc;
        (void) argv;
        _cleanup_(freep) char *state = NULL;
        int r = call(bus, "Reload failed", "Reload", NULL, NULL);
        if (r < 0)
                return r;
        /* A file without the device triple is valid: it is applied, and the daemon waits for the triple. */
        if (sd_bus_get_property_string(bus, ALI_BUS_NAME, ALI_BUS_PATH, ALI_BUS_INTERFACE, "State", NULL, &state) >= 0 &&
            streq(state, "unconfigured")) {
                printf("Configuration reloaded; the device is not configured: set product_key, device_name and "
                       "device_secret, then reload again\n");
                return 0;
        }
        printf("Configuration reloaded\n");
        return 0;
}

/* --- monitor --- */

static void monitor_property(const char *name, const Status *s)
{
        char buf[128];

        if (arg_json) {
                _cleanup_(json_object_putp) json_object *all = status_to_json(s), *o = json_object_new_object();
                json_object *v = NULL;
                const char *key = streq(name, "Connected")          ? "connected"
                                  : streq(name, "State")            ? "state"
                                  : streq(name, "Endpoint")         ? "endpoint"
                                  : streq(name, "ProductKey")       ? "product_key"
                                  : streq(name, "DeviceName")       ? "device_name"
                                  : streq(name, "LastError")        ? "last_error"
                                  : streq(name, "ConnectedSince")   ? "connected_since_usec"
                                  : streq(name, "Reconnects")       ? "reconnects"
                                  : streq(name, "FirmwareVersion")  ? "firmware_version"
                                  : streq(name, "OtaState")         ? "ota_state"
                                  : streq(name, "OtaProgress")      ? "ota_progress"
                                  : streq(name, "Led")              ? "led"
                                  : streq(name, "OutboxDepth")      ? "outbox_depth"
                                  : streq(name, "ServerCertificateExpiry") ? "server_certificate_expiry_usec"
                                                                    : NULL;
                if (!key || !json_object_object_get_ex(all, key, &v))
                        return;
                json_object_object_add(o, "type", json_object_new_string("property"));
                json_object_object_add(o, "name", json_object_new_string(name));
                json_object_object_add(o, "value", json_object_get(v));
                print_json(o);
                return;
        }
        if (streq(name, "Led"))
                printf("Led: %s, colour #%02x%02x%02x (%u,%u,%u)\n", s->led_on ? "on" : "off", s->red, s->green, s->blue,
                        s->red, s->green, s->blue);
        else if (streq(name, "Connected"))
                printf("Connected: %s\n", yes_no(s->connected));
        else if (streq(name, "State"))
                printf("State: %s\n", strempty(s->state));
        else if (streq(name, "LastError"))
                printf("LastError: %s\n", isempty(s->last_error) ? "none" : s->last_error);
        else if (streq(name, "Endpoint"))
                printf("Endpoint: %s\n", strempty(s->endpoint));
        else if (streq(name, "ConnectedSince"))
                printf("ConnectedSince: %s\n", format_time(buf, sizeof(buf), s->connected_since));
        else if (streq(name, "Reconnects"))
                printf("Reconnects: %u\n", s->reconnects);
        else if (streq(name, "FirmwareVersion"))
                printf("FirmwareVersion: %s\n", strempty(s->firmware_version));
        else if (streq(name, "OtaState"))
                printf("OtaState: %s\n", strempty(s->ota_state));
        else if (streq(name, "OtaProgress"))
                printf("OtaProgress: %d\n", s->ota_progress);
        else if (streq(name, "OutboxDepth"))
                printf("OutboxDepth: %u\n", s->outbox_depth);
        else if (streq(name, "ProductKey") || streq(name, "DeviceName"))
                printf("%s: %s\n", name, streq(name, "ProductKey") ? strempty(s->product_key) : strempty(s->device_name));
        else if (streq(name, "ServerCertificateExpiry"))
                printf("ServerCertificateExpiry: %s\n", format_time(buf, sizeof(buf), s->cert_expiry));
        fflush(stdout);
}

static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        _cleanup_(status_done) Status s = {};
        _cleanup_(strv_freep) char **names = NULL;
        const char *interface;
        int r;

        (void) userdata;
        (void) ret_error;
        r = sd_bus_message_read(m, "s", &interface);
        if (r < 0 || !streq(interface, ALI_BUS_INTERFACE))
                return 0;
        r = status_read_dict(&s, m, &names);
        if (r < 0)
                return 0;
        for (char **n = names; n && *n; n++)
                monitor_property(*n, &s);
        return 0;
}

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        const char *a = NULL, *b = NULL;

        (void) userdata;
        (void) ret_error;
        if (sd_bus_message_is_signal(m, ALI_BUS_INTERFACE, "PropertySet")) {
                if (sd_bus_message_read(m, "s", &a) < 0)
                        return 0;
                if (arg_json) {
                        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                        json_object_object_add(o, "type", json_object_new_string("property-set"));
                        json_object *params = json_tokener_parse(a);
                        json_object_object_add(o, "params", params ?: json_object_new_string(a));
                        print_json(o);
                } else
                        printf("PropertySet from the cloud: %s\n", a);
        } else if (sd_bus_message_is_signal(m, ALI_BUS_INTERFACE, "Message")) {
                if (sd_bus_message_read(m, "ss", &a, &b) < 0)
                        return 0;
                if (arg_json) {
                        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                        json_object_object_add(o, "type", json_object_new_string("message"));
                        json_object_object_add(o, "topic", json_object_new_string(a));
                        json_object_object_add(o, "payload", json_object_new_string(b));
                        print_json(o);
                } else
                        printf("Message on %s: %s\n", a, b);
        }
        fflush(stdout);
        return 0;
}

static int on_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        const char *name, *old, *new;

        (void) userdata;
        (void) ret_error;
        if (sd_bus_message_read(m, "sss", &name, &old, &new) < 0 || !streq(name, ALI_BUS_NAME))
                return 0;
        if (isempty(new))
                fprintf(stderr, "ali-linkd went away\n");
        else
                fprintf(stderr, "ali-linkd is back\n");
        return 0;
}

static int verb_monitor(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(sd_event_unrefp) sd_event *e = NULL;
        _cleanup_(status_done) Status s = {};
        sigset_t mask;
        int r;

        (void) argc;
        (void) argv;
        /* Fail early, and with the usual message, when the daemon is not there. */
        r = get_status(bus, &s);
        if (r < 0)
                return r;

        r = sd_bus_match_signal(bus, NULL, ALI_BUS_NAME, ALI_BUS_PATH, "org.freedesktop.DBus.Properties",
                "PropertiesChanged", on_properties_changed, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, ALI_BUS_NAME, ALI_BUS_PATH, ALI_BUS_INTERFACE, NULL, on_signal, NULL);
        if (r >= 0)
                r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                        "org.freedesktop.DBus", "NameOwnerChanged", on_owner_changed, NULL);
        if (r < 0) {
                fprintf(stderr, "Cannot subscribe to the daemon's signals: %s\n", strerror(-r));
                return r;
        }

        sigemptyset(&mask);
        sigaddset(&mask, SIGINT);
        sigaddset(&mask, SIGTERM);
        sigprocmask(SIG_BLOCK, &mask, NULL);
        r = sd_event_default(&e);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGINT, NULL, NULL);
        if (r >= 0)
                r = sd_event_add_signal(e, NULL, SIGTERM, NULL, NULL);
        if (r >= 0)
                r = sd_bus_attach_event(bus, e, SD_EVENT_PRIORITY_NORMAL);
        /* The bus going away (dbus-daemon restarted, the system going down) ends the monitor too. */
        if (r >= 0)
                r = sd_bus_set_exit_on_disconnect(bus, true);
        if (r < 0) {
                fprintf(stderr, "Cannot set up the event loop: %s\n", strerror(-r));
                return r;
        }
        fprintf(stderr, "Monitoring ali-linkd (%s); press Ctrl-C to stop.\n", s.state);
        r = sd_event_loop(e);
        sd_bus_detach_event(bus);
        return r < 0 ? r : 0;
}

/* --- doctor --- */

typedef enum { CHECK_OK, CHECK_WARN, CHECK_FAIL } CheckResult;

typedef struct Doctor {
        json_object *checks;
        unsigned failed;
} Doctor;

static void doctor_report(Doctor *d, CheckResult result, const char *check, const char *hint, const char *format, ...)
        _printf_(5, 6);
static void doctor_report(Doctor *d, CheckResult result, const char *check, const char *hint, const char *format, ...)
{
        static const char *const names[] = { "ok", "warn", "fail" };
        _cleanup_(freep) char *msg = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&msg, format, ap) < 0)
                msg = NULL;
        va_end(ap);
        if (result == CHECK_FAIL)
                d->failed++;
        if (arg_json) {
                json_object *o = json_object_new_object();
                json_object_object_add(o, "check", json_object_new_string(check));
                json_object_object_add(o, "status", json_object_new_string(names[result]));
                json_object_object_add(o, "message", json_object_new_string(strempty(msg)));
                if (hint)
                        json_object_object_add(o, "hint", json_object_new_string(hint));
                json_object_array_add(d->checks, o);
                return;
        }
        printf("%-4s %-9s %s%s%s\n", names[result], check, strempty(msg), hint ? "\n               -> " : "",
                strempty(hint));
}

static void doctor_secret(Doctor *d, const Conf *c)
{
        const char *path = c->secret_source == SECRET_FILE ? c->device_secret_file : c->path;
        struct stat st;

        if (c->secret_source == SECRET_CREDENTIAL) {
                doctor_report(d, CHECK_OK, "secret", NULL, "from the systemd credential \"%s\"", CONF_SECRET_CREDENTIAL);
                return;
        }
        if (c->secret_source == SECRET_NONE) {
                doctor_report(d, CHECK_FAIL, "secret", "set device_secret_file, or LoadCredential=device-secret:FILE",
                        "no device secret is configured");
                return;
        }
        if (stat(path, &st) < 0) {
                doctor_report(d, CHECK_FAIL, "secret", NULL, "cannot stat %s: %s", path, strerror(errno));
                return;
        }
        if (st.st_mode & S_IROTH)
                doctor_report(d, CHECK_FAIL, "secret", "chmod o-r the file (root:ali-link 0640 is right)",
                        "%s holds the device secret and is readable by everyone (mode %04o)", path,
                        (unsigned) (st.st_mode & 07777));
        else if (c->secret_source == SECRET_INLINE)
                doctor_report(d, CHECK_WARN, "secret", "move it to device_secret_file or LoadCredential=device-secret:FILE",
                        "the secret is inline in %s", path);
        else
                doctor_report(d, CHECK_OK, "secret", NULL, "%s is readable and not world-readable (mode %04o)", path,
                        (unsigned) (st.st_mode & 07777));
}

static void doctor_config(Doctor *d, Conf **ret)
{
        int saved = log_get_max_level(), r;

        *ret = NULL;
        if (access(arg_config, R_OK) < 0) {
                doctor_report(d, errno == ENOENT ? CHECK_FAIL : CHECK_WARN, "config",
                        errno == ENOENT ? "install the package's default or pass --config FILE"
                                        : "run as root or as a member of the group ali-link",
                        "cannot read %s: %s", arg_config, strerror(errno));
                return;
        }
        /* The problems themselves are what --check-config prints; here one line says whether there are any. */
        log_set_max_level(LOG_CRIT);
        r = conf_load(arg_config, ret);
        log_set_max_level(saved);
        if (r < 0)
                doctor_report(d, CHECK_FAIL, "config", NULL, "cannot load %s: %s", arg_config, strerror(-r));
        else if (r == CONF_E_INVALID)
                doctor_report(d, CHECK_FAIL, "config", "run: ali-linkd --check-config", "%s has problems", arg_config);
        else if (r == CONF_E_UNCONFIGURED)
                doctor_report(d, CHECK_FAIL, "config", "set product_key, device_name and the device secret",
                        "%s does not name the device yet", arg_config);
        else
                doctor_report(d, CHECK_OK, "config", NULL, "%s is valid (device %s/%s, endpoint %s:%u)", arg_config,
                        (*ret)->product_key, (*ret)->device_name, (*ret)->host, (*ret)->port);
}

static void doctor_clock(Doctor *d)
{
        /* Certificates cannot be checked with a clock from before this code was written. */
        static const time_t floor = 1735689600; /* 2025-01-01 */
        time_t now = time(NULL);
        char buf[64];

        if (now < floor)
                doctor_report(d, CHECK_FAIL, "clock", "set the time (e.g. enable systemd-timesyncd); TLS needs it",
                        "the system clock says %s, which is before 2025", format_time(buf, sizeof(buf), (uint64_t) now * USEC_PER_SEC));
        else
                doctor_report(d, CHECK_OK, "clock", NULL, "%s", format_time(buf, sizeof(buf), (uint64_t) now * USEC_PER_SEC));
}

static void doctor_daemon(Doctor *d, sd_bus *bus, const Conf *c)
{
        _cleanup_(status_done) Status s = {};
        sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = -ENOTCONN;

        if (bus)
                r = sd_bus_call_method(bus, ALI_BUS_NAME, ALI_BUS_PATH, "org.freedesktop.DBus.Properties", "GetAll",
                        &e, &reply, "s", ALI_BUS_INTERFACE);
        if (r >= 0)
                r = status_read_dict(&s, reply, NULL);
        if (r < 0) {
                doctor_report(d, CHECK_FAIL, "daemon", "systemctl start ali-linkd; journalctl -u ali-linkd",
                        "ali-linkd is not running (" ALI_BUS_NAME " is not on the system bus)");
                doctor_report(d, CHECK_WARN, "endpoint", NULL,
                        "not checked: the endpoint checks use the running daemon's connection");
                sd_bus_error_free(&e);
                return;
        }

        if (s.connected)
                doctor_report(d, CHECK_OK, "daemon", NULL, "connected to %s", s.endpoint);
        else if (streq_ptr(s.state, "unconfigured"))
                doctor_report(d, CHECK_FAIL, "daemon", "set the device triple, then systemctl reload ali-linkd",
                        "running, but not configured");
        else
                doctor_report(d, CHECK_FAIL, "daemon", "see journalctl -u ali-linkd", "%s; last error: %s", s.state,
                        isempty(s.last_error) ? "none" : s.last_error);

        /* What the daemon saw on its own connection answers "does the endpoint resolve, does TLS work". */
        if (s.connected) {
                double days = s.cert_expiry ? ((double) s.cert_expiry / USEC_PER_SEC - (double) time(NULL)) / 86400 : 0;
                if (!s.cert_expiry)
                        doctor_report(d, CHECK_OK, "endpoint", NULL, "%s resolves and the TLS handshake works", s.endpoint);
                else if (days < 0)
                        doctor_report(d, CHECK_FAIL, "endpoint", "check the system clock and the server",
                                "the server certificate of %s has expired", s.endpoint);
                else
                        doctor_report(d, days < 30 ? CHECK_WARN : CHECK_OK, "endpoint",
                                days < 30 ? "the server's certificate is about to expire" : NULL,
                                "%s resolves and the TLS handshake works; the server certificate expires in %.0f days",
                                s.endpoint, days);
        } else if (!isempty(s.last_error))
                doctor_report(d, CHECK_FAIL, "endpoint",
                        strstr(s.last_error, "resolve")       ? "check DNS (resolvectl status) and [mqtt] host"
                        : strstr(s.last_error, "certificate") ? "check [mqtt] ca_file / ca_path and the system clock"
                        : strstr(s.last_error, "refused the connection") ? "check the device triple and that the device is enabled"
                                                               : "check the network path to the endpoint",
                        "%s", s.last_error);
        else
                doctor_report(d, CHECK_WARN, "endpoint", NULL, "not connected yet (%s)", strempty(s.state));
        (void) c;
}

static void doctor_led(Doctor *d, const Conf *c)
{
        doctor_report(d, CHECK_OK, "led", NULL, "backend %s%s", led_backend_to_string(c->led.backend),
                c->led.backend == LED_BACKEND_NONE ? " (simulated: state kept in memory)" : "");
}

static void doctor_space(Doctor *d, const Conf *c)
{
        const char *dir = c->ota.download_dir ?: c->state_directory;
        struct statvfs sv;
        uint64_t avail;

        if (statvfs(dir, &sv) < 0) {
                doctor_report(d, errno == ENOENT ? CHECK_WARN : CHECK_FAIL, "space",
                        errno == ENOENT ? "it is created when the daemon starts under systemd (StateDirectory=)" : NULL,
                        "cannot check %s: %s", dir, strerror(errno));
                return;
        }
        /* Firmware images are downloaded here: compare with the largest one the daemon accepts. */
        avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        if (avail < c->ota.max_size)
                doctor_report(d, CHECK_WARN, "space", "free some space, or lower [ota] max_size to what the device needs",
                        "%.1f MiB free in %s, less than [ota] max_size (%.1f MiB): a large image would not fit",
                        (double) avail / (1024 * 1024), dir, (double) c->ota.max_size / (1024 * 1024));
        else
                doctor_report(d, CHECK_OK, "space", NULL, "%.1f MiB free in %s for firmware images (up to %.1f MiB)",
                        (double) avail / (1024 * 1024), dir, (double) c->ota.max_size / (1024 * 1024));
}

static int verb_doctor(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(conf_freep) Conf *c = NULL;
        Doctor d = {};

        (void) argc;
        (void) argv;
        if (arg_json)
                d.checks = json_object_new_array();
        doctor_config(&d, &c);
        if (c)
                doctor_secret(&d, c);
        doctor_clock(&d);
        doctor_daemon(&d, bus, c);
        if (c) {
                doctor_led(&d, c);
                doctor_space(&d, c);
        }
        if (arg_json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                json_object_object_add(o, "checks", d.checks);
                json_object_object_add(o, "failed", json_object_new_int((int) d.failed));
                print_json(o);
        } else
                printf("%u check%s failed\n", d.failed, d.failed == 1 ? "" : "s");
        return d.failed > 0 ? -EIO : 0;
}

/* --- dispatch --- */

typedef struct Verb {
        const char *name;
        int min_args, max_args; /* positional arguments after the verb */
        bool needs_bus;         /* fail with the usual message when the bus is not there */
        int (*fn)(sd_bus *bus, int argc, char *argv[]);
        const char *usage, *help;
} Verb;

static const Verb verbs[] = {
        { "status", 0, 0, true, verb_status, "status [--json]",
                "Show the connection, endpoint, last error, counters, firmware and OTA state, and the LED." },
        { "publish", 2, 2, true, verb_publish, "publish TOPIC PAYLOAD [--qos 0|1]",
                "Publish PAYLOAD (\"-\" reads standard input) to one of this device's topics. TOPIC may be\n"
                "relative: user/data means /${pk}/${dn}/user/data, thing/event/... means /sys/${pk}/${dn}/thing/event/..." },
        { "led", 1, 1, true, verb_led, "led on|off|RRGGBB|R,G,B",
                "Set the light the way a cloud property set does: applied, read back, posted to the cloud." },
        { "ota", 1, 1, true, verb_ota, "ota status|request",
                "Show the firmware version and OTA state, or ask the cloud for pending firmware." },
        { "reload", 0, 0, true, verb_reload, "reload", "Reload /etc/ali-linkd.conf (as systemctl reload does)." },
        { "monitor", 0, 0, true, verb_monitor, "monitor [--json]",
                "Print one line per property change, cloud property set and forwarded message, until Ctrl-C." },
        { "doctor", 0, 0, false, verb_doctor, "doctor [--json] [--config FILE]",
                "Check the configuration, the secret's file, the clock, the daemon and its connection, the LED\n"
                "hardware and the free space for firmware, one line each with what to do. Exit 0 when none fails." },
};

static const Verb *find_verb(const char *name)
{
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                if (streq(verbs[i].name, name))
                        return &verbs[i];
        return NULL;
}

static void help(const Verb *v)
{
        if (v) {
                printf("aliLinkctl %s\n\n%s\n", v->usage, v->help);
                return;
        }
        printf("aliLinkctl [OPTIONS...] COMMAND ...\n\n"
               "Control and inspect ali-linkd, the Alibaba Cloud IoT gateway daemon, over D-Bus.\n\n"
               "Commands:\n");
        for (size_t i = 0; i < ELEMENTSOF(verbs); i++)
                printf("  %-36s\n", verbs[i].usage);
        printf("\nOptions:\n"
               "  -h --help             Show this help (or a command's: aliLinkctl publish --help)\n"
               "     --version          Show the version\n"
               "     --json             Print JSON (status, ota status, monitor, doctor)\n"
               "     --qos 0|1          QoS of publish (default 0)\n"
               "  -c --config FILE      Configuration file for doctor (default %s)\n\n"
               "Exit status: 0 on success, 1 on failure, 2 on a usage error. See aliLinkctl(1).\n",
                CONF_DEFAULT_PATH);
}

static int parse_argv(int argc, char *argv[])
{
        enum { ARG_VERSION = 0x100, ARG_JSON, ARG_QOS };
        static const struct option options[] = {
                { "help", no_argument, NULL, 'h' },          { "version", no_argument, NULL, ARG_VERSION },
                { "json", no_argument, NULL, ARG_JSON },     { "qos", required_argument, NULL, ARG_QOS },
                { "config", required_argument, NULL, 'c' },  {},
        };
        uint64_t q;
        int c;

        opterr = 0;
        while ((c = getopt_long(argc, argv, "hc:", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        arg_help = true;
                        break;
                case ARG_VERSION:
                        printf("aliLinkctl (ali-linkd) %s\n", PACKAGE_VERSION);
                        return 0;
                case ARG_JSON:
                        arg_json = true;
                        break;
                case ARG_QOS:
                        if (safe_atou64_range(optarg, 0, 1, &q) < 0)
                                return usage_error("--qos must be 0 or 1, got \"%s\"", optarg);
                        arg_qos = (unsigned) q;
                        break;
                case 'c':
                        arg_config = optarg;
                        break;
                case '?':
                        return usage_error("unknown option %s", argv[optind - 1]);
                default:
                        return usage_error("option %s needs a value", argv[optind - 1]);
                }
        return 1;
}

int main(int argc, char *argv[])
{
        _cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
        const Verb *v;
        int n, r;

        log_set_prefix("aliLinkctl");
        r = parse_argv(argc, argv);
        if (r <= 0)
                return r == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
        if (r == EXIT_USAGE)
                return EXIT_USAGE;

        if (optind >= argc) {
                if (arg_help) {
                        help(NULL);
                        return EXIT_SUCCESS;
                }
                return usage_error("no command given");
        }
        v = find_verb(argv[optind]);
        if (!v)
                return usage_error("unknown command \"%s\"", argv[optind]);
        if (arg_help) {
                help(v);
                return EXIT_SUCCESS;
        }
        n = argc - optind - 1;
        if (n < v->min_args || n > v->max_args)
                return usage_error("usage: aliLinkctl %s", v->usage);

        r = sd_bus_open_system(&bus);
        if (r < 0) {
                bus = NULL;
                if (v->needs_bus) {
                        fprintf(stderr, "ali-linkd is not running (cannot connect to the system bus: %s)\n",
                                strerror(-r));
                        return EXIT_FAILURE;
                }
        }
        r = v->fn(bus, n + 1, argv + optind);
        if (r == EXIT_USAGE)
                return EXIT_USAGE;
        return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
