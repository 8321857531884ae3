/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led-pwm.c: sysfs PWM channels (Documentation/driver-api/pwm.rst, "Using PWMs with the sysfs interface").
 */
#include <dlfcn.h>
#include <gnu/lib-names.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "led-pwm.h"
#include "log.h"
#include "macro.h"
#include "sysfs-util.h"

struct LedPwm {
        const LedConfig *config; /* borrowed from the Led */
        char *chip_dir;          /* SYSFS_ROOT/class/pwm/CHIP */
};

/* pow() for the gamma curve comes from libm, which the daemon does not link: loading libm runs the IFUNC
 * resolvers of all its functions, and that alone keeps about 320 kB resident in every daemon
 * (bench/bounds.md), for a function that only this backend calls, and only with a gamma other than 1. It is
 * loaded on first use and kept. Returns NULL (logged) if it cannot be. */
typedef double PowFunction(double x, double y);

static PowFunction *libm_pow(void)
{
        static PowFunction *f = NULL;
        void *h;

        if (f)
                return f;
        h = dlopen(LIBM_SO, RTLD_NOW | RTLD_LOCAL);
        if (!h) {
                log_error("Cannot load %s for the PWM gamma curve: %s", LIBM_SO, dlerror());
                return NULL;
        }
        f = (PowFunction *) dlsym(h, "pow");
        if (!f) {
                log_error("Cannot load %s for the PWM gamma curve: it has no pow()", LIBM_SO);
                (void) dlclose(h);
        }
        return f;
}

/* x >= 0, rounded half up (what llround() does for x >= 0, without libm). */
static uint64_t round_u64(double x)
{
        return (uint64_t) (x + 0.5);
}

uint64_t led_pwm_duty(uint64_t period_ns, double gamma, bool on, uint8_t value, uint8_t brightness)
{
        PowFunction *pow_f;
        double x;

        if (!on || value == 0 || brightness == 0)
                return 0;
        pow_f = gamma == 1.0 ? NULL : libm_pow();
        if (!pow_f)
                /* Exact: period * value/255 * brightness/100, rounded half up. period_ns < 2^32 (conf.c).
                 * Also the curve if libm cannot be loaded (led_pwm_new() refuses that case, logged). */
                return (period_ns * value * brightness + 255 * 100 / 2) / (255 * 100);
        x = pow_f(value / 255.0, gamma) * (brightness / 100.0);
        return MIN(round_u64((double) period_ns * x), period_ns);
}

uint8_t led_pwm_value(uint64_t period_ns, double gamma, uint64_t duty_ns, uint8_t brightness)
{
        double full = (double) period_ns * brightness / 100.0, x;
        PowFunction *pow_f;

        if (full <= 0 || (double) duty_ns >= full)
                return 255;
        x = (double) duty_ns / full;
        pow_f = gamma == 1.0 ? NULL : libm_pow();
        if (pow_f)
                x = pow_f(x, 1.0 / gamma);
        return (uint8_t) MIN(round_u64(255.0 * x), 255u);
}

int led_pwm_new(LedPwm **ret, const LedConfig *config)
{
        _cleanup_(freep) LedPwm *p = NULL;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        p->config = config;
        if (config->gamma != 1.0 && !libm_pow())
                return -ELIBACC;
        if (asprintf(&p->chip_dir, "%s/class/pwm/%s", config->sysfs_root ?: LED_DEFAULT_SYSFS_ROOT,
                    config->chip ?: LED_DEFAULT_PWM_CHIP) < 0)
                return -ENOMEM;
        *ret = TAKE_PTR(p);
        return 0;
}

LedPwm *led_pwm_free(LedPwm *p)
{
        if (!p)
                return NULL;
        free(p->chip_dir);
        free(p);
        return NULL;
}

static char *channel_attr(LedPwm *p, unsigned channel, const char *attr)
{
        char *s;

        if (asprintf(&s, "%s/pwm%u%s%s", p->chip_dir, channel, attr ? "/" : "", attr ?: "") < 0)
                return NULL;
        return s;
}

/* Exports the channel unless its directory is there already. Returns 0, LED_CODE_UNAVAILABLE (logged), or
 * -ENOMEM. */
static int channel_open(LedPwm *p, unsigned i)
{
        unsigned channel = p->config->channels[i];
        _cleanup_(freep) char *dir = NULL, *export = NULL;
        struct stat st;
        int r;

        dir = channel_attr(p, channel, NULL);
        if (!dir || asprintf(&export, "%s/export", p->chip_dir) < 0)
                return -ENOMEM;
        if (stat(dir, &st) == 0)
                return 0;
        if (errno != ENOENT) {
                led_log_fault(errno, "Cannot look at PWM channel %s", dir);
                return LED_CODE_UNAVAILABLE;
        }

        r = sysfs_write_u64(export, channel);
        if (r < 0) {
                led_log_fault(r, "Cannot export channel %u (%s) of PWM chip %s: writing %s failed%s",
                        channel, led_color_names[i], p->chip_dir, export,
                        r == -EBUSY                    ? " (a kernel driver uses the channel)"
                        : r == -ENODEV || r == -EINVAL ? " (the chip has no such channel)"
                                                       : "");
                return LED_CODE_UNAVAILABLE;
        }
        /* The kernel creates the directory before the write returns. */
        if (stat(dir, &st) < 0) {
                led_log_fault(errno, "Exported channel %u of PWM chip %s, but %s did not appear", channel,
                        p->chip_dir, dir);
                return LED_CODE_UNAVAILABLE;
        }
        log_info("Exported PWM channel %u (%s) of %s", channel, led_color_names[i], p->chip_dir);
        return 0;
}

