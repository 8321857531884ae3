/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-led.c: the light's model, its state file, restore at start and on_exit at stop. */
#include <sys/stat.h>
#include <unistd.h>

#include "fake-sysfs.h"
#include "fs-util.h"
#include "led.h"
#include "string-util.h"
#include "test.h"

#define STATE(on_, r_, g_, b_, br_)                                                                         \
        ((LedState){.on = on_, .red = r_, .green = g_, .blue = b_, .brightness = br_})

static char *tmpdir(void)
{
        char *d = strdup("/tmp/test-led.XXXXXX");

        CHECK(d && mkdtemp(d));
        return d;
}

static char *join(const char *a, const char *b)
{
        char *s;

        CHECK(asprintf(&s, "%s/%s", a, b) >= 0);
        return s;
}

static void write_text(const char *path, const char *text)
{
        FILE *f = fopen(path, "we");

        CHECK(f && fputs(text, f) >= 0 && fclose(f) == 0);
}

TEST(names)
{
        CHECK_STREQ(led_backend_to_string(LED_BACKEND_LEDCLASS), "ledclass");
        CHECK_INTEQ(led_backend_from_string("gpio"), LED_BACKEND_GPIO);
        CHECK_INTEQ(led_backend_from_string("pwm"), LED_BACKEND_PWM);
        CHECK_INTEQ(led_backend_from_string("GPIO"), _LED_BACKEND_INVALID);
        CHECK_INTEQ(led_on_exit_from_string("off"), LED_ON_EXIT_OFF);
        CHECK_INTEQ(led_on_exit_from_string("keep"), LED_ON_EXIT_KEEP);
        CHECK_INTEQ(led_on_exit_from_string("on"), _LED_ON_EXIT_INVALID);
}

TEST(state_file_round_trip)
{
        _cleanup_(freep) char *d = tmpdir(), *p = join(d, "led-state"), *tmp = join(d, "led-state.tmp");
        LedState s = STATE(true, 255, 0, 128, 42), t;

        CHECK_INTEQ(led_state_load(p, &t), -ENOENT);
        CHECK_INTEQ(led_state_save(p, &s), 0);
        CHECK_INTEQ(access(tmp, F_OK), -1); /* renamed, nothing left behind */
        CHECK_INTEQ(led_state_load(p, &t), 0);
        CHECK(led_state_equal(&s, &t));

        /* Overwritten as a whole. */
        s = STATE(false, 1, 2, 3, 100);
        CHECK_INTEQ(led_state_save(p, &s), 0);
        CHECK_INTEQ(led_state_load(p, &t), 0);
        CHECK(led_state_equal(&s, &t));
        unlink(p);
        rmdir(d);
}

TEST(state_file_rejects_junk)
{
        _cleanup_(freep) char *d = tmpdir(), *p = join(d, "led-state");
        static const char *const bad[] = {
                "on=1\nred=255\ngreen=0\nblue=128\n",                       /* brightness missing */
                "on=1\nred=256\ngreen=0\nblue=128\nbrightness=100\n",       /* out of range */
                "on=2\nred=255\ngreen=0\nblue=128\nbrightness=100\n",       /* out of range */
                "on=1\nred=255\ngreen=0\nblue=128\nbrightness=101\n",       /* out of range */
                "on=1\non=1\nred=255\ngreen=0\nblue=128\nbrightness=100\n", /* twice */
                "on=1\nred=255\ngreen=0\nblue=128\nbrightness=100\nx=1\n",  /* unknown key */
                "on=1\nred=-1\ngreen=0\nblue=128\nbrightness=100\n",        /* sign */
                "on=1\nred = 255\ngreen=0\nblue=128\nbrightness=100\n",     /* spaces */
                "\x7f"
                "ELF",
        };
        LedState t;

        for (size_t i = 0; i < ELEMENTSOF(bad); i++) {
                write_text(p, bad[i]);
                CHECK_INTEQ(led_state_load(p, &t), -EBADMSG);
        }
        unlink(p);
        rmdir(d);
}

