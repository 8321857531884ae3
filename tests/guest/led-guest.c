/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led-guest.c: the light's backends and the gpio bindings on real kernel interfaces, run inside the test
 * guest.
 *
 * Linked statically against liblight.a and libthing.a, so this is the daemon's own backend code: led-gpio
 * driving a real GPIO character device (gpio-sim) through libgpiod 2, led-pwm on a real PWM chip's sysfs,
 * led-class on a real multicolor LED and on leds-gpio. tests/guest/init sets up two gpio-sim chips and loads
 * the test module, and passes their names in the environment: GPIO_SIM_CHIP   gpiochipN for the gpio
 * backend: 8 lines, label "ali-linkd-sim", lines 3, 4 and 5 named LED_R, LED_G, LED_B; GPIO_SIM_DEV    the
 * gpio-sim platform device (gpio-sim.N), GPIO_SIM_LABEL the first chip's label; TEST_LEDS_CHIP  the second
 * chip, whose lines 0-2 leds-gpio drives as red:sim, green:sim, blue:sim; TEST_PWM_CHIP   the test module's
 * PWM chip (pwmchipN, 3 channels). What the lines really do is read from gpio-sim's sysfs (sim_gpioN/value)
 * while they are still requested: a released line goes back to its pull. */
#include <dirent.h>
#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "binding.h"
#include "capture-log.h"
#include "fs-util.h"
#include "led.h"
#include "log.h"
#include "string-util.h"
#include "test.h"
#include "time-util.h"

#define STATE(on_, r_, g_, b_, br_)                                                                         \
        ((LedState){.on = on_, .red = r_, .green = g_, .blue = b_, .brightness = br_})

static const char *env(const char *name)
{
        const char *v = getenv(name);

        CHECK(v && *v);
        return v;
}

/* The level gpio-sim shows on line offset (1 high, 0 low). */
static int sim_value(unsigned offset)
{
        char *path, buf[8] = {};
        int fd;

        CHECK(asprintf(&path, "/sys/devices/platform/%s/%s/sim_gpio%u/value", env("GPIO_SIM_DEV"),
                      env("GPIO_SIM_CHIP"), offset) >= 0);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(read(fd, buf, sizeof(buf) - 1) > 0);
        close(fd);
        free(path);
        return buf[0] == '1';
}

#define CHECK_LEVELS(a, b, c, la, lb, lc)                                                                   \
        do {                                                                                                \
                CHECK_INTEQ(sim_value(a), la);                                                              \
                CHECK_INTEQ(sim_value(b), lb);                                                              \
                CHECK_INTEQ(sim_value(c), lc);                                                              \
        } while (0)

/* Line requests this process holds (each is one anon inode "gpio-line"). */
static int count_line_requests(void)
{
        DIR *d = opendir("/proc/self/fd");
        struct dirent *de;
        int n = 0;

        CHECK(d);
        while ((de = readdir(d))) {
                char *p, target[64] = {};
                CHECK(asprintf(&p, "/proc/self/fd/%s", de->d_name) >= 0);
                if (readlink(p, target, sizeof(target) - 1) > 0 && streq(target, "anon_inode:gpio-line"))
                        n++;
                free(p);
        }
        closedir(d);
        return n;
}

typedef struct Light {
        LedConfig config;
        Led *led;
        LedState want, actual;
        int r;
} Light;

static void light_new(Light *l, const char *chip, const char *lines, bool active_low, const char *state_dir)
{
        *l = (Light){};
        l->config = (LedConfig){
                .backend = LED_BACKEND_GPIO,
                .chip = strdup(chip),
                .active_low = active_low,
                .threshold = 128,
                .on_exit = LED_ON_EXIT_OFF,
        };
        CHECK(l->config.chip);
        CHECK(strv_split(lines, ",", &l->config.lines) == 0);
        if (state_dir) /* the Manager's job in the daemon */
                CHECK(mkdir_parents_and_self(state_dir, 0700) == 0);
        CHECK(led_new(&l->led, &l->config, state_dir) == 0);
}

