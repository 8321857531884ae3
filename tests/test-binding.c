/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-binding.c: the hardware bindings on a real event loop: files (written and read back, and sampled),
 * commands (real child processes: argv, environment, exit status, signals, timeout), pwm and led against
 * prepared trees shaped like sysfs, and the configuration's errors. GPIO runs in the qemu guest
 * (tests/guest/led-guest.c), on gpio-sim. Every wait has a timeout; nothing sleeps. */
#include <dirent.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include "binding.h"
#include "capture-log.h"
#include "fake-sysfs.h"
#include "macro.h"
#include "string-util.h"
#include "test.h"
#include "time-util.h"

#define TIMEOUT_USEC (10 * USEC_PER_SEC)

typedef struct Done {
        bool called;
        int code;
        char *actual; /* JSON, or NULL */
} Done;

static void on_done(Binding *b, int code, struct json_object *actual, void *userdata)
{
        Done *d = userdata;

        CHECK(!d->called); /* exactly once */
        d->called = true;
        d->code = code;
        free(d->actual);
        d->actual = actual ? strdup(json_object_to_json_string_ext(actual, JSON_C_TO_STRING_PLAIN)) : NULL;
}

typedef struct Changes {
        unsigned n;
        char *last;
} Changes;

static void on_changed(Binding *b, struct json_object *value, void *userdata)
{
        Changes *c = userdata;

        c->n++;
        free(c->last);
        c->last = strdup(json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
}

/* Runs the loop until *flag or the timeout; returns *flag. */
static bool run_until(sd_event *e, const bool *flag, uint64_t timeout_usec)
{
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + timeout_usec;

        while (!*flag) {
                uint64_t now = now_usec(CLOCK_MONOTONIC);
                if (now >= deadline)
                        break;
                CHECK(sd_event_run(e, deadline - now) >= 0);
        }
        return *flag;
}

/* Runs the loop for the whole period (to see that nothing happens). */
static void run_for(sd_event *e, uint64_t usec)
{
        bool never = false;

        CHECK(!run_until(e, &never, usec));
}

/* A configuration from "key", "value" pairs, NULL-terminated. */
static BindingConfig config_of(const char *identifier, const char *const *kv)
{
        BindingConfig c = {.identifier = strdup(identifier)};

        CHECK(c.identifier);
        for (size_t i = 0; kv[i]; i += 2) {
                _cleanup_(freep) char *error = NULL;
                int r = binding_config_set(&c, kv[i], kv[i + 1], &error);
                if (r < 0)
                        fprintf(stderr, "%s = %s: %s\n", kv[i], kv[i + 1], strna(error));
                CHECK_INTEQ(r, 0);
        }
        {
                _cleanup_(freep) char *error = NULL;
                int r = binding_config_verify(&c, &error);
                if (r < 0)
                        fprintf(stderr, "verify: %s\n", strna(error));
                CHECK_INTEQ(r, 0);
        }
        return c;
}

#define KV(...) ((const char *const[]){__VA_ARGS__, NULL})

static const BindingType INT_RW = {.kind = TSL_TYPE_INT, .writable = true};
static const BindingType INT_RO = {.kind = TSL_TYPE_INT};
static const BindingType DOUBLE_RW = {.kind = TSL_TYPE_DOUBLE, .writable = true};
static const BindingType DOUBLE_RO = {.kind = TSL_TYPE_DOUBLE};
static const BindingType TEXT_RW = {.kind = TSL_TYPE_TEXT, .writable = true};
static const BindingType BOOL_RW = {.kind = TSL_TYPE_BOOL, .writable = true};
static const BindingType PERCENT_RW = {
        .kind = TSL_TYPE_INT, .has_range = true, .min = 0, .max = 100, .writable = true};
static const BindingType SPEED_RW = {
        .kind = TSL_TYPE_DOUBLE, .has_range = true, .min = -1, .max = 1, .writable = true};

typedef struct Fixture {
        sd_event *event;
        char *dir;
        BindingConfig config;
        Binding *binding;
        Changes changes;
        BindingHost host;
        char *log;
} Fixture;

/* Runs the loop until n values have been reported, or the timeout. */
static void run_until_changes(Fixture *f, unsigned n)
{
        uint64_t deadline = now_usec(CLOCK_MONOTONIC) + TIMEOUT_USEC;

        while (f->changes.n < n && now_usec(CLOCK_MONOTONIC) < deadline)
                CHECK(sd_event_run(f->event, deadline - now_usec(CLOCK_MONOTONIC)) >= 0);
        CHECK_INTEQ(f->changes.n, n);
}

static void fixture_init(Fixture *f)
{
        *f = (Fixture){};
        CHECK(sd_event_new(&f->event) >= 0);
        f->dir = fake_sysfs_new();
        f->host = (BindingHost){.value_changed = on_changed, .userdata = &f->changes};
}

typedef struct NewArgs {
        Fixture *f;
        const BindingType *type;
} NewArgs;

static int do_new(void *userdata)
{
        NewArgs *a = userdata;

        return binding_new(&a->f->binding, a->f->event, &a->f->config, a->type, &a->f->host);
}

/* Makes the binding; the log of making it in f->log. */
static void fixture_binding(
        Fixture *f, const char *identifier, const char *const *kv, const BindingType *type)
{
        NewArgs a = {f, type};

        f->config = config_of(identifier, kv);
        free(f->log);
        CHECK_INTEQ(capture_log(do_new, &a, &f->log), 0);
        CHECK(f->binding);
        CHECK_STREQ(binding_identifier(f->binding), identifier);
}

static void fixture_done(Fixture *f)
{
        binding_free(f->binding);
        binding_config_done(&f->config);
        sd_event_unref(f->event);
        fake_sysfs_remove(f->dir);
        free(f->changes.last);
        free(f->log);
}

static char *path_in(Fixture *f, const char *name)
{
        char *p;

        CHECK(asprintf(&p, "%s/%s", f->dir, name) >= 0);
        return p;
}

/* Writes the JSON value and waits for the answer; done must not have been called from binding_write(). */
static Done write_value(Fixture *f, const char *json)
{
        struct json_object *v = json_tokener_parse(json);
        Done d = {};

        CHECK(v);
        CHECK_INTEQ(binding_write(f->binding, v, on_done, &d), 0);
        CHECK(!d.called);
        json_object_put(v);
        CHECK(run_until(f->event, &d.called, TIMEOUT_USEC));
        return d;
}

static char *read_value(Fixture *f)
{
        struct json_object *v = NULL;
        char *s;

        CHECK_INTEQ(binding_read(f->binding, &v), 0);
        s = strdup(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN));
        json_object_put(v);
        return s;
}