TEST(state_file_is_a_regular_file)
{
        _cleanup_(freep) char *d = tmpdir(), *p = join(d, "led-state"), *victim = join(d, "victim");
        LedState s = STATE(true, 1, 2, 3, 100), t;

        /* A FIFO would hang the start; a device or directory makes no sense: refused at once. */
        CHECK(mkfifo(p, 0600) == 0);
        CHECK_INTEQ(led_state_load(p, &t), -EBADFD);
        unlink(p);
        CHECK(mkdir(p, 0700) == 0);
        CHECK_INTEQ(led_state_load(p, &t), -EBADFD);
        rmdir(p);

        /* Never read through a symbolic link, and never written through one. */
        write_text(victim, "on=1\nred=9\ngreen=9\nblue=9\nbrightness=9\n");
        CHECK(symlink(victim, p) == 0);
        CHECK_INTEQ(led_state_load(p, &t), -ELOOP);
        CHECK_INTEQ(led_state_save(p, &s), 0); /* replaces the link, not its target */
        CHECK_INTEQ(led_state_load(p, &t), 0);
        CHECK(led_state_equal(&s, &t));
        CHECK_INTEQ(led_state_load(victim, &t), 0);
        CHECK(t.red == 9);
        unlink(p);
        unlink(victim);
        rmdir(d);
}

TEST(readback_to_state)
{
        const LedState want = STATE(true, 10, 20, 30, 100), was = STATE(true, 1, 2, 3, 100);
        LedReadback rb = {.known = {true, true, true}, .matches = {true, true, true}};
        LedState a;

        CHECK(led_readback_to_state(&rb, &want, &was, &a));
        CHECK(led_state_equal(&a, &want));

        /* Green reads back dark, blue unknown. */
        rb.matches[1] = false;
        rb.known[2] = false;
        CHECK(!led_readback_to_state(&rb, &want, &was, &a));
        CHECK(led_state_equal(&a, &STATE(true, 10, 0, 3, 100)));

        /* Nothing known: what it was. */
        rb = (LedReadback){};
        CHECK(!led_readback_to_state(&rb, &want, &was, &a));
        CHECK(led_state_equal(&a, &was));

        /* Asked off, but red still gives light: it is on, red only. */
        rb = (LedReadback){
                .known = {true, true, true}, .matches = {false, true, true}, .lit = {true}, .value = {200}};
        CHECK(!led_readback_to_state(&rb, &STATE(false, 10, 20, 30, 100), &was, &a));
        CHECK(led_state_equal(&a, &STATE(true, 200, 0, 0, 100)));
}

TEST(config_copy_and_equal)
{
        LedConfig a = {.backend = LED_BACKEND_GPIO, .threshold = 128, .gamma = 2.2, .period_ns = 1000}, b;

        CHECK(strv_split("17,27,22", ",", &a.lines) == 0);
        a.chip = strdup("gpiochip0");
        CHECK(led_config_copy(&b, &a) == 0);
        CHECK(led_config_equal(&a, &b));
        CHECK(a.lines != b.lines && a.chip != b.chip);
        free(b.lines[2]);
        b.lines[2] = strdup("23");
        CHECK(!led_config_equal(&a, &b));
        led_config_done(&a);
        led_config_done(&b);
}

/* A pwm tree with three channels exported and the light on it. */
typedef struct Light {
        char *root, *state_dir;
        LedConfig config;
        Led *led;
} Light;

static void light_init(Light *l, LedOnExit on_exit)
{
        *l = (Light){};
        l->root = fake_sysfs_new();
        for (unsigned i = 0; i < 3; i++)
                fake_sysfs_pwm_channel(l->root, "pwmchip0", i);
        /* A state directory that does not exist yet, two levels down. */
        l->state_dir = join(l->root, "var/lib/ali-linkd");
        l->config = (LedConfig){.backend = LED_BACKEND_PWM,
                .on_exit = on_exit,
                .channels = {0, 1, 2},
                .period_ns = 1000,
                .gamma = 1.0,
                .sysfs_root = l->root};
}

static void light_start(Light *l)
{
        CHECK_INTEQ(mkdir_parents_and_self(l->state_dir, 0700), 0); /* the Manager's job in the daemon */
        CHECK(led_new(&l->led, &l->config, l->state_dir) == 0);
}

