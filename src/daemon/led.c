/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led.c: RGB light state and the "none" (simulated) backend. */
#include <stdlib.h>
#include <strings.h>

#include "led.h"
#include "log.h"
#include "macro.h"

struct Led {
        LedBackend backend;
        LedState state;
};

static const char *const backend_names[_LED_BACKEND_MAX] = {
        [LED_BACKEND_NONE] = "none",
};

const char *led_backend_to_string(LedBackend b)
{
        if (b < 0 || b >= _LED_BACKEND_MAX)
                return NULL;
        return backend_names[b];
}

LedBackend led_backend_from_string(const char *s)
{
        for (int i = 0; s && i < _LED_BACKEND_MAX; i++)
                if (streq(s, backend_names[i]))
                        return i;
        return _LED_BACKEND_INVALID;
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

int led_new(Led **ret, LedBackend backend, const LedState *initial)
{
        Led *l;

        if (!ret || backend < 0 || backend >= _LED_BACKEND_MAX)
                return -EINVAL;
        l = calloc(1, sizeof(*l));
        if (!l)
                return -ENOMEM;
        l->backend = backend;
        l->state = initial ? *initial : LED_STATE_INIT;
        *ret = l;
        return 0;
}

Led *led_free(Led *l)
{
        free(l);
        return NULL;
}

int led_apply(Led *l, const LedState *want, LedState *ret_actual)
{
        if (!l || !want)
                return -EINVAL;

        switch (l->backend) {
        case LED_BACKEND_NONE:
                /* Simulated: the state is what we keep. Say what a real light would show. */
                l->state = *want;
                log_info("LED (simulated): %s, colour #%02x%02x%02x (%u,%u,%u), brightness %u%%",
                        want->on ? "on" : "off", want->red, want->green, want->blue, want->red, want->green,
                        want->blue, want->brightness);
                break;
        default:
                return -EINVAL;
        }

        if (ret_actual)
                *ret_actual = l->state;
        return led_state_equal(&l->state, want) ? 0 : LED_CODE_READBACK_DIFFERS;
}

const LedState *led_get_state(const Led *l)
{
        return &l->state;
}