#define CHECK_DONE(d, code_, actual_)                                                                       \
        do {                                                                                                \
                Done _d_ = (d);                                                                             \
                CHECK_INTEQ(_d_.code, code_);                                                               \
                if (actual_)                                                                                \
                        CHECK_STREQ(_d_.actual, (const char *) (actual_));                                  \
                else                                                                                        \
                        CHECK(!_d_.actual);                                                                 \
                free(_d_.actual);                                                                           \
        } while (0)

#define CHECK_READ(f, want)                                                                                 \
        do {                                                                                                \
                char *_v_ = read_value(f);                                                                  \
                CHECK_STREQ(_v_, want);                                                                     \
                free(_v_);                                                                                  \
        } while (0)

/* --- configuration --- */

/* The error one bad key (or a bad combination) gives. */
static char *config_error(const char *const *kv)
{
        BindingConfig c = {.identifier = strdup("P")};
        char *error = NULL;
        int r = 0;

        for (size_t i = 0; kv[i] && r == 0; i += 2)
                r = binding_config_set(&c, kv[i], kv[i + 1], &error);
        if (r == 0)
                r = binding_config_verify(&c, &error);
        CHECK_INTEQ(r, -EINVAL);
        CHECK(error);
        binding_config_done(&c);
        return error;
}

#define CHECK_CONFIG_ERROR(message, ...)                                                                    \
        do {                                                                                                \
                char *_e_ = config_error(KV(__VA_ARGS__));                                                  \
                CHECK_STREQ(_e_, message);                                                                  \
                free(_e_);                                                                                  \
        } while (0)

