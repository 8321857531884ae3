/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-led-pwm.c: the pwm backend against a prepared tree shaped like /sys/class/pwm.
 *
 * Checks the values (gamma 1 gives exactly proportional duty cycles) and the order the kernel requires:
 * export only when a channel is absent, period before duty_cycle, duty_cycle <= period after every write,
 * enable last; and what a change is answered when a channel is missing, refuses a write or reads back
 * something else. */
#include <math.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture-log.h"
#include "fake-sysfs.h"
#include "led-pwm.h"
#include "led.h"
#include "string-util.h"
#include "test.h"

static const char *const channel_dirs[] = {"class/pwm/pwmchip0", "class/pwm/pwmchip0/pwm0",
        "class/pwm/pwmchip0/pwm1", "class/pwm/pwmchip0/pwm2", NULL};

typedef struct Fixture {
        char *root;
        LedConfig config;
        Led *led;
        LedState want, actual;
        int r;
} Fixture;

static void fixture_init(Fixture *f, double gamma, uint64_t period)
{
        *f = (Fixture){};
        f->root = fake_sysfs_new();
        fake_sysfs_file(f->root, "class/pwm/pwmchip0/export", "");
        fake_sysfs_file(f->root, "class/pwm/pwmchip0/npwm", "3");
        for (unsigned i = 0; i < 3; i++)
                fake_sysfs_pwm_channel(f->root, "pwmchip0", i);
        f->config = (LedConfig){
                .backend = LED_BACKEND_PWM,
                .channels = {0, 1, 2},
                .period_ns = period,
                .gamma = gamma,
                .sysfs_root = f->root,
                .chip = (char *) "pwmchip0",
        };
        CHECK(led_new(&f->led, &f->config, /* state_directory= */ NULL) == 0);
}

static void fixture_done(Fixture *f)
{
        led_free(f->led);
        fake_sysfs_remove(f->root);
}

static int do_apply(void *userdata)
{
        Fixture *f = userdata;
        return led_apply(f->led, &f->want, &f->actual);
}

/* Applies want; returns the writes seen, *ret_log the log. */
static char *apply(Fixture *f, LedState want, char **ret_log)
{
        FakeSysfsWatch *w = fake_sysfs_watch(f->root, channel_dirs);
        char *log = NULL;

        f->want = want;
        f->r = capture_log(do_apply, f, &log);
        if (ret_log)
                *ret_log = log;
        else
                free(log);
        return fake_sysfs_writes(w);
}

static uint64_t attr(Fixture *f, unsigned channel, const char *name)
{
        _cleanup_(freep) char *rel = NULL, *s = NULL;
        uint64_t v;

        CHECK(asprintf(&rel, "class/pwm/pwmchip0/pwm%u/%s", channel, name) >= 0);
        s = fake_sysfs_read(f->root, rel);
        CHECK(safe_atou64_range(s, 0, UINT64_MAX, &v) == 0);
        return v;
}

static void check_duties(Fixture *f, uint64_t red, uint64_t green, uint64_t blue)
{
        CHECK_INTEQ(attr(f, 0, "duty_cycle"), red);
        CHECK_INTEQ(attr(f, 1, "duty_cycle"), green);
        CHECK_INTEQ(attr(f, 2, "duty_cycle"), blue);
}

#define STATE(on_, r_, g_, b_, br_)                                                                         \
        ((LedState){.on = on_, .red = r_, .green = g_, .blue = b_, .brightness = br_})

