/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led.h: the RGB light's property model, its backends, and its saved state.
 *
 * Owns the light's current state (switch, colour, brightness), the thing-model identifiers the cloud uses
 * for them, the hardware backend that shows it, and the state file that carries it across restarts. A
 * change is applied as a whole: validate first (alink.c does that against LedModel), then led_apply(), which
 * writes, reads back and returns the state actually applied. The caller (the Manager) answers the cloud.
 *
 * Backends, one module each, chosen by [led] backend=:
 *   none      state kept in memory and logged (simulated LEDs, for demos and until hardware is configured);
 *   gpio      three GPIO lines through libgpiod 2 (led-gpio.h), a channel is lit or dark;
 *   pwm       three sysfs PWM channels (led-pwm.h), duty cycle with gamma correction;
 *   ledclass  kernel LED class devices (led-class.h), one multicolor LED or three single ones.
 * A backend opens its hardware on the first change and, after a fault, again on the next one: a missing
 * chip, a busy line or a permission problem is logged once per attempt (naming the chip, line or path and
 * the user), answered with a device error code, and never stops the daemon.
 *
 * The equality that decides the answer is on the hardware's own levels (line values, duty cycles,
 * intensities): when they read back as written, the light shows the requested state at the backend's
 * resolution and *ret_actual is that state; otherwise *ret_actual is what the read-back levels mean. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "macro.h"

typedef struct Led Led;

/* Device-defined Alink reply codes (ALINK-PROTOCOL.md §2.10 allows 100000-110000). */
enum {
        LED_CODE_WRITE_FAILED = 100001,     /* the hardware could not be written */
        LED_CODE_READBACK_DIFFERS = 100002, /* written, but reading back gave another state (or nothing) */
        LED_CODE_UNAVAILABLE = 100003,      /* the hardware could not be opened */
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
        LED_BACKEND_GPIO,
        LED_BACKEND_PWM,
        LED_BACKEND_LEDCLASS,
        _LED_BACKEND_MAX,
        _LED_BACKEND_INVALID = -22,
} LedBackend;

typedef enum LedOnExit {
        LED_ON_EXIT_KEEP, /* leave the light as it is when the daemon stops */
        LED_ON_EXIT_OFF,  /* switch it off (the saved state keeps the switch as it was) */
        _LED_ON_EXIT_MAX,
        _LED_ON_EXIT_INVALID = -22,
} LedOnExit;

#define LED_DEFAULT_GPIO_CHIP "gpiochip0"
#define LED_DEFAULT_GPIO_LINES "17,27,22"
#define LED_DEFAULT_PWM_CHIP "pwmchip0"
#define LED_DEFAULT_THRESHOLD 128
#define LED_DEFAULT_PERIOD_NS 1000000
#define LED_DEFAULT_GAMMA 2.2
#define LED_DEFAULT_SYSFS_ROOT "/sys"
#define LED_STATE_FILE "led-state"

/* [led] settings: conf.c fills them (with the defaults above) and checks them against each other. */
typedef struct LedConfig {
        LedBackend backend;
        LedOnExit on_exit;
        char *chip;           /* gpio: name, /dev path or label; pwm: pwmchipN */
        char **lines;         /* gpio: red, green, blue as offsets or line names */
        bool active_low;      /* gpio: a lit channel drives its line low */
        uint8_t threshold;    /* gpio: a channel is lit when its colour value is >= threshold (1..255) */
        unsigned channels[3]; /* pwm: red, green, blue channel numbers */
        uint64_t period_ns;   /* pwm */
        double gamma;         /* pwm: duty = period * (value/255)^gamma * brightness/100 */
        char **leds;          /* ledclass: one multicolor LED, or red, green, blue single LEDs */
        char *sysfs_root;     /* pwm, ledclass: "/sys", or a prepared tree */
} LedConfig;

const char *led_backend_to_string(LedBackend b);
LedBackend led_backend_from_string(const char *s);
const char *led_on_exit_to_string(LedOnExit e);
LedOnExit led_on_exit_from_string(const char *s);

void led_config_done(LedConfig *c);
int led_config_copy(LedConfig *dst, const LedConfig *src);
bool led_config_equal(const LedConfig *a, const LedConfig *b);

void led_change_apply(const LedChange *c, LedState *s);
bool led_state_equal(const LedState *a, const LedState *b);
/* "on, colour #ff0080 (255,0,128), brightness 100%"; malloc'ed, NULL on OOM. */
char *led_state_to_string(const LedState *s);

/* The state file: "on=1 red=255 green=0 blue=128 brightness=100", one key per line. Load returns
 * -ENOENT when there is none, -EBADMSG when it cannot be read as a state; save writes a temporary file,
 * fsyncs and renames it over the old one, so a crash leaves the old or the new state, never a mix. */
int led_state_load(const char *path, LedState *ret);
int led_state_save(const char *path, const LedState *s);

/* Copies config. state_directory (created when missing) holds LED_STATE_FILE; NULL keeps no state. The
 * state saved there, if any, becomes the current state; the hardware is not touched until led_restore()
 * or led_apply(). */
int led_new(Led **ret, const LedConfig *config, const char *state_directory);
/* Releases the hardware (GPIO lines go back to the kernel). Does not apply on_exit: see led_stop(). */
Led *led_free(Led *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Led *, led_free);

/* At start: shows the current (restored) state on the hardware. Same returns as led_apply(). */
int led_restore(Led *l, LedState *ret_actual);
/* Applies want; *ret_actual receives the state read back. Returns 0 when it equals want, a positive
 * LED_CODE_* when the hardware failed or differs, negative errno on internal errors. The state actually
 * shown becomes the current state and is saved. */
int led_apply(Led *l, const LedState *want, LedState *ret_actual);
/* At a clean stop: on_exit=off switches the light off (without saving that), keep leaves it. */
int led_stop(Led *l);
const LedState *led_get_state(const Led *l);
const LedConfig *led_get_config(const Led *l);

/* --- For the backends (led-gpio.c, led-pwm.c, led-class.c) --- */

/* Logs one warning line "MESSAGE: strerror(error)", adding "as user NAME (uid N)" when the error is a
 * permission problem, so the log says who was refused. Returns -abs(error). */
int led_log_fault(int error, const char *format, ...) _printf_(2, 3);

/* What reading a light's three channels (red, green, blue) back gave. */
typedef struct LedReadback {
        bool known[3];    /* the channel could be read */
        bool matches[3];  /* it reads back as written */
        bool lit[3];      /* it gives light */
        uint8_t value[3]; /* the colour value its level means, when lit */
} LedReadback;

/* The state the light shows: want where the channels read back as written, the read-back meaning where
 * they do not, and current (what it showed before) for channels that could not be read. Returns true when
 * every channel matched. */
bool led_readback_to_state(const LedReadback *rb, const LedState *want, const LedState *current,
                LedState *ret_actual);