TEST(config_errors)
{
        BindingConfig c = {};
        char *error = NULL;

        CHECK_INTEQ(binding_config_set(&c, "colour", "red", &error), -ENOKEY);
        CHECK(!error);
        binding_config_done(&c);

        CHECK_CONFIG_ERROR("type = serial: expected gpio, pwm, led, file or command", "type", "serial");
        CHECK_CONFIG_ERROR("type is not set: expected gpio, pwm, led, file or command", "line", "3");
        CHECK_CONFIG_ERROR(
                "direction = sideways: expected input or output", "type", "gpio", "direction", "sideways");
        CHECK_CONFIG_ERROR("line =  : not a line offset or name", "type", "gpio", "line", " ");
        CHECK_CONFIG_ERROR("line is not set: give the line's offset or name", "type", "gpio");
        CHECK_CONFIG_ERROR("active_low = maybe: expected yes or no", "type", "gpio", "active_low", "maybe");
        CHECK_CONFIG_ERROR(
                "edge applies to direction = input only", "type", "gpio", "line", "1", "edge", "both");
        CHECK_CONFIG_ERROR("edge = up: expected both, rising or falling", "type", "gpio", "edge", "up");
        CHECK_CONFIG_ERROR(
                "bias = strong: expected as-is, disabled, pull-up or pull-down", "bias", "strong");
        CHECK_CONFIG_ERROR("debounce = 10 ms: expected a duration such as 500ms, 10s or 2min", "type",
                "gpio", "debounce", "10 ms");
        CHECK_CONFIG_ERROR("debounce = 1h: expected from 0 ms to 10 s", "debounce", "1h");
        CHECK_CONFIG_ERROR(
                "chip does not apply to type = file", "type", "file", "path", "/x", "chip", "gpiochip0");
        CHECK_CONFIG_ERROR(
                "channel = -1: expected an integer from 0 to 1023", "type", "pwm", "channel", "-1");
        CHECK_CONFIG_ERROR("channel is not set: give the PWM channel's number", "type", "pwm");
        CHECK_CONFIG_ERROR("period_ns = 0: expected an integer from 1 to 4294967295", "period_ns", "0");
        CHECK_CONFIG_ERROR("chip = ../x: expected a PWM chip such as pwmchip0", "type", "pwm", "channel",
                "0", "chip", "../x");
        CHECK_CONFIG_ERROR("led = a/b: expected the name of an LED in /sys/class/leds", "led", "a/b");
        CHECK_CONFIG_ERROR("led is not set: give the LED's name in /sys/class/leds", "type", "led");
        CHECK_CONFIG_ERROR("sysfs_root = sys: expected an absolute path", "sysfs_root", "sys");
        CHECK_CONFIG_ERROR("path is not set: give the file's absolute path", "type", "file");
        CHECK_CONFIG_ERROR("path = temp: expected an absolute path", "type", "file", "path", "temp");
        CHECK_CONFIG_ERROR("interval = 1ms: expected from 10 ms to 86400 s", "interval", "1ms");
        CHECK_CONFIG_ERROR("scale = 1e: expected a number such as 0.001", "scale", "1e");
        CHECK_CONFIG_ERROR("offset = nan: expected a number such as 0.001", "offset", "nan");
        CHECK_CONFIG_ERROR(
                "scale = 0 would make every sample the same", "type", "file", "path", "/x", "scale", "0");
        CHECK_CONFIG_ERROR("create applies to a written file, not to a sampled one", "type", "file", "path",
                "/x", "interval", "1s", "create", "yes");
        CHECK_CONFIG_ERROR("exec = relay.sh: the program must be an absolute path (no shell, no $PATH)",
                "exec", "relay.sh on");
        CHECK_CONFIG_ERROR("exec is empty: expected /absolute/path and its arguments", "exec", "  ");
        CHECK_CONFIG_ERROR("exec is not set: give /absolute/path and its arguments", "type", "command");
        CHECK_CONFIG_ERROR("environment: word 2 is not NAME=VALUE (NAME of A-Z a-z 0-9 _)", "environment",
                "A=1 SECRET");
        CHECK_CONFIG_ERROR("environment: word 1 sets ALI_LINKD_VALUE, which ali-linkd sets itself",
                "environment", "ALI_LINKD_VALUE=1");
        CHECK_CONFIG_ERROR(
                "timeout = soon: expected a duration such as 500ms, 10s or 2min", "timeout", "soon");
}

TEST(config_kinds_and_equal)
{
        BindingConfig a = config_of("Relay", KV("line", "4", "type", "gpio", "direction", "input"));
        BindingConfig b = config_of("Relay", KV("type", "gpio", "direction", "input", "line", "4"));
        BindingConfig c = config_of("Relay", KV("type", "gpio", "line", "4"));
        BindingConfig d =
                config_of("Fan", KV("type", "command", "exec", "/bin/fan  --speed", "timeout", "2s"));
        BindingConfig d2 =
                config_of("Fan", KV("type", "command", "exec", "/bin/fan --speed", "timeout", "2000ms"));

        /* direction may come before or after type. */
        CHECK_INTEQ(a.kind, BINDING_GPIO_INPUT);
        CHECK_INTEQ(c.kind, BINDING_GPIO_OUTPUT);
        CHECK(binding_config_equal(&a, &b));
        CHECK(!binding_config_equal(&a, &c));
        CHECK(binding_config_equal(&d, &d2)); /* the same words, the same duration */
        CHECK(!binding_config_equal(&c, &d));
        CHECK_STREQ(binding_kind_to_string(BINDING_GPIO_INPUT), "gpio-input");
        CHECK_STREQ(binding_kind_to_string(BINDING_COMMAND), "command");
        CHECK(!binding_kind_to_string(_BINDING_KIND_MAX));
        binding_config_done(&a);
        binding_config_done(&b);
        binding_config_done(&c);
        binding_config_done(&d);
        binding_config_done(&d2);
}