TEST(duty_math)
{
        /* gamma 1: exactly proportional, rounded to the nearest nanosecond. */
        CHECK_INTEQ(led_pwm_duty(1000000, 1.0, true, 255, 100), 1000000);
        CHECK_INTEQ(led_pwm_duty(1000000, 1.0, true, 128, 100), 501961); /* 501960.78 */
        CHECK_INTEQ(led_pwm_duty(1000000, 1.0, true, 1, 100), 3922);     /* 3921.57 */
        CHECK_INTEQ(led_pwm_duty(1000000, 1.0, true, 255, 50), 500000);
        CHECK_INTEQ(led_pwm_duty(1000000, 1.0, true, 0, 100), 0);
        CHECK_INTEQ(led_pwm_duty(1000000, 1.0, false, 255, 100), 0);
        CHECK_INTEQ(led_pwm_duty(1000000, 1.0, true, 255, 0), 0);
        CHECK_INTEQ(led_pwm_duty(UINT32_MAX, 1.0, true, 255, 100), UINT32_MAX);
        /* gamma 2.2: 1e6 * (128/255)^2.2 = 219,519.7 */
        CHECK_INTEQ(led_pwm_duty(1000000, 2.2, true, 128, 100), 219520);
        CHECK_INTEQ(led_pwm_duty(1000000, 2.2, true, 255, 100), 1000000);
        /* and back */
        CHECK_INTEQ(led_pwm_value(1000000, 1.0, 501961, 100), 128);
        CHECK_INTEQ(led_pwm_value(1000000, 2.2, 219520, 100), 128);
        CHECK_INTEQ(led_pwm_value(1000000, 1.0, 250000, 50), 128);
        CHECK_INTEQ(led_pwm_value(1000000, 1.0, 1000000, 100), 255);
        for (unsigned v = 0; v <= 255; v++)
                CHECK_INTEQ(
                        led_pwm_value(1000000, 1.0, led_pwm_duty(1000000, 1.0, true, (uint8_t) v, 100), 100),
                        v);
}

TEST(fresh_channels_order_and_values)
{
        Fixture f;
        _cleanup_(freep) char *writes = NULL;

        fixture_init(&f, 1.0, 1000000);
        writes = apply(&f, STATE(true, 255, 0, 128, 100), NULL);
        CHECK_INTEQ(f.r, 0);
        CHECK(led_state_equal(&f.actual, &f.want));
        /* Per channel: period first (from 0, any duty cycle would exceed it), then duty_cycle, enable last.
         * No export: the channels were there. */
        CHECK_STREQ(writes, "class/pwm/pwmchip0/pwm0/period class/pwm/pwmchip0/pwm0/duty_cycle "
                            "class/pwm/pwmchip0/pwm0/enable "
                            "class/pwm/pwmchip0/pwm1/period class/pwm/pwmchip0/pwm1/duty_cycle "
                            "class/pwm/pwmchip0/pwm1/enable "
                            "class/pwm/pwmchip0/pwm2/period class/pwm/pwmchip0/pwm2/duty_cycle "
                            "class/pwm/pwmchip0/pwm2/enable");
        for (unsigned i = 0; i < 3; i++) {
                CHECK_INTEQ(attr(&f, i, "period"), 1000000);
                CHECK_INTEQ(attr(&f, i, "enable"), 1);
        }
        check_duties(&f, 1000000, 0, 501961);
        fixture_done(&f);
}

TEST(switch_off_and_brightness)
{
        Fixture f;
        _cleanup_(freep) char *w1 = NULL, *w2 = NULL;

        fixture_init(&f, 1.0, 1000000);
        free(apply(&f, STATE(true, 255, 0, 128, 100), NULL));
        CHECK_INTEQ(f.r, 0);

        /* Off: every duty cycle 0; period and enable are right already and not written again. */
        w1 = apply(&f, STATE(false, 255, 0, 128, 100), NULL);
        CHECK_INTEQ(f.r, 0);
        CHECK(led_state_equal(&f.actual, &f.want));
        CHECK_STREQ(w1, "class/pwm/pwmchip0/pwm0/duty_cycle class/pwm/pwmchip0/pwm1/duty_cycle "
                        "class/pwm/pwmchip0/pwm2/duty_cycle");
        for (unsigned i = 0; i < 3; i++) {
                CHECK_INTEQ(attr(&f, i, "duty_cycle"), 0);
                CHECK_INTEQ(attr(&f, i, "enable"), 1);
        }

        /* Brightness scales every channel. */
        w2 = apply(&f, STATE(true, 255, 102, 51, 40), NULL);
        CHECK_INTEQ(f.r, 0);
        check_duties(&f, 400000, 160000, 80000);
        fixture_done(&f);
}

