/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led.h: the RGB light: its current state, its backend, and its saved state.
 *
 * Owns the light's current state (switch, colour, brightness; the types are in led-model.h), the hardware
 * backend that shows it, and the state file that carries it across restarts. A
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

#include "led-model.h"
#include "macro.h"

typedef struct Led Led;

/* Copies config. state_directory (which the caller made) holds LED_STATE_FILE; NULL keeps no state. The
 * state saved there, if any, becomes the current state; the hardware is not touched until led_restore()
 * or led_apply(). */
int led_new(Led **ret, const LedConfig *config, const char *state_directory);
/* Saves a pending state and releases the hardware (GPIO lines go back to the kernel). Does not apply
 * on_exit: see led_stop(). */
Led *led_free(Led *l);
DEFINE_TRIVIAL_CLEANUP_FUNC(Led *, led_free);

/* At start: shows the current (restored) state on the hardware. Same returns as led_apply(). */
int led_restore(Led *l, LedState *ret_actual);
/* Applies want; *ret_actual receives the state read back. Returns 0 when it equals want, a positive
 * LED_CODE_* when the hardware failed or differs, negative errno on internal errors. The state actually
 * shown becomes the current state, to be saved by led_save(). */
int led_apply(Led *l, const LedState *want, LedState *ret_actual);
/* Whether the current state differs from the one last saved. */
bool led_needs_save(const Led *l);
/* Saves the current state (atomically: a temporary file, fsync, rename) when it needs saving. The owner
 * calls it a moment after a change, so that a burst of changes costs one disk flush, not one each;
 * led_free() calls it too. Logs a failure; returns 0 or negative errno. */
int led_save(Led *l);
/* At a clean stop: on_exit=off switches the light off (without saving that), keep leaves it. */
int led_stop(Led *l);
const LedState *led_get_state(const Led *l);

/* --- For the backends (led-gpio.c, led-pwm.c, led-class.c) --- */

/* The channels' names, in the order of every three-element array here: red, green, blue. */
extern const char *const led_color_names[3];

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
bool led_readback_to_state(
        const LedReadback *rb, const LedState *want, const LedState *current, LedState *ret_actual);