static void check_type_error(const char *const *kv, const BindingType *type, const char *message)
{
        BindingConfig c = config_of("P", kv);
        _cleanup_(freep) char *error = NULL;
        int r = binding_config_check_type(&c, type, &error);

        if (message) {
                CHECK_INTEQ(r, -EINVAL);
                CHECK_STREQ(error, message);
        } else
                CHECK_INTEQ(r, 0);
        binding_config_done(&c);
}

TEST(config_check_type)
{
        static const BindingType bit = {
                .kind = TSL_TYPE_INT, .has_range = true, .min = 0, .max = 1, .writable = true};
        static const BindingType enum_ro = {.kind = TSL_TYPE_ENUM};
        static const BindingType text_ro = {.kind = TSL_TYPE_TEXT};
        static const BindingType struct_rw = {.kind = TSL_TYPE_STRUCT, .writable = true};
        static const BindingType bool_ro = {.kind = TSL_TYPE_BOOL};

        check_type_error(KV("type", "gpio", "line", "1"), &BOOL_RW, NULL);
        check_type_error(KV("type", "gpio", "line", "1"), &bit, NULL);
        check_type_error(KV("type", "gpio", "line", "1"), &PERCENT_RW,
                "a gpio output needs a bool, an enum or an int property of range 0..1, not int of a wider "
                "range");
        check_type_error(KV("type", "gpio", "line", "1"), &TEXT_RW,
                "a gpio output needs a bool, an enum or an int property of range 0..1, not text");
        check_type_error(KV("type", "gpio", "line", "1"), &bool_ro,
                "type = gpio writes the property, but it is read-only");
        check_type_error(KV("type", "gpio", "direction", "input", "line", "1"), &enum_ro, NULL);
        check_type_error(KV("type", "gpio", "direction", "input", "line", "1"), &DOUBLE_RO,
                "a gpio input reports 0 or 1: it needs a bool, an enum or an int property, not double");
        check_type_error(KV("type", "pwm", "channel", "0"), &PERCENT_RW, NULL);
        check_type_error(KV("type", "pwm", "channel", "0"), &INT_RW,
                "pwm maps min..max onto the duty cycle: it needs an int, float or double property with a "
                "range, "
                "not int without one");
        check_type_error(KV("type", "pwm", "channel", "0"), &BOOL_RW,
                "pwm maps min..max onto the duty cycle: it needs an int, float or double property with a "
                "range, "
                "not bool");
        check_type_error(KV("type", "led", "led", "x"), &BOOL_RW, NULL);
        check_type_error(KV("type", "led", "led", "x"), &INT_RW, NULL);
        check_type_error(KV("type", "led", "led", "x"), &DOUBLE_RW,
                "led needs a bool, an int, or a float or double property with a range, not double without "
                "one");
        check_type_error(KV("type", "file", "path", "/x"), &TEXT_RW, NULL);
        check_type_error(KV("type", "file", "path", "/x"), &struct_rw,
                "a file holds one value: not a struct property");
        check_type_error(KV("type", "file", "path", "/x"), &INT_RO,
                "the property is read-only: give interval = to sample the file");
        check_type_error(
                KV("type", "file", "path", "/x", "interval", "10s", "scale", "0.001"), &DOUBLE_RO, NULL);
        check_type_error(KV("type", "file", "path", "/x", "interval", "10s", "scale", "2"), &text_ro,
                "scale and offset apply to a number, not to a text property");
        check_type_error(KV("type", "file", "path", "/x", "interval", "10s"), &INT_RW,
                "interval, scale and offset sample a read-only property; this one is writable");
        check_type_error(KV("type", "command", "exec", "/bin/true"), &struct_rw, NULL);
        check_type_error(KV("type", "command", "exec", "/bin/true"), &INT_RO,
                "type = command writes the property, but it is read-only");
}

/* --- file --- */