static void light_free(Light *l)
{
        led_free(l->led);
        led_config_done(&l->config);
}

static int do_apply(void *userdata)
{
        Light *l = userdata;
        return led_apply(l->led, &l->want, &l->actual);
}

/* Applies want; returns the code, the log in *ret_log (or dropped). */
static int apply(Light *l, LedState want, char **ret_log)
{
        char *log = NULL;

        l->want = want;
        l->r = capture_log(do_apply, l, &log);
        if (ret_log)
                *ret_log = log;
        else
                free(log);
        return l->r;
}

static char *dev_path(void)
{
        char *p;

        CHECK(asprintf(&p, "/dev/%s", env("GPIO_SIM_CHIP")) >= 0);
        return p;
}

TEST(chip_by_name_lines_by_offset)
{
        Light l;

        light_new(&l, env("GPIO_SIM_CHIP"), "0,1,2", false, NULL);
        CHECK_INTEQ(count_line_requests(), 0); /* nothing is requested before the first change */

        CHECK_INTEQ(apply(&l, STATE(true, 255, 0, 128, 100), NULL), 0);
        CHECK(led_state_equal(&l.actual, &l.want));
        CHECK_LEVELS(0, 1, 2, 1, 0, 1);
        CHECK_INTEQ(count_line_requests(), 1); /* one request for the three lines */

        /* A channel is lit from the threshold (128) up. */
        CHECK_INTEQ(apply(&l, STATE(true, 127, 128, 255, 100), NULL), 0);
        CHECK_LEVELS(0, 1, 2, 0, 1, 1);
        /* Brightness does not dim a line that is only high or low. */
        CHECK_INTEQ(apply(&l, STATE(true, 127, 128, 255, 1), NULL), 0);
        CHECK_LEVELS(0, 1, 2, 0, 1, 1);
        /* Switched off: all low, the colour is kept. */
        CHECK_INTEQ(apply(&l, STATE(false, 255, 255, 255, 100), NULL), 0);
        CHECK(led_state_equal(&l.actual, &l.want));
        CHECK_LEVELS(0, 1, 2, 0, 0, 0);
        CHECK_INTEQ(count_line_requests(), 1);

        /* on_exit=off while the lines are still ours, then released. */
        CHECK_INTEQ(apply(&l, STATE(true, 255, 255, 255, 100), NULL), 0);
        CHECK_LEVELS(0, 1, 2, 1, 1, 1);
        CHECK_INTEQ(led_stop(l.led), 0);
        CHECK_LEVELS(0, 1, 2, 0, 0, 0);
        light_free(&l);
        CHECK_INTEQ(count_line_requests(), 0);
}

TEST(chip_by_path_lines_by_name_active_low)
{
        _cleanup_(freep) char *path = dev_path();
        Light l;

        light_new(&l, path, "LED_R,LED_G,LED_B", true, NULL);
        CHECK_INTEQ(apply(&l, STATE(true, 255, 0, 255, 100), NULL), 0);
        CHECK(led_state_equal(&l.actual, &l.want));
        /* Active low: a lit channel drives its line low. */
        CHECK_LEVELS(3, 4, 5, 0, 1, 0);
        CHECK_INTEQ(apply(&l, STATE(false, 255, 0, 255, 100), NULL), 0);
        CHECK_LEVELS(3, 4, 5, 1, 1, 1);
        light_free(&l);
}

TEST(chip_by_label)
{
        Light l;

        light_new(&l, env("GPIO_SIM_LABEL"), "6,7,0", false, NULL);
        CHECK_INTEQ(apply(&l, STATE(true, 0, 200, 0, 100), NULL), 0);
        CHECK_LEVELS(6, 7, 0, 0, 1, 0);
        light_free(&l);
}

