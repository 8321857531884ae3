/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-led-class.c: the ledclass backend against a prepared tree shaped like /sys/class/leds.
 *
 * A multicolor LED (multi_index read for the channel order, multi_intensity written before brightness,
 * both scaled to max_brightness) and three single LEDs; missing LEDs and channels, and read-back. */
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "capture-log.h"
#include "fake-sysfs.h"
#include "led.h"
#include "string-util.h"
#include "test.h"

typedef struct Fixture {
        char *root;
        char *names[4];
        LedConfig config;
        Led *led;
        LedState want, actual;
        int r;
} Fixture;

#define STATE(on_, r_, g_, b_, br_)                                                                         \
        ((LedState){.on = on_, .red = r_, .green = g_, .blue = b_, .brightness = br_})

static void add_led(Fixture *f, const char *name, const char *max, const char *multi_index)
{
        _cleanup_(freep) char *a = NULL, *b = NULL, *c = NULL, *d = NULL;

        CHECK(asprintf(&a, "class/leds/%s/max_brightness", name) >= 0);
        CHECK(asprintf(&b, "class/leds/%s/brightness", name) >= 0);
        fake_sysfs_file(f->root, a, max);
        fake_sysfs_file(f->root, b, "0");
        if (multi_index) {
                CHECK(asprintf(&c, "class/leds/%s/multi_index", name) >= 0);
                CHECK(asprintf(&d, "class/leds/%s/multi_intensity", name) >= 0);
                fake_sysfs_file(f->root, c, multi_index);
                fake_sysfs_file(f->root, d, "0 0 0");
        }
}

/* leds: "a" or "a,b,c" */
static void fixture_init(Fixture *f, const char *leds)
{
        *f = (Fixture){};
        f->root = fake_sysfs_new();
        f->config = (LedConfig){.backend = LED_BACKEND_LEDCLASS, .sysfs_root = f->root};
        CHECK(strv_split(leds, ",", &f->config.leds) == 0);
}

static void fixture_start(Fixture *f)
{
        CHECK(led_new(&f->led, &f->config, /* state_directory= */ NULL) == 0);
}

static void fixture_done(Fixture *f)
{
        led_free(f->led);
        strv_free(f->config.leds);
        fake_sysfs_remove(f->root);
}

static int do_apply(void *userdata)
{
        Fixture *f = userdata;
        return led_apply(f->led, &f->want, &f->actual);
}

static char *apply(Fixture *f, LedState want, char **ret_log)
{
        const char *dirs[4] = {};
        char *log = NULL;
        FakeSysfsWatch *w;

        for (size_t i = 0; i < 3 && f->config.leds[i]; i++) {
                CHECK(asprintf(&f->names[i], "class/leds/%s", f->config.leds[i]) >= 0);
                dirs[i] = f->names[i];
        }
        w = fake_sysfs_watch(f->root, dirs);
        f->want = want;
        f->r = capture_log(do_apply, f, &log);
        for (size_t i = 0; i < 3; i++)
                f->names[i] = mfree(f->names[i]);
        if (ret_log)
                *ret_log = log;
        else
                free(log);
        return fake_sysfs_writes(w);
}

static void check_attr(Fixture *f, const char *led, const char *attr, const char *want)
{
        _cleanup_(freep) char *rel = NULL, *got = NULL;

        CHECK(asprintf(&rel, "class/leds/%s/%s", led, attr) >= 0);
        got = fake_sysfs_read(f->root, rel);
        CHECK_STREQ(got, want);
}

