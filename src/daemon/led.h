/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led.h: the RGB light's property model and the backend that applies it.
 *
 * Owns the light's current state (switch, colour, brightness) and the thing-model identifiers the cloud
 * uses for them. A change is applied as a whole: validate first (alink.c does that against LedModel), then
 * led_apply(), which writes, reads back and returns the state actually applied. Backends: "none" keeps the
 * state in memory and logs it (simulated LEDs, for demos and until hardware is configured). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

typedef struct Led Led;

/* Device-defined Alink reply codes (ALINK-PROTOCOL.md §2.10 allows 100000-110000). */
enum {
        LED_CODE_WRITE_FAILED = 100001,    /* the hardware could not be written */
        LED_CODE_READBACK_DIFFERS = 100002, /* written, but reading back gave another state */
        LED_CODE_UNAVAILABLE = 100003,     /* the hardware could not be opened */
};

typedef struct LedState {
        bool on;
        uint8_t red, green, blue;
        uint8_t brightness; /* 0..100 */
} LedState;

#define LED_STATE_INIT ((LedState) { .on = false, .brightness = 100 })

/* The thing-model identifiers; NULL brightness means the product has no such property. */
typedef struct LedModel {
        char *switch_property;     /* "LightSwitch", 0|1 */
        char *color_property;      /* "RGBColor", struct {Red,Green,Blue} 0..255 */
        char *brightness_property; /* e.g. "Brightness", 0..100, or NULL */
} LedModel;

/* Which fields of a LedState a request sets. */
typedef struct LedChange {
        bool set_on, set_red, set_green, set_blue, set_brightness;
        LedState value;
} LedChange;

typedef enum LedBackend {
        LED_BACKEND_NONE,
        _LED_BACKEND_MAX,
        _LED_BACKEND_INVALID = -22,
} LedBackend;

const char *led_backend_to_string(LedBackend b);
LedBackend led_backend_from_string(const char *s);

void led_change_apply(const LedChange *c, LedState *s);
bool led_state_equal(const LedState *a, const LedState *b);

int led_new(Led **ret, LedBackend backend, const LedState *initial);
Led *led_free(Led *l);
/* Applies want; *ret_actual receives the state read back. Returns 0 when it equals want, a positive
 * LED_CODE_* when the hardware failed or differs, negative errno on internal errors. */
int led_apply(Led *l, const LedState *want, LedState *ret_actual);
const LedState *led_get_state(const Led *l);