TEST(file_write_and_read_back)
{
        _cleanup_(freep) char *path = NULL, *content = NULL;
        Fixture f;

        fixture_init(&f);
        fake_sysfs_file(f.dir, "value", "7\n");
        path = path_in(&f, "value");
        fixture_binding(&f, "Level", KV("type", "file", "path", path), &INT_RW);
        CHECK(binding_can_write(f.binding));
        CHECK_READ(&f, "7");
        CHECK_DONE(write_value(&f, "42"), 200, "42");
        content = fake_sysfs_read(f.dir, "value");
        CHECK_STREQ(content, "42"); /* O_TRUNC: nothing of the old value is left */
        CHECK_READ(&f, "42");
        binding_free(f.binding);
        binding_config_done(&f.config);

        /* A double in its shortest form; text as it is. */
        fixture_binding(&f, "Ratio", KV("type", "file", "path", path), &DOUBLE_RW);
        CHECK_DONE(write_value(&f, "0.1"), 200, "0.1");
        free(content);
        content = fake_sysfs_read(f.dir, "value");
        CHECK_STREQ(content, "0.1");
        CHECK_DONE(write_value(&f, "12"), 200, "12.0");
        binding_free(f.binding);
        binding_config_done(&f.config);

        fixture_binding(&f, "Mode", KV("type", "file", "path", path), &TEXT_RW);
        CHECK_DONE(write_value(&f, "\"heat 2\""), 200, "\"heat 2\"");
        free(content);
        content = fake_sysfs_read(f.dir, "value");
        CHECK_STREQ(content, "heat 2");
        fixture_done(&f);
}

TEST(file_write_failures)
{
        _cleanup_(freep) char *dir = NULL, *missing = NULL, *content = NULL;
        Fixture f;

        fixture_init(&f);
        /* A directory cannot be written. */
        dir = path_in(&f, "");
        fixture_binding(&f, "Level", KV("type", "file", "path", dir), &INT_RW);
        CHECK_DONE(write_value(&f, "1"), 100001, NULL);
        binding_free(f.binding);
        binding_config_done(&f.config);

        /* /dev/null takes the write and reads back nothing. */
        fixture_binding(&f, "Level", KV("type", "file", "path", "/dev/null"), &INT_RW);
        CHECK_DONE(write_value(&f, "1"), 100002, NULL);
        binding_free(f.binding);
        binding_config_done(&f.config);
        /* ... unless it is a write-only attribute. */
        fixture_binding(&f, "Level", KV("type", "file", "path", "/dev/null", "readback", "no"), &INT_RW);
        CHECK_DONE(write_value(&f, "1"), 200, "1");
        binding_free(f.binding);
        binding_config_done(&f.config);

        /* Missing: made anyway, with one warning; unavailable until the file is there. */
        missing = path_in(&f, "later");
        fixture_binding(&f, "Level", KV("type", "file", "path", missing), &INT_RW);
        CHECK_CONTAINS(f.log, "Property Level: file ");
        CHECK_CONTAINS(f.log, "/later is not available, each write tries again: No such file or directory");
        CHECK_DONE(write_value(&f, "5"), 100003, NULL);
        CHECK_INTEQ(access(missing, F_OK), -1); /* no O_CREAT */
        fake_sysfs_file(f.dir, "later", "0");
        CHECK_DONE(write_value(&f, "5"), 200, "5");
        binding_free(f.binding);
        binding_config_done(&f.config);

        /* create = yes makes it. */
        CHECK(unlink(missing) == 0);
        fixture_binding(&f, "Level", KV("type", "file", "path", missing, "create", "yes"), &INT_RW);
        CHECK(!strstr(f.log, "not available"));
        CHECK_DONE(write_value(&f, "6"), 200, "6");
        content = fake_sysfs_read(f.dir, "later");
        CHECK_STREQ(content, "6");
        fixture_done(&f);
}

