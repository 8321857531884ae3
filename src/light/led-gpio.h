/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led-gpio.h: the RGB light on three GPIO lines, through libgpiod 2.
 *
 * The only module that includes gpiod.h. Owns one line request for the three lines (red, green, blue),
 * consumer "ali-linkd", outputs, active-low when configured. The chip is found by name ("gpiochip0", the
 * device in /dev), by path ("/dev/gpiochip0") or by label (the one whose label matches, looking through
 * /dev/gpiochip*); a line by offset ("17") or by name ("LED_RED"). A channel is lit when the switch is on
 * and its colour value is >= threshold; brightness has no effect on a line that is only high or low.
 *
 * The request is made on the first change (its initial values are that change's, so nothing flickers)
 * and kept; the chip itself is closed once the lines are requested. When the chip is missing, a line is
 * busy (the log names who holds it) or the device is not ours to open (the log names the user), the
 * change is answered LED_CODE_UNAVAILABLE and the next change tries again; after a failed write or read
 * the request is dropped and made again by the next change. Lines are released by led_gpio_free(); what
 * a released line does is up to the GPIO driver (most keep the last value, gpio-sim returns to its pull).
 *
 * The LedConfig is borrowed from the Led and must outlive the LedGpio. */
#pragma once

#include "led.h"

typedef struct LedGpio LedGpio;

int led_gpio_new(LedGpio **ret, const LedConfig *config);
LedGpio *led_gpio_free(LedGpio *g);
/* As led_apply(); current is what the light showed so far, the answer when nothing can be read. */
int led_gpio_apply(LedGpio *g, const LedState *want, const LedState *current, LedState *ret_actual);