TEST(multicolor_order_and_values)
{
        Fixture f;
        _cleanup_(freep) char *w1 = NULL, *w2 = NULL;

        fixture_init(&f, "rgb:status");
        /* A channel order other than ours, as drivers may declare it. */
        add_led(&f, "rgb:status", "255", "green red blue");
        fixture_start(&f);

        w1 = apply(&f, STATE(true, 255, 0, 128, 100), NULL);
        CHECK_INTEQ(f.r, 0);
        CHECK(led_state_equal(&f.actual, &f.want));
        CHECK_STREQ(w1, "class/leds/rgb:status/multi_intensity class/leds/rgb:status/brightness");
        check_attr(&f, "rgb:status", "multi_intensity", "0 255 128");
        check_attr(&f, "rgb:status", "brightness", "255");

        /* Off: brightness 0, the colour stays in multi_intensity. */
        w2 = apply(&f, STATE(false, 255, 0, 128, 100), NULL);
        CHECK_INTEQ(f.r, 0);
        CHECK_STREQ(w2, "class/leds/rgb:status/multi_intensity class/leds/rgb:status/brightness");
        check_attr(&f, "rgb:status", "multi_intensity", "0 255 128");
        check_attr(&f, "rgb:status", "brightness", "0");
        fixture_done(&f);
}

TEST(multicolor_scaled_to_max_brightness)
{
        Fixture f;

        fixture_init(&f, "multicolor:indicator");
        add_led(&f, "multicolor:indicator", "100", "red green blue white");
        fixture_start(&f);
        free(apply(&f, STATE(true, 255, 1, 128, 50), NULL));
        CHECK_INTEQ(f.r, 0);
        /* 255 -> 100, 1 -> 0.39 -> 0, 128 -> 50.2 -> 50; white is not ours: 0. Brightness 50% of 100. */
        check_attr(&f, "multicolor:indicator", "multi_intensity", "100 0 50 0");
        check_attr(&f, "multicolor:indicator", "brightness", "50");
        /* At this resolution green 1 shows as 0, and the levels read back as written: that is success. */
        CHECK(led_state_equal(&f.actual, &f.want));
        fixture_done(&f);
}

TEST(multicolor_without_blue)
{
        Fixture f;
        _cleanup_(freep) char *writes = NULL, *log = NULL;

        fixture_init(&f, "rg:status");
        add_led(&f, "rg:status", "255", "red green");
        fixture_start(&f);
        writes = apply(&f, STATE(true, 255, 0, 128, 100), &log);
        CHECK_INTEQ(f.r, LED_CODE_UNAVAILABLE);
        CHECK_STREQ(writes, "");
        CHECK_CONTAINS(log, "LED rg:status has no blue channel (multi_index: red green)");
        fixture_done(&f);
}

TEST(multicolor_readback_differs)
{
        Fixture f;
        _cleanup_(freep) char *log = NULL, *path = NULL;

        fixture_init(&f, "rgb:status");
        add_led(&f, "rgb:status", "255", "red green blue");
        fixture_start(&f);
        /* brightness that swallows what is written and reads back nothing */
        CHECK(asprintf(&path, "%s/class/leds/rgb:status/brightness", f.root) >= 0);
        CHECK(unlink(path) == 0);
        CHECK(symlink("/dev/null", path) == 0);
        free(apply(&f, STATE(true, 255, 0, 128, 100), &log));
        CHECK_INTEQ(f.r, LED_CODE_READBACK_DIFFERS);
        CHECK_CONTAINS(log, "/class/leds/rgb:status/brightness");
        /* Nothing could be read in full: the light is reported as it was. */
        CHECK(led_state_equal(&f.actual, &LED_STATE_INIT));
        fixture_done(&f);
}