TEST(gamma)
{
        Fixture f;

        fixture_init(&f, 2.2, 1000000);
        free(apply(&f, STATE(true, 255, 128, 64, 100), NULL));
        CHECK_INTEQ(f.r, 0);
        check_duties(&f, 1000000, (uint64_t) llround(1e6 * pow(128 / 255.0, 2.2)),
                (uint64_t) llround(1e6 * pow(64 / 255.0, 2.2)));
        CHECK(attr(&f, 2, "duty_cycle") < 1000000 * 64 / 255); /* dimmer than linear */
        fixture_done(&f);
}

TEST(shrinking_period_writes_duty_first)
{
        Fixture f;
        _cleanup_(freep) char *writes = NULL;

        fixture_init(&f, 1.0, 1000000);
        free(apply(&f, STATE(true, 255, 255, 128, 100), NULL));
        CHECK_INTEQ(f.r, 0);

        /* A new configuration with a period shorter than the duty cycles in place (as after a reload). */
        led_free(f.led);
        f.config.period_ns = 20000;
        CHECK(led_new(&f.led, &f.config, NULL) == 0);
        writes = apply(&f, STATE(true, 255, 0, 128, 100), NULL);
        CHECK_INTEQ(f.r, 0);
        /* pwm0 and pwm2 hold 1000000 and 501961 > 20000: duty_cycle goes down first. pwm1 holds 1000000 too.
         */
        CHECK_STREQ(writes, "class/pwm/pwmchip0/pwm0/duty_cycle class/pwm/pwmchip0/pwm0/period "
                            "class/pwm/pwmchip0/pwm1/duty_cycle class/pwm/pwmchip0/pwm1/period "
                            "class/pwm/pwmchip0/pwm2/duty_cycle class/pwm/pwmchip0/pwm2/period");
        check_duties(&f, 20000, 0, 10039); /* 10039.2 */
        CHECK_INTEQ(attr(&f, 2, "period"), 20000);

        /* Growing it again: period first. */
        led_free(f.led);
        f.config.period_ns = 40000;
        CHECK(led_new(&f.led, &f.config, NULL) == 0);
        free(writes);
        writes = apply(&f, STATE(true, 255, 0, 0, 100), NULL);
        CHECK_INTEQ(f.r, 0);
        CHECK_STREQ(writes, "class/pwm/pwmchip0/pwm0/period class/pwm/pwmchip0/pwm0/duty_cycle "
                            "class/pwm/pwmchip0/pwm1/period class/pwm/pwmchip0/pwm1/duty_cycle "
                            "class/pwm/pwmchip0/pwm2/period class/pwm/pwmchip0/pwm2/duty_cycle");
        fixture_done(&f);
}

TEST(export_only_when_absent)
{
        Fixture f;
        _cleanup_(freep) char *writes = NULL, *log = NULL, *exported = NULL, *again = NULL;
        const LedState before = LED_STATE_INIT;

        fixture_init(&f, 1.0, 1000000);
        fake_sysfs_remove(strdup(f.root)); /* start from nothing but the chip */
        fake_sysfs_file(f.root, "class/pwm/pwmchip0/export", "");
        fake_sysfs_pwm_channel(f.root, "pwmchip0", 0);
        fake_sysfs_pwm_channel(f.root, "pwmchip0", 2);

        /* pwm1 is absent: "1" goes to export. A tree of plain files cannot create the directory the way the
         * kernel does, so the backend finds it still missing and says so. */
        writes = apply(&f, STATE(true, 255, 0, 128, 100), &log);
        CHECK_INTEQ(f.r, LED_CODE_UNAVAILABLE);
        CHECK(led_state_equal(&f.actual, &before));
        CHECK_STREQ(writes, "class/pwm/pwmchip0/export");
        exported = fake_sysfs_read(f.root, "class/pwm/pwmchip0/export");
        CHECK_STREQ(exported, "1");
        CHECK_CONTAINS(log, "Exported channel 1 of PWM chip ");
        CHECK_CONTAINS(log, "/pwm1 did not appear");

        /* Now it is there (as the kernel would have made it): the next change uses it, exports nothing. */
        fake_sysfs_pwm_channel(f.root, "pwmchip0", 1);
        free(writes);
        writes = apply(&f, STATE(true, 255, 0, 128, 100), NULL);
        CHECK_INTEQ(f.r, 0);
        CHECK(!strstr(writes, "export"));
        CHECK_INTEQ(attr(&f, 1, "enable"), 1);
        fixture_done(&f);
}

