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
#include "pwm-util.h"

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

/* Exports the channel unless its directory is there already. Returns 0, LED_CODE_UNAVAILABLE (logged), or
 * -ENOMEM. */
static int channel_open(LedPwm *p, unsigned i)
{
        unsigned channel = p->config->channels[i];
        PwmExportStep step;
        int r;

        r = pwm_channel_export(p->chip_dir, channel, &step);
        if (r == -ENOMEM)
                return r;
        if (r < 0 && step == PWM_EXPORT_LOOK)
                led_log_fault(r, "Cannot look at PWM channel %s/pwm%u", p->chip_dir, channel);
        else if (r < 0 && step == PWM_EXPORT_WRITE)
                led_log_fault(r, "Cannot export channel %u (%s) of PWM chip %s: writing %s/export failed%s",
                        channel, led_color_names[i], p->chip_dir, p->chip_dir,
                        r == -EBUSY                    ? " (a kernel driver uses the channel)"
                        : r == -ENODEV || r == -EINVAL ? " (the chip has no such channel)"
                                                       : "");
        else if (r < 0)
                led_log_fault(r, "Exported channel %u of PWM chip %s, but %s/pwm%u did not appear", channel,
                        p->chip_dir, p->chip_dir, channel);
        else if (r > 0)
                log_info("Exported PWM channel %u (%s) of %s", channel, led_color_names[i], p->chip_dir);
        return r < 0 ? LED_CODE_UNAVAILABLE : 0;
}

/* Sets one channel to period/duty and enables it. Returns 0 or a negative errno (logged). */
static int channel_write(LedPwm *p, unsigned channel, uint64_t duty)
{
        PwmWriteFailure failure;
        int r;

        r = pwm_channel_set(p->chip_dir, channel, p->config->period_ns, duty, &failure);
        if (r < 0 && r != -ENOMEM)
                return led_log_fault(r, "Cannot write %" PRIu64 " to %s/pwm%u/%s", failure.value,
                        p->chip_dir, channel, failure.attr);
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

                r = pwm_channel_get(p->chip_dir, ch, &period, &d, &enabled);
                if (r < 0) {
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