TEST(file_sampled)
{
        _cleanup_(freep) char *path = NULL;
        Fixture f;

        fixture_init(&f);
        /* The documented example: the CPU temperature in millidegrees. */
        fake_sysfs_file(f.dir, "temp", "45000\n");
        path = path_in(&f, "temp");
        fixture_binding(&f, "CPUTemperature",
                KV("type", "file", "path", path, "interval", "20ms", "scale", "0.001", "offset", "-0.5"),
                &DOUBLE_RO);
        CHECK(!binding_can_write(f.binding));
        {
                struct json_object *v = json_object_new_int(1);
                Done d = {};
                CHECK_INTEQ(binding_write(f.binding, v, on_done, &d), -EOPNOTSUPP);
                json_object_put(v);
        }
        CHECK_READ(&f, "44.5");
        CHECK_INTEQ(f.changes.n, 0); /* nothing from inside binding_new() or binding_read() */

        /* The first sample is reported, */
        run_until_changes(&f, 1);
        CHECK_INTEQ(f.changes.n, 1);
        CHECK_STREQ(f.changes.last, "44.5");
        /* ... an unchanged one is not (several intervals), */
        run_for(f.event, 150 * USEC_PER_MSEC);
        CHECK_INTEQ(f.changes.n, 1);
        /* ... a new one is. */
        fake_sysfs_file(f.dir, "temp", "47250\n");
        run_until_changes(&f, 2);
        CHECK_INTEQ(f.changes.n, 2);
        CHECK_STREQ(f.changes.last, "46.75");
        binding_free(f.binding);
        f.binding = NULL;
        binding_config_done(&f.config);

        /* An int property: rounded, so a change below half a degree is no change. */
        f.changes.n = 0;
        fixture_binding(&f, "CPUTemperature",
                KV("type", "file", "path", path, "interval", "20ms", "scale", "0.001"), &INT_RO);
        run_until_changes(&f, 1);
        CHECK_STREQ(f.changes.last, "47");
        fake_sysfs_file(f.dir, "temp", "47400\n");
        run_for(f.event, 150 * USEC_PER_MSEC);
        CHECK_INTEQ(f.changes.n, 1);
        /* Not a number: not reported (logged once), and reading it says there is no value. */
        fake_sysfs_file(f.dir, "temp", "hot\n");
        run_for(f.event, 100 * USEC_PER_MSEC);
        CHECK_INTEQ(f.changes.n, 1);
        {
                struct json_object *v = NULL;
                CHECK_INTEQ(binding_read(f.binding, &v), -ENODATA);
        }
        fake_sysfs_file(f.dir, "temp", "49600\n");
        run_until_changes(&f, 2);
        CHECK_STREQ(f.changes.last, "50");
        fixture_done(&f);
}

/* --- command --- */

/* The children of this process that are still there (zombies too), from /proc. */
static int count_children(void)
{
        DIR *d = opendir("/proc");
        struct dirent *de;
        int n = 0;

        CHECK(d);
        while ((de = readdir(d))) {
                char *p, buf[512];
                FILE *file;
                int ppid;

                if (de->d_name[0] < '0' || de->d_name[0] > '9')
                        continue;
                CHECK(asprintf(&p, "/proc/%s/stat", de->d_name) >= 0);
                file = fopen(p, "re");
                free(p);
                if (!file)
                        continue;
                if (fgets(buf, sizeof(buf), file)) {
                        const char *close_paren = strrchr(buf, ')');
                        if (close_paren && sscanf(close_paren + 2, "%*c %d", &ppid) == 1 && ppid == getpid())
                                n++;
                }
                fclose(file);
        }
        closedir(d);
        return n;
}

static const char script[] = "#!/bin/sh\n"
                             "out=\"$RECORD\"\n"
                             "{ for a in \"$@\"; do echo \"arg=$a\"; done\n"
                             "  env | sort\n"
                             "  if [ -e /proc/$$/fd/$LEAK_FD ]; then echo fd=open; else echo fd=closed; fi\n"
                             "  read -r line; echo \"stdin=$line\"\n"
                             "} >\"$out\"\n"
                             "case \"$ALI_LINKD_VALUE\" in\n"
                             "3) exit 3 ;;\n"
                             "9) kill -9 $$ ;;\n"
                             "esac\n"
                             "exit 0\n";