TEST(three_single_leds)
{
        Fixture f;
        _cleanup_(freep) char *writes = NULL;

        fixture_init(&f, "red:status,green:status,blue:status");
        add_led(&f, "red:status", "255", NULL);
        add_led(&f, "green:status", "1", NULL); /* a GPIO LED: on or off */
        add_led(&f, "blue:status", "4095", NULL);
        fixture_start(&f);

        writes = apply(&f, STATE(true, 255, 200, 128, 100), NULL);
        CHECK_INTEQ(f.r, 0);
        CHECK(led_state_equal(&f.actual, &f.want));
        CHECK_STREQ(writes, "class/leds/red:status/brightness class/leds/green:status/brightness "
                            "class/leds/blue:status/brightness");
        check_attr(&f, "red:status", "brightness", "255");
        check_attr(&f, "green:status", "brightness", "1");   /* 200/255 of 1, rounded */
        check_attr(&f, "blue:status", "brightness", "2056"); /* 4095 * 128/255 = 2055.5 */

        free(apply(&f, STATE(true, 255, 100, 128, 50), NULL));
        CHECK_INTEQ(f.r, 0);
        check_attr(&f, "red:status", "brightness", "128"); /* 127.5 */
        check_attr(&f, "green:status", "brightness", "0");
        check_attr(&f, "blue:status", "brightness", "1028"); /* 1027.8 */

        free(apply(&f, STATE(false, 255, 100, 128, 50), NULL));
        CHECK_INTEQ(f.r, 0);
        check_attr(&f, "red:status", "brightness", "0");
        check_attr(&f, "green:status", "brightness", "0");
        check_attr(&f, "blue:status", "brightness", "0");
        fixture_done(&f);
}

TEST(single_led_missing)
{
        Fixture f;
        _cleanup_(freep) char *writes = NULL, *log = NULL;

        fixture_init(&f, "red:status,green:status,blue:status");
        add_led(&f, "red:status", "255", NULL);
        add_led(&f, "blue:status", "255", NULL);
        fixture_start(&f);
        writes = apply(&f, STATE(true, 255, 0, 128, 100), &log);
        CHECK_INTEQ(f.r, LED_CODE_UNAVAILABLE);
        CHECK_STREQ(writes, "");
        CHECK_CONTAINS(log, "LED green:status is not available (");
        CHECK_CONTAINS(log, "No such file or directory");

        /* It appears (a module loaded): the next change drives it. */
        add_led(&f, "green:status", "255", NULL);
        free(writes);
        writes = apply(&f, STATE(true, 255, 0, 128, 100), NULL);
        CHECK_INTEQ(f.r, 0);
        check_attr(&f, "blue:status", "brightness", "128");
        fixture_done(&f);
}

TEST(single_led_lit_when_asked_off)
{
        Fixture f;
        _cleanup_(freep) char *path = NULL, *log = NULL;
        pid_t pid;
        int status;

        fixture_init(&f, "red:status,green:status,blue:status");
        add_led(&f, "red:status", "255", NULL);
        add_led(&f, "green:status", "255", NULL);
        add_led(&f, "blue:status", "255", NULL);
        fixture_start(&f);
        free(apply(&f, STATE(true, 0, 255, 0, 100), NULL));
        CHECK_INTEQ(f.r, 0);

        /* green's brightness cannot be written any more: switching off leaves it lit. */
        CHECK(asprintf(&path, "%s/class/leds/green:status/brightness", f.root) >= 0);
        CHECK(chmod(path, 0444) == 0);
        for (const char *const *n = (const char *const[]){"red:status", "blue:status", NULL}; *n; n++) {
                _cleanup_(freep) char *p = NULL;
                CHECK(asprintf(&p, "%s/class/leds/%s/brightness", f.root, *n) >= 0);
                CHECK(chmod(p, 0666) == 0);
        }
        pid = fork();
        CHECK(pid >= 0);
        if (pid == 0) {
                if (geteuid() == 0)
                        CHECK(setresgid(65534, 65534, 65534) == 0 && setresuid(65534, 65534, 65534) == 0);
                free(apply(&f, STATE(false, 0, 255, 0, 100), &log));
                CHECK_INTEQ(f.r, LED_CODE_WRITE_FAILED);
                CHECK_CONTAINS(log, "green:status/brightness as ");
                CHECK_CONTAINS(log, "Permission denied");
                /* The light is on after all, green. */
                CHECK(led_state_equal(&f.actual, &STATE(true, 0, 255, 0, 100)));
                _exit(0);
        }
        CHECK(waitpid(pid, &status, 0) == pid);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
        fixture_done(&f);
}
