/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* led-json.h: the light's properties in Alink JSON, by its thing model (LedModel).
 *
 * The codec (alink.h) reads and writes the envelope of any product's messages; this maps the params object
 * of a property set onto a LedChange, and a LedState onto the params of a property post: the switch (0|1),
 * the colour struct {Red, Green, Blue} (0..255 each) and, when the model has one, the brightness (0..100).
 * Property names come from the model ([led] in the configuration), the struct members are fixed. Pure. */
#pragma once

#include "led-model.h"

struct json_object;

/* 0 with *ret, or ALINK_E_INVALID with *ret_error naming the property and the problem (an unknown property,
 * a wrong type, a value out of range), or negative errno. */
int led_change_from_params(
        const LedModel *model, struct json_object *params, LedChange *ret, char **ret_error);
/* Every property of the model with the values of state, as a new JSON object (the caller owns the
 * reference); -ENOMEM. */
int led_params_new(const LedModel *model, const LedState *state, struct json_object **ret);