TEST(command)
{
        _cleanup_(freep) char *exec = NULL, *env = NULL, *record = NULL, *script_path = NULL;
        sigset_t mask;
        int leak;
        Fixture f;

        /* sd_event_add_child() needs SIGCHLD blocked (main() does it in the daemon). */
        sigemptyset(&mask);
        sigaddset(&mask, SIGCHLD);
        CHECK(sigprocmask(SIG_BLOCK, &mask, NULL) == 0);

        fixture_init(&f);
        fake_sysfs_file(f.dir, "relay.sh", script);
        script_path = path_in(&f, "relay.sh");
        CHECK(chmod(script_path, 0755) == 0);
        CHECK(asprintf(&exec, "%s  --relay  2", script_path) >= 0);
        /* A descriptor without O_CLOEXEC, and a variable of our own: neither may reach the child. */
        leak = dup2(STDERR_FILENO, 57);
        CHECK(leak == 57);
        CHECK(setenv("ALI_LINKD_TEST_OWN", "not for children", 1) == 0);
        CHECK(asprintf(&env, "RECORD=%s/record LEAK_FD=57", f.dir) >= 0);
        fixture_binding(&f, "Relay", KV("type", "command", "exec", exec, "environment", env), &INT_RW);

        CHECK_DONE(write_value(&f, "1"), 200, "1");
        record = fake_sysfs_read(f.dir, "record");
        CHECK_CONTAINS(record, "arg=--relay\narg=2\narg=1\n"); /* split at blanks, the value last */
        CHECK_CONTAINS(record, "ALI_LINKD_PROPERTY=Relay\n");
        CHECK_CONTAINS(record, "ALI_LINKD_VALUE=1\n");
        CHECK_CONTAINS(record, "LEAK_FD=57\n");
        CHECK_CONTAINS(record, "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\n");
        CHECK(!strstr(record, "ALI_LINKD_TEST_OWN"));
        CHECK_CONTAINS(record, "fd=closed\n");
        CHECK_CONTAINS(record, "fd=closed\nstdin="); /* stdin is /dev/null: nothing to read */
        CHECK_INTEQ(count_children(), 0);

        CHECK_DONE(write_value(&f, "3"), 100103, NULL);
        CHECK_DONE(write_value(&f, "9"), 100356, NULL);

        /* One run at a time. */
        {
                struct json_object *v = json_object_new_int(1);
                Done d1 = {}, d2 = {};
                CHECK_INTEQ(binding_write(f.binding, v, on_done, &d1), 0);
                CHECK_INTEQ(binding_write(f.binding, v, on_done, &d2), -EBUSY);
                json_object_put(v);
                CHECK(run_until(f.event, &d1.called, TIMEOUT_USEC));
                CHECK_DONE(d1, 200, "1");
                CHECK(!d2.called);
        }
        binding_free(f.binding);
        binding_config_done(&f.config);

        /* Too slow: killed, and gone before the answer. */
        fixture_binding(
                &f, "Relay", KV("type", "command", "exec", "/bin/sleep 30", "timeout", "200ms"), &INT_RW);
        {
                uint64_t start = now_usec(CLOCK_MONOTONIC);
                CHECK_DONE(write_value(&f, "1"), 100006, NULL);
                CHECK(now_usec(CLOCK_MONOTONIC) - start < 5 * USEC_PER_SEC);
        }
        CHECK_INTEQ(count_children(), 0);
        binding_free(f.binding);
        binding_config_done(&f.config);

        /* Freed while a child runs: the child is killed and reaped. */
        fixture_binding(&f, "Relay", KV("type", "command", "exec", "/bin/sleep 30"), &INT_RW);
        {
                struct json_object *v = json_object_new_int(1);
                Done d = {};
                CHECK_INTEQ(binding_write(f.binding, v, on_done, &d), 0);
                json_object_put(v);
                CHECK_INTEQ(count_children(), 1);
                f.binding = binding_free(f.binding);
                CHECK_INTEQ(count_children(), 0);
                CHECK(!d.called);
        }
        binding_config_done(&f.config);

        /* A program that is not there: made, with one warning; unavailable. */
        fixture_binding(&f, "Relay", KV("type", "command", "exec", "/nonexistent/relay"), &INT_RW);
        CHECK_CONTAINS(f.log, "Property Relay: /nonexistent/relay cannot be run, each write tries again");
        CHECK_DONE(write_value(&f, "1"), 100003, NULL);
        close(leak);
        unsetenv("ALI_LINKD_TEST_OWN");
        fixture_done(&f);
}

/* --- pwm and led on prepared sysfs trees --- */

