/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led-class.h: the RGB light as kernel LED class devices (SYSFS_ROOT/class/leds/NAME).
 *
 * Owns nothing but paths. Two shapes, by the number of names in [led] leds:
 *   one name    a multicolor LED (Documentation/leds/leds-class-multicolor.rst): multi_index gives the
 *               order of its channels; red, green and blue scaled to max_brightness are written to
 *               multi_intensity (other channels get 0), then the brightness, brightness/100 of
 *               max_brightness (0 when switched off);
 *   three names single LEDs for red, green and blue: each gets max_brightness * value/255 *
 *               brightness/100 (0 when switched off).
 * Every change reads max_brightness (and multi_index) afresh, writes, and reads multi_intensity and
 * brightness back. The LEDs keep their last brightness when the daemon stops.
 *
 * The LedConfig is borrowed from the Led and must outlive the LedClass. */
#pragma once

#include "led.h"

typedef struct LedClass LedClass;

int led_class_new(LedClass **ret, const LedConfig *config);
LedClass *led_class_free(LedClass *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(LedClass *, led_class_free);
/* As led_apply(); current is what the light showed so far, the answer for channels that cannot be read. */
int led_class_apply(LedClass *c, const LedState *want, const LedState *current, LedState *ret_actual);