static int write_attr(LedPwm *p, unsigned channel, const char *attr, uint64_t value)
{
        _cleanup_(freep) char *path = channel_attr(p, channel, attr);
        int r;

        if (!path)
                return -ENOMEM;
        r = sysfs_write_u64(path, value);
        if (r < 0)
                return led_log_fault(r, "Cannot write %" PRIu64 " to %s", value, path);
        log_debug("%s = %" PRIu64, path, value);
        return 0;
}

static int read_attr(LedPwm *p, unsigned channel, const char *attr, uint64_t *ret)
{
        _cleanup_(freep) char *path = channel_attr(p, channel, attr);

        if (!path)
                return -ENOMEM;
        return sysfs_read_u64(path, ret);
}

/* Sets one channel to period/duty and enables it, keeping duty_cycle <= period after every write. Returns 0
 * or a negative errno (logged). */
static int channel_write(LedPwm *p, unsigned channel, uint64_t duty)
{
        uint64_t period = p->config->period_ns, old_period, old_duty, enabled;
        int r;

        /* What is unreadable is rewritten, in the order that is safe from a fresh export (all zero). */
        if (read_attr(p, channel, "period", &old_period) < 0)
                old_period = UINT64_MAX;
        if (read_attr(p, channel, "duty_cycle", &old_duty) < 0)
                old_duty = 0;
        if (read_attr(p, channel, "enable", &enabled) < 0)
                enabled = 0;

        if (old_period != period && old_duty > period) {
                /* Shrinking the period below the old duty cycle: the new (smaller) duty cycle goes first. */
                r = write_attr(p, channel, "duty_cycle", duty);
                if (r >= 0)
                        r = write_attr(p, channel, "period", period);
        } else {
                r = old_period != period ? write_attr(p, channel, "period", period) : 0;
                if (r >= 0)
                        r = write_attr(p, channel, "duty_cycle", duty);
        }
        if (r >= 0 && enabled != 1)
                r = write_attr(p, channel, "enable", 1);
        return r;
}

int led_pwm_apply(LedPwm *p, const LedState *want, const LedState *current, LedState *ret_actual)
{
        const LedConfig *c = p->config;
        const uint8_t values[3] = {want->red, want->green, want->blue};
        uint64_t duty[3];
        LedReadback rb = {};
        bool write_failed = false;
        struct stat st;
        int r;

        *ret_actual = *current;
        if (stat(p->chip_dir, &st) < 0) {
                led_log_fault(errno, "PWM chip %s is not available (%s)", c->chip ?: LED_DEFAULT_PWM_CHIP,
                        p->chip_dir);
                return LED_CODE_UNAVAILABLE;
        }
        for (unsigned i = 0; i < 3; i++) {
                r = channel_open(p, i);
                if (r != 0)
                        return r;
        }

        for (unsigned i = 0; i < 3; i++) {
                duty[i] = led_pwm_duty(c->period_ns, c->gamma, want->on, values[i], want->brightness);
                /* A channel that fails does not stop the others: the read-back tells what the light shows.
                 */
                r = channel_write(p, c->channels[i], duty[i]);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        write_failed = true;
        }

        for (unsigned i = 0; i < 3; i++) {
                unsigned ch = c->channels[i];
                uint64_t period, d, enabled;

                if ((r = read_attr(p, ch, "period", &period)) < 0 ||
                        (r = read_attr(p, ch, "duty_cycle", &d)) < 0 ||
                        (r = read_attr(p, ch, "enable", &enabled)) < 0) {
                        if (r == -ENOMEM)
                                return r;
                        led_log_fault(r, "Cannot read back PWM channel %u (%s) of %s", ch,
                                led_color_names[i], p->chip_dir);
                        continue;
                }
                rb.known[i] = true;
                rb.matches[i] = period == c->period_ns && d == duty[i] && enabled == 1;
                rb.lit[i] = enabled == 1 && d > 0 && period > 0;
                rb.value[i] = led_pwm_value(period, c->gamma, d, want->brightness);
                if (!rb.matches[i])
                        log_warning("PWM channel %u (%s) of %s reads back period %" PRIu64
                                    ", duty_cycle %" PRIu64 ", enable %" PRIu64 " instead of %" PRIu64
                                    ", %" PRIu64 ", 1",
                                ch, led_color_names[i], p->chip_dir, period, d, enabled, c->period_ns,
                                duty[i]);
        }

        if (led_readback_to_state(&rb, want, current, ret_actual))
                return 0;
        return write_failed ? LED_CODE_WRITE_FAILED : LED_CODE_READBACK_DIFFERS;
}
