/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led-class.c: kernel LED class devices, multicolor or three single LEDs. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "led-class.h"
#include "log.h"
#include "macro.h"
#include "string-util.h"
#include "sysfs-util.h"

/* A multicolor LED has a handful of channels; more is not an LED we can drive. */
#define LED_CLASS_MAX_CHANNELS 16

struct LedClass {
        const LedConfig *config; /* borrowed from the Led */
        char *dirs[3];           /* one multicolor LED, or red, green, blue */
        size_t n_dirs;
};

int led_class_new(LedClass **ret, const LedConfig *config)
{
        _cleanup_(led_class_freep) LedClass *c = NULL;
        size_t n = strv_length(config->leds);

        if (n != 1 && n != 3)
                return -EINVAL;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->config = config;
        for (size_t i = 0; i < n; i++) {
                if (asprintf(&c->dirs[i], "%s/class/leds/%s", config->sysfs_root ?: LED_DEFAULT_SYSFS_ROOT,
                            config->leds[i]) < 0) {
                        c->dirs[i] = NULL;
                        return -ENOMEM;
                }
                c->n_dirs++;
        }
        *ret = TAKE_PTR(c);
        return 0;
}

LedClass *led_class_free(LedClass *c)
{
        if (!c)
                return NULL;
        for (size_t i = 0; i < c->n_dirs; i++)
                free(c->dirs[i]);
        free(c);
        return NULL;
}

/* max * num / den, rounded half up. All factors are small (max_brightness is bounded below). */
static uint64_t scale(uint64_t max, uint64_t num, uint64_t den)
{
        return (max * num + den / 2) / den;
}

static char *attr_path(const char *dir, const char *attr)
{
        char *s;

        if (asprintf(&s, "%s/%s", dir, attr) < 0)
                return NULL;
        return s;
}

/* Reads dir/attr as a number; logs (naming the path) when it cannot. */
static int read_number(const char *dir, const char *attr, uint64_t *ret)
{
        _cleanup_(freep) char *path = attr_path(dir, attr);
        int r;

        if (!path)
                return -ENOMEM;
        r = sysfs_read_u64(path, ret);
        if (r < 0 && r != -ENOMEM)
                led_log_fault(r, "Cannot read %s", path);
        return r;
}

static int write_value(const char *dir, const char *attr, const char *value)
{
        _cleanup_(freep) char *path = attr_path(dir, attr);
        int r;

        if (!path)
                return -ENOMEM;
        r = sysfs_write(path, value);
        if (r < 0) {
                if (r == -ENOMEM)
                        return r;
                return led_log_fault(r, "Cannot write \"%s\" to %s", value, path);
        }
        log_debug("%s = %s", path, value);
        return 0;
}

/* max_brightness, checked: the LED is there and can be driven. LED_CODE_UNAVAILABLE (logged) if not. */
static int led_open(const char *dir, const char *name, uint64_t *ret_max)
{
        struct stat st;
        int r;

        if (stat(dir, &st) < 0) {
                led_log_fault(errno, "LED %s is not available (%s)", name, dir);
                return LED_CODE_UNAVAILABLE;
        }
        r = read_number(dir, "max_brightness", ret_max);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                return LED_CODE_UNAVAILABLE;
        /* The kernel keeps brightness in an unsigned int; bounding it keeps our products in 64 bits. */
        if (*ret_max == 0 || *ret_max > UINT32_MAX) {
                log_warning("LED %s has max_brightness %" PRIu64 ", which cannot be driven", name, *ret_max);
                return LED_CODE_UNAVAILABLE;
        }
        return 0;
}

