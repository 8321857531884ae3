/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>

#include "alink.h"
#include "led-json.h"
#include "macro.h"
#include "string-util.h"

static int parse_color(json_object *v, const char *name, LedChange *c, char **ret_error)
{
        static const char *const members[] = {"Red", "Green", "Blue"};
        bool *set[] = {&c->set_red, &c->set_green, &c->set_blue};
        uint8_t *val[] = {&c->value.red, &c->value.green, &c->value.blue};
        bool any = false;

        if (!json_object_is_type(v, json_type_object)) {
                _cleanup_(freep) char *d = alink_json_describe(v);
                return alink_json_error(ret_error,
                        "%s: expected an object {\"Red\":0..255,\"Green\":0..255,\"Blue\":0..255}, got %s",
                        name, strna(d));
        }

        json_object_object_foreach(v, key, member)
        {
                _cleanup_(freep) char *what = NULL;
                size_t i;
                int64_t x;
                int r;

                for (i = 0; i < ELEMENTSOF(members); i++)
                        if (streq(key, members[i]))
                                break;
                if (i >= ELEMENTSOF(members))
                        return alink_json_error(ret_error,
                                "%s has no member \"%.64s\" (expected Red, Green, Blue)", name, key);
                if (asprintf(&what, "%s.%s", name, key) < 0)
                        return -ENOMEM;
                r = alink_json_get_uint(member, what, 0, 255, &x, ret_error);
                if (r != 0)
                        return r;
                *set[i] = true;
                *val[i] = (uint8_t) x;
                any = true;
        }
        if (!any)
                return alink_json_error(ret_error, "%s: expected at least one of Red, Green, Blue", name);
        return 0;
}

int led_change_from_params(
        const LedModel *model, struct json_object *params, LedChange *ret, char **ret_error)
{
        LedChange c = {};
        int r;

        json_object_object_foreach(params, key, v)
        {
                int64_t x;

                if (streq(key, model->switch_property)) {
                        r = alink_json_get_uint(v, key, 0, 1, &x, ret_error);
                        if (r != 0)
                                return r;
                        c.set_on = true;
                        c.value.on = x;
                } else if (streq(key, model->color_property)) {
                        r = parse_color(v, key, &c, ret_error);
                        if (r != 0)
                                return r;
                } else if (model->brightness_property && streq(key, model->brightness_property)) {
                        r = alink_json_get_uint(v, key, 0, 100, &x, ret_error);
                        if (r != 0)
                                return r;
                        c.set_brightness = true;
                        c.value.brightness = (uint8_t) x;
                } else
                        return alink_json_error(ret_error, "unknown property \"%.64s\"", key);
        }
        *ret = c;
        return 0;
}

/* json_object_object_add() takes ownership even when it fails. */
static int add(json_object *o, const char *key, json_object *v)
{
        if (!v)
                return -ENOMEM;
        return json_object_object_add(o, key, v) < 0 ? -ENOMEM : 0;
}

int led_params_new(const LedModel *model, const LedState *state, struct json_object **ret)
{
        json_object *params = json_object_new_object(), *color;

        if (!params)
                return -ENOMEM;
        color = json_object_new_object();
        if (add(params, model->switch_property, json_object_new_int(state->on)) < 0 ||
                add(params, model->color_property, color) < 0 ||
                add(color, "Red", json_object_new_int(state->red)) < 0 ||
                add(color, "Green", json_object_new_int(state->green)) < 0 ||
                add(color, "Blue", json_object_new_int(state->blue)) < 0 ||
                (model->brightness_property && add(params, model->brightness_property,
                                                       json_object_new_int(state->brightness)) < 0)) {
                json_object_put(params);
                return -ENOMEM;
        }
        *ret = params;
        return 0;
}
