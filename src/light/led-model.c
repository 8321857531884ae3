/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led-model.c: the light's values, names, settings and state file. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs-util.h"
#include "led-model.h"
#include "macro.h"
#include "string-table.h"
#include "string-util.h"

static const char *const led_backend_table[_LED_BACKEND_MAX] = {
        [LED_BACKEND_NONE] = "none",
        [LED_BACKEND_GPIO] = "gpio",
        [LED_BACKEND_PWM] = "pwm",
        [LED_BACKEND_LEDCLASS] = "ledclass",
};

static const char *const led_on_exit_table[_LED_ON_EXIT_MAX] = {
        [LED_ON_EXIT_KEEP] = "keep",
        [LED_ON_EXIT_OFF] = "off",
};

DEFINE_STRING_TABLE(led_backend, LedBackend);
DEFINE_STRING_TABLE(led_on_exit, LedOnExit);

void led_config_done(LedConfig *c)
{
        free(c->chip);
        c->lines = strv_free(c->lines);
        c->leds = strv_free(c->leds);
        free(c->sysfs_root);
        *c = (LedConfig){};
}

int led_config_copy(LedConfig *dst, const LedConfig *src)
{
        LedConfig c = *src;

        c.chip = c.sysfs_root = NULL;
        c.lines = c.leds = NULL;
        if (free_and_strdup(&c.chip, src->chip) < 0 || free_and_strdup(&c.sysfs_root, src->sysfs_root) < 0 ||
                strv_copy(src->lines, &c.lines) < 0 || strv_copy(src->leds, &c.leds) < 0) {
                led_config_done(&c);
                return -ENOMEM;
        }
        *dst = c;
        return 0;
}

bool led_config_equal(const LedConfig *a, const LedConfig *b)
{
        return a->backend == b->backend && a->on_exit == b->on_exit && streq_ptr(a->chip, b->chip) &&
               strv_equal(a->lines, b->lines) && a->active_low == b->active_low &&
               a->threshold == b->threshold && memcmp(a->channels, b->channels, sizeof(a->channels)) == 0 &&
               a->period_ns == b->period_ns && a->gamma == b->gamma && strv_equal(a->leds, b->leds) &&
               streq_ptr(a->sysfs_root, b->sysfs_root);
}

void led_change_apply(const LedChange *c, LedState *s)
{
        if (c->set_on)
                s->on = c->value.on;
        if (c->set_red)
                s->red = c->value.red;
        if (c->set_green)
                s->green = c->value.green;
        if (c->set_blue)
                s->blue = c->value.blue;
        if (c->set_brightness)
                s->brightness = c->value.brightness;
}

bool led_state_equal(const LedState *a, const LedState *b)
{
        return a->on == b->on && a->red == b->red && a->green == b->green && a->blue == b->blue &&
               a->brightness == b->brightness;
}

char *led_state_to_string(const LedState *s)
{
        char *t;

        if (asprintf(&t, "%s, colour #%02x%02x%02x (%u,%u,%u), brightness %u%%", s->on ? "on" : "off",
                    s->red, s->green, s->blue, s->red, s->green, s->blue, s->brightness) < 0)
                return NULL;
        return t;
}

/* --- the state file --- */

int led_state_load(const char *path, LedState *ret)
{
        _cleanup_(fclosep) FILE *f = NULL;
        _cleanup_(freep) char *line = NULL;
        static const char *const keys[] = {"on", "red", "green", "blue", "brightness"};
        uint64_t v[ELEMENTSOF(keys)];
        bool seen[ELEMENTSOF(keys)] = {};
        size_t allocated = 0, lines = 0;
        ssize_t n;

        int r = fopen_state_file(path, &f);
        if (r < 0)
                return r;
        while ((n = getline(&line, &allocated, f)) >= 0) {
                const char *eq;
                size_t i;

                /* A handful of short lines; anything else is not our file. */
                if (++lines > 16 || n > 64)
                        return -EBADMSG;
                line[strcspn(line, "\n")] = 0;
                if (isempty(line))
                        continue;
                eq = strchr(line, '=');
                if (!eq)
                        return -EBADMSG;
                for (i = 0; i < ELEMENTSOF(keys); i++)
                        if (strlen(keys[i]) == (size_t) (eq - line) &&
                                strncmp(line, keys[i], eq - line) == 0)
                                break;
                if (i == ELEMENTSOF(keys) || seen[i])
                        return -EBADMSG;
                if (safe_atou64_range(eq + 1, 0, i == 0 ? 1 : i == 4 ? 100 : 255, &v[i]) < 0)
                        return -EBADMSG;
                seen[i] = true;
        }
        if (ferror(f))
                return -EIO;
        for (size_t i = 0; i < ELEMENTSOF(keys); i++)
                if (!seen[i])
                        return -EBADMSG;
        *ret = (LedState){
                .on = v[0],
                .red = (uint8_t) v[1],
                .green = (uint8_t) v[2],
                .blue = (uint8_t) v[3],
                .brightness = (uint8_t) v[4],
        };
        return 0;
}

int led_state_save(const char *path, const LedState *s)
{
        _cleanup_(freep) char *text = NULL;

        if (asprintf(&text, "on=%d\nred=%u\ngreen=%u\nblue=%u\nbrightness=%u\n", s->on, s->red, s->green,
                    s->blue, s->brightness) < 0)
                return -ENOMEM;
        return write_file_atomic(path, text, 0644);
}
