/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pwm-util.h: one channel of a sysfs PWM chip (Documentation/driver-api/pwm.rst, "Using PWMs with the
 * sysfs interface"), for every user of PWM channels (the light's pwm backend, the pwm bindings).
 *
 * chip_dir is SYSFS_ROOT/class/pwm/CHIP. A channel is exported only when its directory is absent, and
 * written in the order the kernel requires: period before duty_cycle (duty_cycle first only when the old
 * duty cycle would exceed the new period, so duty_cycle <= period holds after every write), then enable.
 * Nothing here logs: the callers say what failed, with what the failure records. */
#pragma once

#include <stdint.h>

typedef enum PwmExportStep {
        PWM_EXPORT_LOOK,   /* the channel's directory could not be looked at */
        PWM_EXPORT_WRITE,  /* writing the chip's export attribute failed */
        PWM_EXPORT_APPEAR, /* the export was written, but the directory did not appear */
} PwmExportStep;

/* The channel's directory (attr NULL) or one of its attributes; malloc'ed, NULL when out of memory. */
char *pwm_channel_path(const char *chip_dir, unsigned channel, const char *attr);
/* 0 when the channel was exported already, 1 when it has been now; a negative errno with *ret_step. */
int pwm_channel_export(const char *chip_dir, unsigned channel, PwmExportStep *ret_step);

/* What pwm_channel_set() could not write. */
typedef struct PwmWriteFailure {
        const char *attr; /* "period", "duty_cycle" or "enable" */
        uint64_t value;
} PwmWriteFailure;

/* Sets the channel to period and duty (ns) and enables it. 0, or the negative errno of the first write that
 * failed with *ret_failure. */
int pwm_channel_set(const char *chip_dir, unsigned channel, uint64_t period, uint64_t duty,
        PwmWriteFailure *ret_failure);
/* Reads period, duty_cycle and enable. 0, or the negative errno of the first that could not be read. */
int pwm_channel_get(const char *chip_dir, unsigned channel, uint64_t *ret_period, uint64_t *ret_duty,
        uint64_t *ret_enabled);
