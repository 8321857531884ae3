/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led-model.h: what the light is, apart from any hardware: its state, its thing model, its settings.
 *
 * Pure values and functions (plus the state file), so that the configuration parser, the Alink parsers,
 * the CLI and the fuzzers can use them without pulling in the backends (led.h) and their libraries. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

/* Device-defined Alink reply codes (device-defined codes are 100000-110000,
 * https://www.alibabacloud.com/help/doc-detail/89309.html). */
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

#define LED_STATE_INIT ((LedState){.on = false, .brightness = 100})

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