TEST(chip_missing)
{
        Fixture f;
        _cleanup_(freep) char *writes = NULL, *log = NULL;

        fixture_init(&f, 1.0, 1000000);
        led_free(f.led);
        f.config.chip = (char *) "pwmchip7";
        CHECK(led_new(&f.led, &f.config, NULL) == 0);
        writes = apply(&f, STATE(true, 255, 0, 128, 100), &log);
        CHECK_INTEQ(f.r, LED_CODE_UNAVAILABLE);
        CHECK_STREQ(writes, "");
        CHECK_CONTAINS(log, "PWM chip pwmchip7 is not available (");
        CHECK_CONTAINS(log, "/class/pwm/pwmchip7): No such file or directory");
        /* The light keeps the state it had; nothing is saved as applied. */
        CHECK(led_state_equal(&f.actual, &LED_STATE_INIT));
        CHECK(led_state_equal(led_get_state(f.led), &LED_STATE_INIT));
        fixture_done(&f);
}

/* A duty_cycle the daemon may not write: mode 0444, and a process that is not root (or a root child that
 * gives up its uid, since root writes through any mode). */
TEST(read_only_duty_cycle)
{
        Fixture f;
        _cleanup_(freep) char *path = NULL;
        pid_t pid;
        int status;

        fixture_init(&f, 1.0, 1000000);
        free(apply(&f, STATE(true, 255, 0, 128, 100), NULL));
        CHECK_INTEQ(f.r, 0);
        CHECK(asprintf(&path, "%s/class/pwm/pwmchip0/pwm0/duty_cycle", f.root) >= 0);
        CHECK(chmod(path, 0444) == 0);
        /* Everything else stays writable for the child. */
        for (unsigned i = 1; i < 3; i++) {
                _cleanup_(freep) char *p = NULL;
                CHECK(asprintf(&p, "%s/class/pwm/pwmchip0/pwm%u/duty_cycle", f.root, i) >= 0);
                CHECK(chmod(p, 0666) == 0);
        }

        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                _cleanup_(freep) char *log = NULL;

                if (geteuid() == 0)
                        CHECK(setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0);
                /* Green instead of red: the red channel cannot follow. */
                free(apply(&f, STATE(true, 0, 255, 0, 100), &log));
                CHECK_INTEQ(f.r, LED_CODE_WRITE_FAILED);
                CHECK_CONTAINS(log, "/pwm0/duty_cycle as ");
                CHECK_CONTAINS(log, "(uid ");
                CHECK_CONTAINS(log, ": Permission denied");
                CHECK_CONTAINS(log,
                        "reads back period 1000000, duty_cycle 1000000, enable 1 instead of 1000000, 0, 1");
                /* What the light shows: red still full, green as asked, blue off as asked. */
                CHECK(f.actual.on);
                CHECK_INTEQ(f.actual.red, 255);
                CHECK_INTEQ(f.actual.green, 255);
                CHECK_INTEQ(f.actual.blue, 0);
                _exit(0);
        }
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        check_duties(&f, 1000000, 1000000, 0);
        fixture_done(&f);
}

TEST(unreadable_channel)
{
        Fixture f;
        _cleanup_(freep) char *path = NULL, *log = NULL;
        const LedState before = STATE(true, 255, 0, 128, 100);

        fixture_init(&f, 1.0, 1000000);
        free(apply(&f, before, NULL));
        CHECK_INTEQ(f.r, 0);
        /* pwm2's duty_cycle swallows writes and reads back nothing. */
        CHECK(asprintf(&path, "%s/class/pwm/pwmchip0/pwm2/duty_cycle", f.root) >= 0);
        CHECK(unlink(path) == 0);
        CHECK(symlink("/dev/null", path) == 0);
        free(apply(&f, STATE(true, 0, 0, 255, 100), &log));
        CHECK_INTEQ(f.r, LED_CODE_READBACK_DIFFERS);
        CHECK_CONTAINS(log, "Cannot read back PWM channel 2 (blue)");
        /* Red and green read back as asked; blue is unknown and keeps what it was. */
        CHECK(led_state_equal(&f.actual, &STATE(true, 0, 0, 128, 100)));
        fixture_done(&f);
}