TEST(line_busy_then_free)
{
        _cleanup_(freep) char *log = NULL, *expect = NULL;
        Light a, b;

        light_new(&a, env("GPIO_SIM_CHIP"), "0,1,2", false, NULL);
        light_new(&b, env("GPIO_SIM_CHIP"), "2,3,4", false, NULL);
        CHECK_INTEQ(apply(&a, STATE(true, 255, 255, 255, 100), NULL), 0);

        CHECK_INTEQ(apply(&b, STATE(true, 255, 0, 255, 100), &log), LED_CODE_UNAVAILABLE);
        CHECK(led_state_equal(&b.actual, &LED_STATE_INIT));
        /* The log names the line, the chip and who holds it: us, by our consumer name. */
        CHECK(asprintf(&expect, "GPIO line 2 (red) of /dev/%s (%s, \"%s\") is busy: used by \"ali-linkd\"",
                      env("GPIO_SIM_CHIP"), env("GPIO_SIM_CHIP"), env("GPIO_SIM_LABEL")) >= 0);
        CHECK_CONTAINS(log, expect);
        CHECK_LEVELS(0, 1, 2, 1, 1, 1); /* the holder's lines are untouched */

        /* The holder lets go: the next change requests again and succeeds. */
        light_free(&a);
        CHECK_INTEQ(apply(&b, STATE(true, 255, 0, 255, 100), NULL), 0);
        CHECK_LEVELS(2, 3, 4, 1, 0, 1);
        light_free(&b);
}

static int do_log_flush(void *userdata)
{
        (void) userdata;
        log_flush();
        return 0;
}

TEST(chip_missing)
{
        _cleanup_(freep) char *log1 = NULL, *log2 = NULL, *log3 = NULL;
        Light l;

        log_reset();
        light_new(&l, "gpiochip99", "0,1,2", false, NULL);
        CHECK_INTEQ(apply(&l, STATE(true, 255, 0, 255, 100), &log1), LED_CODE_UNAVAILABLE);
        CHECK_CONTAINS(log1,
                "GPIO chip \"gpiochip99\" not found: no /dev/gpiochip99, and no GPIO chip has that label");
        CHECK(led_state_equal(&l.actual, &LED_STATE_INIT));
        /* The next change tries again and fails the same way: the log counts the repeat instead of
         * writing the line again, and says so when it is flushed. */
        CHECK_INTEQ(apply(&l, STATE(true, 255, 0, 255, 100), &log2), LED_CODE_UNAVAILABLE);
        CHECK(!strstr(log2, "gpiochip99"));
        (void) capture_log(do_log_flush, NULL, &log3);
        CHECK_CONTAINS(log3, "... repeated 1 more time: GPIO chip \"gpiochip99\" not found");
        light_free(&l);
}

TEST(line_missing)
{
        _cleanup_(freep) char *log1 = NULL, *log2 = NULL, *log3 = NULL;
        Light l;

        light_new(&l, env("GPIO_SIM_CHIP"), "LED_R,LED_G,LED_X", false, NULL);
        CHECK_INTEQ(apply(&l, STATE(true, 255, 0, 255, 100), &log1), LED_CODE_UNAVAILABLE);
        CHECK_CONTAINS(log1, "has no line named \"LED_X\" (blue)");
        light_free(&l);

        light_new(&l, env("GPIO_SIM_CHIP"), "0,1,8", false, NULL);
        CHECK_INTEQ(apply(&l, STATE(true, 255, 0, 255, 100), &log2), LED_CODE_UNAVAILABLE);
        CHECK_CONTAINS(log2, "has 8 lines: there is no line 8 (blue)");
        light_free(&l);

        light_new(&l, env("GPIO_SIM_CHIP"), "5,LED_B,1", false, NULL);
        CHECK_INTEQ(apply(&l, STATE(true, 255, 0, 255, 100), &log3), LED_CODE_UNAVAILABLE);
        CHECK_CONTAINS(log3, "GPIO lines for red and green are both line 5");
        light_free(&l);
        CHECK_INTEQ(count_line_requests(), 0);
}

