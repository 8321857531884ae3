/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led-pwm.h: the RGB light on three channels of a sysfs PWM chip.
 *
 * Owns nothing but paths: SYSFS_ROOT/class/pwm/CHIP/pwmN for the configured red, green and blue channels.
 * Every change checks the chip, exports a channel only when its directory is absent, and writes in the
 * order the kernel requires: period before duty_cycle (duty_cycle first only when the old duty cycle would
 * exceed the new period, so duty_cycle <= period holds after every write), then enable. The duty cycle is
 * period * (value/255)^gamma * brightness/100, rounded to the nearest nanosecond (exactly proportional with
 * gamma 1); switched off, every duty cycle is 0 and the channels stay enabled. Then period, duty_cycle and
 * enable are read back. Channels stay exported and as they are when the daemon stops.
 *
 * The LedConfig is borrowed from the Led and must outlive the LedPwm. Nothing blocks but sysfs itself. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "led.h"

typedef struct LedPwm LedPwm;

int led_pwm_new(LedPwm **ret, const LedConfig *config);
LedPwm *led_pwm_free(LedPwm *p);
/* As led_apply(); current is what the light showed so far, the answer for channels that cannot be read. */
int led_pwm_apply(LedPwm *p, const LedState *want, const LedState *current, LedState *ret_actual);

/* The duty cycle of one channel (pure). */
uint64_t led_pwm_duty(uint64_t period_ns, double gamma, bool on, uint8_t value, uint8_t brightness);
/* The colour value a duty cycle means at that brightness (the inverse, rounded; 255 at most). */
uint8_t led_pwm_value(uint64_t period_ns, double gamma, uint64_t duty_ns, uint8_t brightness);
