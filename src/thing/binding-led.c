/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* binding-led.c: a property as the brightness of a kernel LED class device (SYSFS_ROOT/class/leds/NAME).
 *
 * A bool is 0 or max_brightness; a number with a range maps min..max onto 0..max_brightness; an int
 * without a range is the brightness itself (clamped to max_brightness). Each write reads max_brightness
 * afresh, writes brightness and reads it back; what it reads back, mapped back, is the actual value. */
#include <inttypes.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "binding-internal.h"
#include "log.h"
#include "macro.h"
#include "sysfs-util.h"

typedef struct LedState {
        char *dir;
        char *max_path, *brightness_path;
} LedState;

static bool ranged(const Binding *b)
{
        return b->type.kind != TSL_TYPE_BOOL && b->type.has_range && b->type.max > b->type.min;
}

static int led_open(Binding *b)
{
        LedState *l;
        struct stat st;

        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        b->data = l;
        if (asprintf(&l->dir, "%s/class/leds/%s", b->settings.sysfs_root ?: BINDING_DEFAULT_SYSFS_ROOT,
                    b->settings.led) < 0 ||
                asprintf(&l->max_path, "%s/max_brightness", l->dir) < 0 ||
                asprintf(&l->brightness_path, "%s/brightness", l->dir) < 0)
                return -ENOMEM;
        if (stat(l->dir, &st) < 0)
                log_warning_errno(errno, "Property %s: LED %s is not available, each write tries again: %m",
                        b->identifier, l->dir);
        return 0;
}

static void led_free(Binding *b)
{
        LedState *l = b->data;

        if (!l)
                return;
        free(l->dir);
        free(l->max_path);
        free(l->brightness_path);
        free(l);
        b->data = NULL;
}

static int brightness_to_value(Binding *b, uint64_t brightness, uint64_t max, struct json_object **ret)
{
        double x;

        if (b->type.kind == TSL_TYPE_BOOL)
                x = brightness > 0;
        else if (ranged(b))
                x = b->type.min + (b->type.max - b->type.min) * (double) MIN(brightness, max) / (double) max;
        else
                x = (double) brightness;
        return binding_value_from_double(&b->type, x, ret);
}

/* max_brightness: 0, or a negative errno (-ERANGE: one that cannot be driven). */
static int read_max(LedState *l, uint64_t *ret)
{
        int r = sysfs_read_u64(l->max_path, ret);

        if (r < 0)
                return r;
        return *ret == 0 || *ret > UINT32_MAX ? -ERANGE : 0;
}

static int led_write(Binding *b, struct json_object *value, struct json_object **ret_actual)
{
        LedState *l = b->data;
        uint64_t max, brightness, got;
        double v;
        int r;

        *ret_actual = NULL;
        if (binding_value_to_double(value, &v) < 0) {
                log_warning("Property %s: the value is not a number", b->identifier);
                return BINDING_CODE_WRITE_FAILED;
        }
        r = read_max(l, &max);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                if (r == -ENOENT)
                        log_debug_errno(
                                r, "Property %s: LED %s is not available: %m", b->identifier, l->dir);
                else
                        log_warning_errno(r, "Property %s: cannot read a usable max_brightness from %s: %m",
                                b->identifier, l->max_path);
                return BINDING_CODE_UNAVAILABLE;
        }
        if (b->type.kind == TSL_TYPE_BOOL)
                brightness = v != 0 ? max : 0;
        else if (ranged(b))
                brightness = MIN(binding_round_u64((double) max * binding_range_fraction(&b->type, v)), max);
        else
                brightness = MIN(binding_round_u64(v), max);

        r = sysfs_write_u64(l->brightness_path, brightness);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning_errno(r, "Property %s: cannot write %" PRIu64 " to %s: %m", b->identifier,
                        brightness, l->brightness_path);
                return BINDING_CODE_WRITE_FAILED;
        }
        r = sysfs_read_u64(l->brightness_path, &got);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                log_warning_errno(
                        r, "Property %s: cannot read back %s: %m", b->identifier, l->brightness_path);
                return BINDING_CODE_READBACK_DIFFERS;
        }
        r = brightness_to_value(b, got, max, ret_actual);
        if (r == -ENOMEM)
                return r;
        if (got != brightness) {
                log_warning("Property %s: %s reads back %" PRIu64 " instead of %" PRIu64, b->identifier,
                        l->brightness_path, got, brightness);
                return BINDING_CODE_READBACK_DIFFERS;
        }
        return 200;
}

static int led_read(Binding *b, struct json_object **ret)
{
        LedState *l = b->data;
        uint64_t max, got;
        int r;

        r = read_max(l, &max);
        if (r >= 0)
                r = sysfs_read_u64(l->brightness_path, &got);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return -ENODATA;
        r = brightness_to_value(b, got, max, ret);
        return r == -ERANGE ? -ENODATA : r;
}

const BindingOps binding_led_ops = {
        .open = led_open,
        .free = led_free,
        .write = led_write,
        .read = led_read,
};
