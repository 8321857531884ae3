/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* binding-pwm.c: a number on one channel of a sysfs PWM chip (pwm-util.h).
 *
 * The property's min..max maps onto 0..period: duty = period * (v - min) / (max - min), rounded to the
 * nanosecond. Each write checks the chip, exports the channel when needed, writes period, duty_cycle and
 * enable in the order the kernel requires, and reads them back; the duty cycle read back, mapped back onto
 * min..max, is the actual value. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "binding-internal.h"
#include "log.h"
#include "macro.h"
#include "pwm-util.h"

typedef struct PwmState {
        char *chip_dir; /* SYSFS_ROOT/class/pwm/CHIP */
} PwmState;

static int pwm_open(Binding *b)
{
        PwmState *p;
        struct stat st;

        p = calloc(1, sizeof(*p));
        if (!p)
                return -ENOMEM;
        b->data = p;
        if (asprintf(&p->chip_dir, "%s/class/pwm/%s", b->settings.sysfs_root ?: BINDING_DEFAULT_SYSFS_ROOT,
                    b->settings.chip ?: BINDING_DEFAULT_PWM_CHIP) < 0) {
                p->chip_dir = NULL;
                return -ENOMEM;
        }
        if (stat(p->chip_dir, &st) < 0)
                log_warning_errno(errno,
                        "Property %s: PWM chip %s is not available, each write tries again: %m",
                        b->identifier, p->chip_dir);
        return 0;
}

static void pwm_free(Binding *b)
{
        PwmState *p = b->data;

        if (!p)
                return;
        free(p->chip_dir);
        free(p);
        b->data = NULL;
}

/* The value a duty cycle means. */
static int duty_to_value(Binding *b, uint64_t period, uint64_t duty, struct json_object **ret)
{
        double f = period > 0 ? (double) MIN(duty, period) / (double) period : 0;

        return binding_value_from_double(&b->type, b->type.min + (b->type.max - b->type.min) * f, ret);
}

static int pwm_write(Binding *b, struct json_object *value, struct json_object **ret_actual)
{
        PwmState *p = b->data;
        unsigned channel = (unsigned) b->settings.channel;
        uint64_t period = b->settings.period_ns, duty, got_period, got_duty, enabled;
        PwmWriteFailure failure;
        PwmExportStep step;
        struct stat st;
        double v;
        int r;

        *ret_actual = NULL;
        if (binding_value_to_double(value, &v) < 0) {
                log_warning("Property %s: the value is not a number", b->identifier);
                return BINDING_CODE_WRITE_FAILED;
        }
        duty = MIN(binding_round_u64((double) period * binding_range_fraction(&b->type, v)), period);

        if (stat(p->chip_dir, &st) < 0) {
                log_debug_errno(
                        errno, "Property %s: PWM chip %s is not available: %m", b->identifier, p->chip_dir);
                return BINDING_CODE_UNAVAILABLE;
        }
        r = pwm_channel_export(p->chip_dir, channel, &step);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning_errno(r, "Property %s: cannot %s channel %u of PWM chip %s: %m", b->identifier,
                        step == PWM_EXPORT_LOOK    ? "look at"
                        : step == PWM_EXPORT_WRITE ? "export"
                                                   : "find the exported",
                        channel, p->chip_dir);
                return BINDING_CODE_UNAVAILABLE;
        }
        if (r > 0)
                log_info("Property %s: exported channel %u of PWM chip %s", b->identifier, channel,
                        p->chip_dir);

        r = pwm_channel_set(p->chip_dir, channel, period, duty, &failure);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning_errno(r, "Property %s: cannot write %" PRIu64 " to %s/pwm%u/%s: %m",
                        b->identifier, failure.value, p->chip_dir, channel, failure.attr);
                return BINDING_CODE_WRITE_FAILED;
        }
        r = pwm_channel_get(p->chip_dir, channel, &got_period, &got_duty, &enabled);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning_errno(r, "Property %s: cannot read back channel %u of PWM chip %s: %m",
                        b->identifier, channel, p->chip_dir);
                return BINDING_CODE_READBACK_DIFFERS;
        }
        r = duty_to_value(b, got_period, enabled == 1 ? got_duty : 0, ret_actual);
        if (r == -ENOMEM)
                return r;
        if (got_period != period || got_duty != duty || enabled != 1) {
                log_warning("Property %s: channel %u of PWM chip %s reads back period %" PRIu64
                            ", duty_cycle %" PRIu64 ", enable %" PRIu64 " instead of %" PRIu64 ", %" PRIu64
                            ", 1",
                        b->identifier, channel, p->chip_dir, got_period, got_duty, enabled, period, duty);
                return BINDING_CODE_READBACK_DIFFERS;
        }
        return 200;
}

static int pwm_read(Binding *b, struct json_object **ret)
{
        PwmState *p = b->data;
        uint64_t period, duty, enabled;
        int r;

        r = pwm_channel_get(p->chip_dir, (unsigned) b->settings.channel, &period, &duty, &enabled);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return -ENODATA;
        r = duty_to_value(b, period, enabled == 1 ? duty : 0, ret);
        return r == -ERANGE ? -ENODATA : r;
}

const BindingOps binding_pwm_ops = {
        .open = pwm_open,
        .free = pwm_free,
        .write = pwm_write,
        .read = pwm_read,
};