/* /dev/gpiochipN is root's, mode 0600: another user is refused, told so with its uid, and succeeds on the
 * next change once the device is opened up to it. */
TEST(permission_denied_then_granted)
{
        _cleanup_(freep) char *path = dev_path();
        int to_parent[2], to_child[2], status;
        char c;
        pid_t pid;

        CHECK(chmod(path, 0600) == 0);
        CHECK(pipe(to_parent) == 0 && pipe(to_child) == 0);
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                _cleanup_(freep) char *log = NULL, *expect = NULL;
                Light l;

                CHECK(setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0);
                light_new(&l, env("GPIO_SIM_CHIP"), "0,1,2", false, NULL);
                CHECK_INTEQ(apply(&l, STATE(true, 0, 255, 0, 100), &log), LED_CODE_UNAVAILABLE);
                CHECK(asprintf(&expect, "Cannot open GPIO chip %s as uid 65534: Permission denied", path) >=
                        0);
                CHECK_CONTAINS(log, expect);
                CHECK(write(to_parent[1], "1", 1) == 1);
                CHECK(read(to_child[0], &c, 1) == 1);
                CHECK_INTEQ(apply(&l, STATE(true, 0, 255, 0, 100), NULL), 0);
                CHECK_LEVELS(0, 1, 2, 0, 1, 0);
                light_free(&l);
                _exit(0);
        }
        CHECK(read(to_parent[0], &c, 1) == 1);
        CHECK(chmod(path, 0666) == 0);
        CHECK(write(to_child[1], "1", 1) == 1);
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        CHECK(chmod(path, 0600) == 0);
}

TEST(state_saved_and_restored)
{
        Light l;
        LedState actual;

        light_new(&l, env("GPIO_SIM_CHIP"), "0,1,2", false, "/run/ali-linkd-state");
        CHECK_INTEQ(apply(&l, STATE(true, 255, 255, 0, 100), NULL), 0);
        light_free(&l);
        /* Released: gpio-sim takes the lines back to their pull (down). */
        CHECK_LEVELS(0, 1, 2, 0, 0, 0);

        /* A new start: the saved state comes back onto the lines. */
        light_new(&l, env("GPIO_SIM_CHIP"), "0,1,2", false, "/run/ali-linkd-state");
        CHECK(led_state_equal(led_get_state(l.led), &STATE(true, 255, 255, 0, 100)));
        CHECK_INTEQ(led_restore(l.led, &actual), 0);
        CHECK(led_state_equal(&actual, &STATE(true, 255, 255, 0, 100)));
        CHECK_LEVELS(0, 1, 2, 1, 1, 0);
        light_free(&l);
}

/* --- The pwm and ledclass backends on the kernel's own interfaces: tests/guest/module/ali-linkd-test.ko
 * registers a PWM chip (TEST_PWM_CHIP), a multicolor LED rgb:test, and leds-gpio on the second gpio-sim
 * chip (TEST_LEDS_CHIP, lines 0-2 as red:sim, green:sim, blue:sim). --- */

static void light_new_sysfs(Light *l, LedBackend backend, const char *leds, uint64_t period)
{
        *l = (Light){};
        l->config = (LedConfig){
                .backend = backend,
                .chip = strdup(env("TEST_PWM_CHIP")),
                .channels = {0, 1, 2},
                .period_ns = period,
                .gamma = 1.0,
                .sysfs_root = strdup("/sys"),
        };
        CHECK(l->config.chip && l->config.sysfs_root);
        if (leds)
                CHECK(strv_split(leds, ",", &l->config.leds) == 0);
        CHECK(led_new(&l->led, &l->config, NULL) == 0);
}

static char *read_attr(const char *format, ...) _printf_(1, 2);
static char *read_attr(const char *format, ...)
{
        char *path, *s = NULL;
        size_t n = 0;
        va_list ap;
        FILE *f;
        ssize_t len;

        va_start(ap, format);
        CHECK(vasprintf(&path, format, ap) >= 0);
        va_end(ap);
        f = fopen(path, "re");
        CHECK(f);
        len = getline(&s, &n, f);
        CHECK(len > 0);
        s[strcspn(s, "\n")] = 0;
        fclose(f);
        free(path);
        return s;
}