static int apply_multicolor(LedClass *c, const LedState *want, const LedState *current, LedState *ret_actual)
{
        const char *dir = c->dirs[0], *name = c->config->leds[0];
        const uint8_t values[3] = {want->red, want->green, want->blue};
        _cleanup_(strv_freep) char **index = NULL;
        _cleanup_(freep) char *index_text = NULL, *path = NULL, *intensity_text = NULL, *read_text = NULL;
        uint64_t max, brightness, intensity[LED_CLASS_MAX_CHANNELS] = {}, got[LED_CLASS_MAX_CHANNELS],
                                  got_brightness;
        size_t pos[3], n, len = 0;
        LedReadback rb = {};
        bool write_failed = false;
        char number[sizeof(uint64_t) * 3 + 1];
        int r;

        r = led_open(dir, name, &max);
        if (r != 0)
                return r;
        path = attr_path(dir, "multi_index");
        if (!path)
                return -ENOMEM;
        r = sysfs_read(path, &index_text);
        if (r == -ENOMEM)
                return r;
        if (r < 0) {
                led_log_fault(r, "Cannot read %s (is %s a multicolor LED?)", path, name);
                return LED_CODE_UNAVAILABLE;
        }
        if (strv_split(index_text, " \t\n", &index) < 0)
                return -ENOMEM;
        n = strv_length(index);
        if (n == 0 || n > LED_CLASS_MAX_CHANNELS) {
                log_warning("LED %s has %zu channels in %s, which cannot be driven", name, n, path);
                return LED_CODE_UNAVAILABLE;
        }
        for (size_t i = 0; i < 3; i++) {
                for (pos[i] = 0; pos[i] < n; pos[i]++)
                        if (streq(index[pos[i]], led_color_names[i]))
                                break;
                if (pos[i] == n) {
                        log_warning("LED %s has no %s channel (multi_index: %s)", name, led_color_names[i],
                                index_text);
                        return LED_CODE_UNAVAILABLE;
                }
        }

        /* Intensities in multi_index order: red, green and blue scaled to max_brightness, the rest dark. */
        for (size_t i = 0; i < 3; i++)
                intensity[pos[i]] = scale(max, values[i], 255);
        intensity_text = malloc(n * sizeof(number));
        if (!intensity_text)
                return -ENOMEM;
        for (size_t k = 0; k < n; k++)
                len += (size_t) sprintf(intensity_text + len, "%s%" PRIu64, k > 0 ? " " : "", intensity[k]);
        brightness = want->on ? scale(max, want->brightness, 100) : 0;
        (void) snprintf(number, sizeof(number), "%" PRIu64, brightness);

        /* multi_intensity first: the kernel computes each channel from it when brightness is written. */
        r = write_value(dir, "multi_intensity", intensity_text);
        if (r == -ENOMEM)
                return r;
        write_failed = r < 0;
        r = write_value(dir, "brightness", number);
        if (r == -ENOMEM)
                return r;
        write_failed = write_failed || r < 0;

        free(path);
        path = attr_path(dir, "multi_intensity");
        if (!path)
                return -ENOMEM;
        r = sysfs_read(path, &read_text);
        if (r == -ENOMEM)
                return r;
        if (r < 0)
                led_log_fault(r, "Cannot read back %s", path);
        else if (sysfs_parse_u64_list(read_text, got, n) != (int) n) {
                log_warning("Cannot read back %s: \"%s\" is not %zu numbers", path, read_text, n);
                r = -EBADMSG;
        }
        if (r >= 0)
                r = read_number(dir, "brightness", &got_brightness);
        if (r == -ENOMEM)
                return r;
        if (r >= 0) {
                for (size_t i = 0; i < 3; i++) {
                        rb.known[i] = true;
                        rb.matches[i] = got[pos[i]] == intensity[pos[i]] && got_brightness == brightness;
                        rb.lit[i] = got[pos[i]] > 0 && got_brightness > 0;
                        rb.value[i] = (uint8_t) MIN(scale(255, got[pos[i]], max), (uint64_t) 255);
                }
                if (got_brightness != brightness)
                        log_warning("LED %s reads back brightness %" PRIu64 " instead of %" PRIu64, name,
                                got_brightness, brightness);
                else if (!(rb.matches[0] && rb.matches[1] && rb.matches[2]))
                        log_warning("LED %s reads back multi_intensity \"%s\" instead of \"%s\"", name,
                                read_text, intensity_text);
        }

        if (led_readback_to_state(&rb, want, current, ret_actual))
                return 0;
        if (rb.known[0] && got_brightness != brightness && got_brightness > 0)
                ret_actual->brightness = (uint8_t) MIN(scale(100, got_brightness, max), (uint64_t) 100);
        return write_failed ? LED_CODE_WRITE_FAILED : LED_CODE_READBACK_DIFFERS;
}

static int apply_single(LedClass *c, const LedState *want, const LedState *current, LedState *ret_actual)
{
        const uint8_t values[3] = {want->red, want->green, want->blue};
        uint64_t max[3], brightness[3];
        LedReadback rb = {};
        bool write_failed = false;
        int r;

        for (size_t i = 0; i < 3; i++) {
                r = led_open(c->dirs[i], c->config->leds[i], &max[i]);
                if (r != 0)
                        return r;
        }

        for (size_t i = 0; i < 3; i++) {
                char number[sizeof(uint64_t) * 3 + 1];

                brightness[i] =
                        want->on ? scale(max[i], (uint64_t) values[i] * want->brightness, 255 * 100) : 0;
                (void) snprintf(number, sizeof(number), "%" PRIu64, brightness[i]);
                r = write_value(c->dirs[i], "brightness", number);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        write_failed = true;
        }

        for (size_t i = 0; i < 3; i++) {
                uint64_t got;

                r = read_number(c->dirs[i], "brightness", &got);
                if (r == -ENOMEM)
                        return r;
                if (r < 0)
                        continue;
                rb.known[i] = true;
                rb.matches[i] = got == brightness[i];
                rb.lit[i] = got > 0;
                rb.value[i] = want->brightness == 0
                                      ? 255
                                      : (uint8_t) MIN(scale(255 * 100, got, max[i] * want->brightness),
                                                (uint64_t) 255);
                if (!rb.matches[i])
                        log_warning("LED %s (%s) reads back brightness %" PRIu64 " instead of %" PRIu64,
                                c->config->leds[i], led_color_names[i], got, brightness[i]);
        }

        if (led_readback_to_state(&rb, want, current, ret_actual))
                return 0;
        return write_failed ? LED_CODE_WRITE_FAILED : LED_CODE_READBACK_DIFFERS;
}

int led_class_apply(LedClass *c, const LedState *want, const LedState *current, LedState *ret_actual)
{
        *ret_actual = *current;
        return c->n_dirs == 1 ? apply_multicolor(c, want, current, ret_actual)
                              : apply_single(c, want, current, ret_actual);
}