static uint64_t duty(Light *l, unsigned channel)
{
        _cleanup_(freep) char *rel = NULL, *s = NULL;
        uint64_t v;

        CHECK(asprintf(&rel, "class/pwm/pwmchip0/pwm%u/duty_cycle", channel) >= 0);
        s = fake_sysfs_read(l->root, rel);
        CHECK(safe_atou64_range(s, 0, UINT64_MAX, &v) == 0);
        return v;
}

static void light_done(Light *l)
{
        led_free(l->led);
        fake_sysfs_remove(l->root);
        free(l->state_dir);
}

TEST(saved_restored_and_on_exit_off)
{
        Light l;
        LedState actual;
        _cleanup_(freep) char *state_file = NULL;

        light_init(&l, LED_ON_EXIT_OFF);
        light_start(&l);
        state_file = join(l.state_dir, "led-state");
        CHECK(led_state_equal(led_get_state(l.led), &LED_STATE_INIT));

        CHECK_INTEQ(led_apply(l.led, &STATE(true, 255, 51, 0, 100), &actual), 0);
        CHECK_INTEQ(duty(&l, 0), 1000);
        CHECK_INTEQ(duty(&l, 1), 200);

        /* on_exit=off: dark, but the saved state is the one the user left. */
        CHECK_INTEQ(led_stop(l.led), 0);
        CHECK_INTEQ(duty(&l, 0), 0);
        CHECK_INTEQ(duty(&l, 1), 0);
        l.led = led_free(l.led);
        CHECK_INTEQ(led_state_load(state_file, &actual), 0);
        CHECK(led_state_equal(&actual, &STATE(true, 255, 51, 0, 100)));

        /* Next start: the saved state is restored onto the hardware. */
        light_start(&l);
        CHECK(led_state_equal(led_get_state(l.led), &STATE(true, 255, 51, 0, 100)));
        CHECK_INTEQ(led_restore(l.led, &actual), 0);
        CHECK(led_state_equal(&actual, &STATE(true, 255, 51, 0, 100)));
        CHECK_INTEQ(duty(&l, 0), 1000);
        CHECK_INTEQ(duty(&l, 1), 200);
        light_done(&l);
}

TEST(on_exit_keep)
{
        Light l;
        LedState actual;

        light_init(&l, LED_ON_EXIT_KEEP);
        light_start(&l);
        CHECK_INTEQ(led_apply(l.led, &STATE(true, 0, 0, 255, 100), &actual), 0);
        CHECK_INTEQ(led_stop(l.led), 0);
        l.led = led_free(l.led);
        CHECK_INTEQ(duty(&l, 2), 1000);
        light_done(&l);
}

TEST(failed_change_saves_what_the_light_shows)
{
        Light l;
        LedState actual, saved;
        _cleanup_(freep) char *state_file = NULL;

        light_init(&l, LED_ON_EXIT_KEEP);
        light_start(&l);
        state_file = join(l.state_dir, "led-state");
        CHECK_INTEQ(led_apply(l.led, &STATE(true, 0, 0, 255, 100), &actual), 0);

        /* The chip goes away: the change fails, the light keeps its state, the file too. */
        l.config.chip = (char *) "pwmchip1";
        l.led = led_free(l.led);
        light_start(&l);
        CHECK_INTEQ(led_apply(l.led, &STATE(true, 255, 0, 0, 100), &actual), LED_CODE_UNAVAILABLE);
        CHECK(led_state_equal(&actual, &STATE(true, 0, 0, 255, 100)));
        CHECK_INTEQ(led_state_load(state_file, &saved), 0);
        CHECK(led_state_equal(&saved, &STATE(true, 0, 0, 255, 100)));
        light_done(&l);
}

TEST(corrupt_state_file_is_ignored)
{
        Light l;
        _cleanup_(freep) char *state_file = NULL;

        light_init(&l, LED_ON_EXIT_KEEP);
        fake_sysfs_mkdir(l.root, "var/lib/ali-linkd");
        state_file = join(l.state_dir, "led-state");
        write_text(state_file, "garbage\n");
        light_start(&l);
        CHECK(led_state_equal(led_get_state(l.led), &LED_STATE_INIT));
        light_done(&l);
}