#define CHECK_ATTR(want, ...)                                                                               \
        do {                                                                                                \
                char *_v_ = read_attr(__VA_ARGS__);                                                         \
                CHECK_STREQ(_v_, want);                                                                     \
                free(_v_);                                                                                  \
        } while (0)

TEST(pwm_on_a_real_pwm_chip)
{
        const char *chip = env("TEST_PWM_CHIP");
        _cleanup_(freep) char *path = NULL;
        Light l;
        int fd;

        light_new_sysfs(&l, LED_BACKEND_PWM, NULL, 1000000);
        /* Fresh: the daemon exports the channels. */
        CHECK(asprintf(&path, "/sys/class/pwm/%s/pwm0", chip) >= 0);
        CHECK(access(path, F_OK) < 0 && errno == ENOENT);
        CHECK_INTEQ(apply(&l, STATE(true, 255, 0, 128, 100), NULL), 0);
        CHECK_INTEQ(access(path, F_OK), 0);
        path = mfree(path);
        CHECK(led_state_equal(&l.actual, &l.want));
        CHECK_ATTR("1000000", "/sys/class/pwm/%s/pwm0/duty_cycle", chip);
        CHECK_ATTR("0", "/sys/class/pwm/%s/pwm1/duty_cycle", chip);
        CHECK_ATTR("501961", "/sys/class/pwm/%s/pwm2/duty_cycle", chip);
        CHECK_ATTR("1000000", "/sys/class/pwm/%s/pwm2/period", chip);
        CHECK_ATTR("1", "/sys/class/pwm/%s/pwm2/enable", chip);
        light_free(&l);

        /* A shorter period than the duty cycles in place: the kernel refuses a period below an enabled
         * channel's duty cycle, so this only succeeds in the right order. */
        light_new_sysfs(&l, LED_BACKEND_PWM, NULL, 20000);
        CHECK_INTEQ(apply(&l, STATE(true, 255, 0, 128, 100), NULL), 0);
        CHECK_ATTR("20000", "/sys/class/pwm/%s/pwm0/period", chip);
        CHECK_ATTR("20000", "/sys/class/pwm/%s/pwm0/duty_cycle", chip);
        CHECK_ATTR("10039", "/sys/class/pwm/%s/pwm2/duty_cycle", chip);
        /* ... as it does here, written by hand in the wrong order. */
        CHECK(asprintf(&path, "/sys/class/pwm/%s/pwm0/period", chip) >= 0);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(write(fd, "10", 2) < 0 && errno == EINVAL);
        close(fd);

        CHECK_INTEQ(apply(&l, STATE(false, 255, 0, 128, 100), NULL), 0);
        CHECK_ATTR("0", "/sys/class/pwm/%s/pwm0/duty_cycle", chip);
        CHECK_ATTR("0", "/sys/class/pwm/%s/pwm2/duty_cycle", chip);
        light_free(&l);
}

/* The channel brightness the kernel computed, as the test module logs it: "G R B" (its channel order). */
static char *last_channel_brightness(void)
{
        char buf[1024], *found = NULL;
        int fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
        ssize_t n;

        CHECK(fd >= 0);
        while ((n = read(fd, buf, sizeof(buf) - 1)) > 0 || (n < 0 && errno == EPIPE)) {
                const char *m;
                if (n <= 0)
                        continue;
                buf[n] = 0;
                m = strstr(buf, "rgb:test: channel brightness ");
                if (m) {
                        free(found);
                        found = strndup(m + strlen("rgb:test: channel brightness "),
                                strcspn(m + strlen("rgb:test: channel brightness "), "\n"));
                }
        }
        close(fd);
        CHECK(found);
        return found;
}

