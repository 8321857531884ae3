/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl-doctor.c: aliLinkctl doctor: the configuration, the secret's file, the clock, the daemon and its
 * connection, the light and the free space, one line per check with what to do. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "bus-names.h"
#include "conf.h"
#include "ctl-common.h"
#include "log.h"
#include "string-util.h"

typedef enum { CHECK_OK, CHECK_WARN, CHECK_FAIL } CheckResult;

typedef struct Doctor {
        json_object *checks;
        unsigned failed;
} Doctor;

static void doctor_report(Doctor *d, CheckResult result, const char *check, const char *hint,
        const char *format, ...) _printf_(5, 6);
static void doctor_report(
        Doctor *d, CheckResult result, const char *check, const char *hint, const char *format, ...)
{
        static const char *const names[] = {"ok", "warn", "fail"};
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
                doctor_report(d, CHECK_OK, "secret", NULL, "from the systemd credential \"%s\"",
                        CONF_SECRET_CREDENTIAL);
                return;
        }
        if (c->secret_source == SECRET_NONE) {
                doctor_report(d, CHECK_FAIL, "secret",
                        "set device_secret_file, or LoadCredential=device-secret:FILE",
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
                doctor_report(d, CHECK_WARN, "secret",
                        "move it to device_secret_file or LoadCredential=device-secret:FILE",
                        "the secret is inline in %s", path);
        else
                doctor_report(d, CHECK_OK, "secret", NULL,
                        "%s is readable and not world-readable (mode %04o)", path,
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
        /* The problems themselves are what --check-config prints; here one line says whether there are any.
         */
        log_set_max_level(LOG_CRIT);
        r = conf_load(arg_config, ret);
        log_set_max_level(saved);
        if (r < 0)
                doctor_report(d, CHECK_FAIL, "config", NULL, "cannot load %s: %s", arg_config, strerror(-r));
        else if (r == CONF_E_INVALID)
                doctor_report(d, CHECK_FAIL, "config", "run: ali-linkd --check-config", "%s has problems",
                        arg_config);
        else if (r == CONF_E_UNCONFIGURED)
                doctor_report(d, CHECK_FAIL, "config", "set product_key, device_name and the device secret",
                        "%s does not name the device yet", arg_config);
        else
                doctor_report(d, CHECK_OK, "config", NULL, "%s is valid (device %s/%s, endpoint %s:%u)",
                        arg_config, (*ret)->product_key, (*ret)->device_name, (*ret)->host, (*ret)->port);
}

static void doctor_clock(Doctor *d)
{
        /* Certificates cannot be checked with a clock from before this code was written. */
        static const time_t floor = 1735689600; /* 2025-01-01 */
        time_t now = time(NULL);
        char buf[64];

        if (now < floor)
                doctor_report(d, CHECK_FAIL, "clock",
                        "set the time (e.g. enable systemd-timesyncd); TLS needs it",
                        "the system clock says %s, which is before 2025",
                        format_time(buf, sizeof(buf), (uint64_t) now * USEC_PER_SEC));
        else
                doctor_report(d, CHECK_OK, "clock", NULL, "%s",
                        format_time(buf, sizeof(buf), (uint64_t) now * USEC_PER_SEC));
}

static void doctor_daemon(Doctor *d, sd_bus *bus, const Conf *c)
{
        _cleanup_(status_done) Status s = {};
        sd_bus_error e = SD_BUS_ERROR_NULL;
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        int r = -ENOTCONN;

        if (bus)
                r = sd_bus_call_method(bus, ALI_BUS_NAME, ALI_BUS_PATH, "org.freedesktop.DBus.Properties",
                        "GetAll", &e, &reply, "s", ALI_BUS_INTERFACE);
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

        if (s.v[PROP_CONNECTED].b)
                doctor_report(
                        d, CHECK_OK, "daemon", NULL, "connected to %s", status_string(&s, PROP_ENDPOINT));
        else if (streq_ptr(s.v[PROP_STATE].s, "unconfigured"))
                doctor_report(d, CHECK_FAIL, "daemon",
                        "set the device triple, then systemctl reload ali-linkd",
                        "running, but not configured");
        else
                doctor_report(d, CHECK_FAIL, "daemon", "see journalctl -u ali-linkd", "%s; last error: %s",
                        status_string(&s, PROP_STATE),
                        isempty(s.v[PROP_LAST_ERROR].s) ? "none" : s.v[PROP_LAST_ERROR].s);

        /* What the daemon saw on its own connection answers "does the endpoint resolve, does TLS work". */
        if (s.v[PROP_CONNECTED].b) {
                double days = s.v[PROP_SERVER_CERTIFICATE_EXPIRY].t
                                      ? ((double) s.v[PROP_SERVER_CERTIFICATE_EXPIRY].t / USEC_PER_SEC -
                                                (double) time(NULL)) /
                                                86400
                                      : 0;
                if (!s.v[PROP_SERVER_CERTIFICATE_EXPIRY].t)
                        doctor_report(d, CHECK_OK, "endpoint", NULL,
                                "%s resolves and the TLS handshake works", status_string(&s, PROP_ENDPOINT));
                else if (days < 0)
                        doctor_report(d, CHECK_FAIL, "endpoint", "check the system clock and the server",
                                "the server certificate of %s has expired",
                                status_string(&s, PROP_ENDPOINT));
                else
                        doctor_report(d, days < 30 ? CHECK_WARN : CHECK_OK, "endpoint",
                                days < 30 ? "the server's certificate is about to expire" : NULL,
                                "%s resolves and the TLS handshake works; the server certificate expires in "
                                "%.0f days",
                                status_string(&s, PROP_ENDPOINT), days);
        } else if (!isempty(s.v[PROP_LAST_ERROR].s))
                doctor_report(d, CHECK_FAIL, "endpoint",
                        strstr(s.v[PROP_LAST_ERROR].s, "resolve")
                                ? "check DNS (resolvectl status) and [mqtt] host"
                        : strstr(s.v[PROP_LAST_ERROR].s, "certificate")
                                ? "check [mqtt] ca_file / ca_path and the system clock"
                        : strstr(s.v[PROP_LAST_ERROR].s, "refused the connection")
                                ? "check the device triple and that the device is enabled"
                                : "check the network path to the endpoint",
                        "%s", s.v[PROP_LAST_ERROR].s);
        else
                doctor_report(d, CHECK_WARN, "endpoint", NULL, "not connected yet (%s)",
                        status_string(&s, PROP_STATE));
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
                        errno == ENOENT
                                ? "it is created when the daemon starts under systemd (StateDirectory=)"
                                : NULL,
                        "cannot check %s: %s", dir, strerror(errno));
                return;
        }
        /* Firmware images are downloaded here: compare with the largest one the daemon accepts. */
        avail = (uint64_t) sv.f_bavail * sv.f_frsize;
        if (avail < c->ota.max_size)
                doctor_report(d, CHECK_WARN, "space",
                        "free some space, or lower [ota] max_size to what the device needs",
                        "%.1f MiB free in %s, less than [ota] max_size (%.1f MiB): a large image would not "
                        "fit",
                        (double) avail / (1024 * 1024), dir, (double) c->ota.max_size / (1024 * 1024));
        else
                doctor_report(d, CHECK_OK, "space", NULL,
                        "%.1f MiB free in %s for firmware images (up to %.1f MiB)",
                        (double) avail / (1024 * 1024), dir, (double) c->ota.max_size / (1024 * 1024));
}

int verb_doctor(sd_bus *bus, int argc, char *argv[])
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