TEST(pwm)
{
        _cleanup_(freep) char *duty = NULL, *period = NULL, *enable = NULL;
        Fixture f;

        fixture_init(&f);
        fake_sysfs_file(f.dir, "class/pwm/pwmchip1/export", "");
        fake_sysfs_pwm_channel(f.dir, "pwmchip1", 2);
        fixture_binding(&f, "FanSpeed",
                KV("type", "pwm", "chip", "pwmchip1", "channel", "2", "period_ns", "40000", "sysfs_root",
                        f.dir),
                &PERCENT_RW);
        CHECK(!strstr(f.log, "not available"));
        CHECK_DONE(write_value(&f, "25"), 200, "25");
        duty = fake_sysfs_read(f.dir, "class/pwm/pwmchip1/pwm2/duty_cycle");
        period = fake_sysfs_read(f.dir, "class/pwm/pwmchip1/pwm2/period");
        enable = fake_sysfs_read(f.dir, "class/pwm/pwmchip1/pwm2/enable");
        CHECK_STREQ(duty, "10000");
        CHECK_STREQ(period, "40000");
        CHECK_STREQ(enable, "1");
        CHECK_READ(&f, "25");
        CHECK_DONE(write_value(&f, "100"), 200, "100");
        free(duty);
        duty = fake_sysfs_read(f.dir, "class/pwm/pwmchip1/pwm2/duty_cycle");
        CHECK_STREQ(duty, "40000");
        binding_free(f.binding);
        binding_config_done(&f.config);

        /* A double over -1..1. */
        fixture_binding(&f, "Motor",
                KV("type", "pwm", "chip", "pwmchip1", "channel", "2", "period_ns", "40000", "sysfs_root",
                        f.dir),
                &SPEED_RW);
        CHECK_DONE(write_value(&f, "0.5"), 200, "0.5");
        free(duty);
        duty = fake_sysfs_read(f.dir, "class/pwm/pwmchip1/pwm2/duty_cycle");
        CHECK_STREQ(duty, "30000");
        binding_free(f.binding);
        binding_config_done(&f.config);

        /* No such chip: made anyway, unavailable. */
        fixture_binding(&f, "FanSpeed",
                KV("type", "pwm", "chip", "pwmchip7", "channel", "0", "sysfs_root", f.dir), &PERCENT_RW);
        CHECK_CONTAINS(f.log, "/class/pwm/pwmchip7 is not available, each write tries again");
        CHECK_DONE(write_value(&f, "50"), 100003, NULL);
        fixture_done(&f);
}

TEST(led)
{
        _cleanup_(freep) char *brightness = NULL;
        Fixture f;

        fixture_init(&f);
        fake_sysfs_file(f.dir, "class/leds/status/max_brightness", "255");
        fake_sysfs_file(f.dir, "class/leds/status/brightness", "0");
        fixture_binding(&f, "Status", KV("type", "led", "led", "status", "sysfs_root", f.dir), &PERCENT_RW);
        CHECK_DONE(write_value(&f, "50"), 200, "50");
        brightness = fake_sysfs_read(f.dir, "class/leds/status/brightness");
        CHECK_STREQ(brightness, "128");
        CHECK_READ(&f, "50");
        binding_free(f.binding);
        binding_config_done(&f.config);

        fixture_binding(&f, "Status", KV("type", "led", "led", "status", "sysfs_root", f.dir), &BOOL_RW);
        CHECK_DONE(write_value(&f, "1"), 200, "1");
        free(brightness);
        brightness = fake_sysfs_read(f.dir, "class/leds/status/brightness");
        CHECK_STREQ(brightness, "255");
        CHECK_DONE(write_value(&f, "0"), 200, "0");
        binding_free(f.binding);
        binding_config_done(&f.config);

        /* An int without a range is the brightness itself, up to max_brightness. */
        fixture_binding(&f, "Status", KV("type", "led", "led", "status", "sysfs_root", f.dir), &INT_RW);
        CHECK_DONE(write_value(&f, "17"), 200, "17");
        CHECK_DONE(write_value(&f, "1000"), 200, "255");
        binding_free(f.binding);
        binding_config_done(&f.config);

        fixture_binding(&f, "Status", KV("type", "led", "led", "gone", "sysfs_root", f.dir), &BOOL_RW);
        CHECK_CONTAINS(f.log, "/class/leds/gone is not available, each write tries again");
        CHECK_DONE(write_value(&f, "1"), 100003, NULL);
        fixture_done(&f);
}

/* Several synchronous answers in a row: each once, in order, none from inside binding_write(). */
TEST(answers_in_order)
{
        _cleanup_(freep) char *path = NULL;
        Done d[3] = {};
        Fixture f;

        fixture_init(&f);
        fake_sysfs_file(f.dir, "value", "0");
        path = path_in(&f, "value");
        fixture_binding(&f, "Level", KV("type", "file", "path", path), &INT_RW);
        for (int i = 0; i < 3; i++) {
                struct json_object *v = json_object_new_int(i + 1);
                CHECK_INTEQ(binding_write(f.binding, v, on_done, &d[i]), 0);
                json_object_put(v);
        }
        CHECK(!d[0].called && !d[1].called && !d[2].called);
        CHECK(run_until(f.event, &d[2].called, TIMEOUT_USEC));
        CHECK(d[0].called && d[1].called);
        /* Each was read back after its own write. */
        CHECK_STREQ(d[0].actual, "1");
        CHECK_STREQ(d[1].actual, "2");
        CHECK_STREQ(d[2].actual, "3");
        for (int i = 0; i < 3; i++)
                free(d[i].actual);
        fixture_done(&f);
}