TEST(ledclass_on_a_real_multicolor_led)
{
        _cleanup_(freep) char *channels = NULL;
        Light l;

        CHECK_ATTR("green red blue", "/sys/class/leds/rgb:test/multi_index");
        light_new_sysfs(&l, LED_BACKEND_LEDCLASS, "rgb:test", 0);
        CHECK_INTEQ(apply(&l, STATE(true, 255, 0, 128, 50), NULL), 0);
        CHECK(led_state_equal(&l.actual, &l.want));
        CHECK_ATTR("0 255 128", "/sys/class/leds/rgb:test/multi_intensity");
        CHECK_ATTR("128", "/sys/class/leds/rgb:test/brightness");
        /* The kernel's own arithmetic: brightness * intensity / max_brightness per channel. */
        channels = last_channel_brightness();
        CHECK_STREQ(channels, "0 128 64");

        CHECK_INTEQ(apply(&l, STATE(false, 255, 0, 128, 50), NULL), 0);
        CHECK_ATTR("0", "/sys/class/leds/rgb:test/brightness");
        free(channels);
        channels = last_channel_brightness();
        CHECK_STREQ(channels, "0 0 0");
        light_free(&l);
}

TEST(ledclass_on_leds_gpio)
{
        Light l;

        light_new_sysfs(&l, LED_BACKEND_LEDCLASS, "red:sim,green:sim,blue:sim", 0);
        CHECK_INTEQ(apply(&l, STATE(true, 255, 0, 200, 100), NULL), 0);
        CHECK(led_state_equal(&l.actual, &l.want));
        /* leds-gpio drives the lines of the second gpio-sim chip. */
        CHECK_ATTR("1", "/sys/devices/platform/%s/%s/sim_gpio0/value", env("GPIO_SIM_DEV"),
                env("TEST_LEDS_CHIP"));
        CHECK_ATTR("0", "/sys/devices/platform/%s/%s/sim_gpio1/value", env("GPIO_SIM_DEV"),
                env("TEST_LEDS_CHIP"));
        CHECK_ATTR("1", "/sys/devices/platform/%s/%s/sim_gpio2/value", env("GPIO_SIM_DEV"),
                env("TEST_LEDS_CHIP"));
        CHECK_INTEQ(apply(&l, STATE(false, 255, 0, 200, 100), NULL), 0);
        CHECK_ATTR("0", "/sys/devices/platform/%s/%s/sim_gpio0/value", env("GPIO_SIM_DEV"),
                env("TEST_LEDS_CHIP"));
        CHECK_ATTR("0", "/sys/devices/platform/%s/%s/sim_gpio2/value", env("GPIO_SIM_DEV"),
                env("TEST_LEDS_CHIP"));
        light_free(&l);
}

/* --- The gpio bindings (libthing.a) on gpio-sim, on a real sd-event loop: an output set and read back, and
 * an input driven through gpio-sim's pull (sim_gpioN/pull), debounced. --- */

typedef struct Bound {
        sd_event *event;
        BindingConfig config;
        Binding *binding;
        unsigned changes;
        int last;
        bool done;
        int code;
        char *actual;
} Bound;

static void bound_changed(Binding *b, struct json_object *value, void *userdata)
{
        Bound *x = userdata;

        x->changes++;
        x->last = json_object_get_int(value);
}

static void bound_done(Binding *b, int code, struct json_object *actual, void *userdata)
{
        Bound *x = userdata;

        x->done = true;
        x->code = code;
        free(x->actual);
        x->actual = actual ? strdup(json_object_to_json_string(actual)) : NULL;
}

static const BindingType GUEST_BOOL_RW = {.kind = TSL_TYPE_BOOL, .writable = true};
static const BindingType GUEST_BOOL_RO = {.kind = TSL_TYPE_BOOL};

static int do_bound_new(void *userdata)
{
        Bound *x = userdata;
        const BindingType *type = x->config.kind == BINDING_GPIO_INPUT ? &GUEST_BOOL_RO : &GUEST_BOOL_RW;
        BindingHost host = {.value_changed = bound_changed, .userdata = x};

        return binding_new(&x->binding, x->event, &x->config, type, &host);
}

