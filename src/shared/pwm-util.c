/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* pwm-util.c: see pwm-util.h. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "macro.h"
#include "pwm-util.h"
#include "sysfs-util.h"

char *pwm_channel_path(const char *chip_dir, unsigned channel, const char *attr)
{
        char *s;

        if (asprintf(&s, "%s/pwm%u%s%s", chip_dir, channel, attr ? "/" : "", attr ?: "") < 0)
                return NULL;
        return s;
}

int pwm_channel_export(const char *chip_dir, unsigned channel, PwmExportStep *ret_step)
{
        _cleanup_(freep) char *dir = NULL, *export = NULL;
        struct stat st;
        int r;

        dir = pwm_channel_path(chip_dir, channel, NULL);
        if (!dir || asprintf(&export, "%s/export", chip_dir) < 0)
                return -ENOMEM;
        if (stat(dir, &st) == 0)
                return 0;
        if (errno != ENOENT) {
                *ret_step = PWM_EXPORT_LOOK;
                return -errno;
        }
        r = sysfs_write_u64(export, channel);
        if (r < 0) {
                *ret_step = PWM_EXPORT_WRITE;
                return r;
        }
        /* The kernel creates the directory before the write returns. */
        if (stat(dir, &st) < 0) {
                *ret_step = PWM_EXPORT_APPEAR;
                return -errno;
        }
        return 1;
}

static int read_attr(const char *chip_dir, unsigned channel, const char *attr, uint64_t *ret)
{
        _cleanup_(freep) char *path = pwm_channel_path(chip_dir, channel, attr);

        if (!path)
                return -ENOMEM;
        return sysfs_read_u64(path, ret);
}

static int write_attr(const char *chip_dir, unsigned channel, const char *attr, uint64_t value,
        PwmWriteFailure *ret_failure)
{
        _cleanup_(freep) char *path = pwm_channel_path(chip_dir, channel, attr);
        int r;

        if (!path)
                return -ENOMEM;
        r = sysfs_write_u64(path, value);
        if (r < 0)
                *ret_failure = (PwmWriteFailure){.attr = attr, .value = value};
        return r;
}

int pwm_channel_set(
        const char *chip_dir, unsigned channel, uint64_t period, uint64_t duty, PwmWriteFailure *ret_failure)
{
        uint64_t old_period, old_duty, enabled;
        int r;

        /* What is unreadable is rewritten, in the order that is safe from a fresh export (all zero). */
        if (read_attr(chip_dir, channel, "period", &old_period) < 0)
                old_period = UINT64_MAX;
        if (read_attr(chip_dir, channel, "duty_cycle", &old_duty) < 0)
                old_duty = 0;
        if (read_attr(chip_dir, channel, "enable", &enabled) < 0)
                enabled = 0;

        if (old_period != period && old_duty > period) {
                /* Shrinking the period below the old duty cycle: the new (smaller) duty cycle goes first. */
                r = write_attr(chip_dir, channel, "duty_cycle", duty, ret_failure);
                if (r >= 0)
                        r = write_attr(chip_dir, channel, "period", period, ret_failure);
        } else {
                r = old_period != period ? write_attr(chip_dir, channel, "period", period, ret_failure) : 0;
                if (r >= 0)
                        r = write_attr(chip_dir, channel, "duty_cycle", duty, ret_failure);
        }
        if (r >= 0 && enabled != 1)
                r = write_attr(chip_dir, channel, "enable", 1, ret_failure);
        return r < 0 ? r : 0;
}

int pwm_channel_get(const char *chip_dir, unsigned channel, uint64_t *ret_period, uint64_t *ret_duty,
        uint64_t *ret_enabled)
{
        int r;

        if ((r = read_attr(chip_dir, channel, "period", ret_period)) < 0 ||
                (r = read_attr(chip_dir, channel, "duty_cycle", ret_duty)) < 0 ||
                (r = read_attr(chip_dir, channel, "enable", ret_enabled)) < 0)
                return r;
        return 0;
}