/* A binding from "key", "value" pairs; the log of making it in *ret_log (or dropped). */
static void bound_new(Bound *x, const char *const *kv, char **ret_log)
{
        char *log = NULL, *error = NULL;

        *x = (Bound){};
        CHECK(sd_event_default(&x->event) >= 0);
        x->config.identifier = strdup("Relay");
        for (size_t i = 0; kv[i]; i += 2)
                CHECK(binding_config_set(&x->config, kv[i], kv[i + 1], &error) == 0);
        CHECK(binding_config_verify(&x->config, &error) == 0);
        CHECK_INTEQ(capture_log(do_bound_new, x, &log), 0);
        if (ret_log)
                *ret_log = log;
        else
                free(log);
}

static void bound_free(Bound *x)
{
        binding_free(x->binding);
        binding_config_done(&x->config);
        sd_event_unref(x->event);
        free(x->actual);
}

/* Runs the loop until cond or timeout_ms; returns cond. */
#define RUN_UNTIL(x, cond, timeout_ms)                                                                      \
        ({                                                                                                  \
                uint64_t _end_ = now_usec(CLOCK_MONOTONIC) + (uint64_t) (timeout_ms) *1000;                 \
                while (!(cond) && now_usec(CLOCK_MONOTONIC) < _end_)                                        \
                        CHECK(sd_event_run((x)->event, _end_ - now_usec(CLOCK_MONOTONIC)) >= 0);            \
                (cond);                                                                                     \
        })

static int bound_write(Bound *x, int value)
{
        struct json_object *v = json_object_new_int(value);

        x->done = false;
        CHECK_INTEQ(binding_write(x->binding, v, bound_done, x), 0);
        json_object_put(v);
        CHECK(!x->done); /* never from inside binding_write() */
        CHECK(RUN_UNTIL(x, x->done, 5000));
        return x->code;
}

static int bound_read(Bound *x)
{
        struct json_object *v = NULL;
        int level;

        CHECK_INTEQ(binding_read(x->binding, &v), 0);
        level = json_object_get_int(v);
        json_object_put(v);
        return level;
}

static void sim_pull(unsigned offset, const char *pull)
{
        char *path;
        int fd;

        CHECK(asprintf(&path, "/sys/devices/platform/%s/%s/sim_gpio%u/pull", env("GPIO_SIM_DEV"),
                      env("GPIO_SIM_CHIP"), offset) >= 0);
        fd = open(path, O_WRONLY | O_CLOEXEC);
        CHECK(fd >= 0);
        CHECK(write(fd, pull, strlen(pull)) == (ssize_t) strlen(pull));
        close(fd);
        free(path);
}

TEST(binding_gpio_output)
{
        Bound x;

        bound_new(&x, (const char *const[]){"type", "gpio", "chip", env("GPIO_SIM_CHIP"), "line", "1", NULL},
                NULL);
        CHECK_INTEQ(count_line_requests(), 0); /* requested by the first write */
        CHECK_INTEQ(bound_read(&x), 0);        /* "as is", for the moment of the read */
        CHECK_INTEQ(count_line_requests(), 0);
        CHECK_INTEQ(bound_write(&x, 1), 200);
        CHECK_STREQ(x.actual, "1");
        CHECK_INTEQ(sim_value(1), 1);
        CHECK_INTEQ(bound_read(&x), 1);
        CHECK_INTEQ(bound_write(&x, 0), 200);
        CHECK_STREQ(x.actual, "0");
        CHECK_INTEQ(sim_value(1), 0);
        CHECK_INTEQ(count_line_requests(), 1);
        bound_free(&x);
        CHECK_INTEQ(count_line_requests(), 0);

        /* Active low, the line by name: 1 drives it low. */
        bound_new(&x,
                (const char *const[]){"type", "gpio", "chip", env("GPIO_SIM_LABEL"), "line", "LED_G",
                        "active_low", "yes", NULL},
                NULL);
        CHECK_INTEQ(bound_write(&x, 1), 200);
        CHECK_STREQ(x.actual, "1");
        CHECK_INTEQ(sim_value(4), 0);
        CHECK_INTEQ(bound_write(&x, 0), 200);
        CHECK_INTEQ(sim_value(4), 1);
        bound_free(&x);
}

TEST(binding_gpio_missing)
{
        _cleanup_(freep) char *log = NULL;
        Bound x;

        bound_new(&x, (const char *const[]){"type", "gpio", "chip", "gpiochip99", "line", "1", NULL}, &log);
        CHECK_CONTAINS(log, "Property Relay: GPIO chip \"gpiochip99\" not found");
        CHECK_INTEQ(bound_write(&x, 1), 100003);
        bound_free(&x);

        /* A line the chip does not have. */
        free(log);
        bound_new(&x, (const char *const[]){"type", "gpio", "chip", env("GPIO_SIM_CHIP"), "line", "9", NULL},
                &log);
        CHECK_CONTAINS(log, "has 8 lines: there is no line 9");
        CHECK_INTEQ(bound_write(&x, 1), 100003);
        bound_free(&x);
}

TEST(binding_gpio_input_debounced)
{
        Bound x;

        sim_pull(7, "pull-down");
        bound_new(&x,
                (const char *const[]){"type", "gpio", "direction", "input", "chip", env("GPIO_SIM_CHIP"),
                        "line", "7", "debounce", "50ms", NULL},
                NULL);
        CHECK_INTEQ(count_line_requests(), 1);
        CHECK_INTEQ(bound_read(&x), 0);
        CHECK(!RUN_UNTIL(&x, x.changes > 0, 200)); /* nothing without a change */

        /* A clean change: one report, after the level has been stable for the debounce period. */
        sim_pull(7, "pull-up");
        CHECK(RUN_UNTIL(&x, x.changes > 0, 5000));
        CHECK_INTEQ(x.changes, 1);
        CHECK_INTEQ(x.last, 1);
        CHECK_INTEQ(bound_read(&x), 1);
        CHECK(!RUN_UNTIL(&x, x.changes > 1, 300));

        /* Bouncing: down, up, down, up within the period is one change... to where it already was: none. */
        sim_pull(7, "pull-down");
        sim_pull(7, "pull-up");
        sim_pull(7, "pull-down");
        sim_pull(7, "pull-up");
        CHECK(!RUN_UNTIL(&x, x.changes > 1, 400));

        /* Bouncing down and staying there: one report of 0. */
        sim_pull(7, "pull-down");
        sim_pull(7, "pull-up");
        sim_pull(7, "pull-down");
        CHECK(RUN_UNTIL(&x, x.changes > 1, 5000));
        CHECK_INTEQ(x.last, 0);
        CHECK(!RUN_UNTIL(&x, x.changes > 2, 400));
        CHECK_INTEQ(x.changes, 2);
        bound_free(&x);
        CHECK_INTEQ(count_line_requests(), 0);

        /* Active low and rising edges only: each press (the line pulled low) is reported as 1. */
        sim_pull(7, "pull-up");
        bound_new(&x,
                (const char *const[]){"type", "gpio", "direction", "input", "chip", env("GPIO_SIM_CHIP"),
                        "line", "7", "active_low", "yes", "edge", "rising", "debounce", "20ms", NULL},
                NULL);
        CHECK_INTEQ(bound_read(&x), 0);
        for (unsigned press = 1; press <= 2; press++) {
                sim_pull(7, "pull-down");
                CHECK(RUN_UNTIL(&x, x.changes >= press, 5000));
                CHECK_INTEQ(x.last, 1);
                sim_pull(7, "pull-up");
                CHECK(!RUN_UNTIL(&x, x.changes > press, 200)); /* the release is not reported */
        }
        bound_free(&x);
}
