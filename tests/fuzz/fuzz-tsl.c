/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-tsl.c: libFuzzer harness for the thing model: a model, a NUL byte, then params checked against it
 * by every check. A check that accepts must accept its own output again, unchanged (normalising twice
 * changes nothing). */
#include <json-c/json.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tsl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_twice(
        int (*fn)(const void *, struct json_object *, char **), const void *what, const char *params_text)
{
        json_object *params = json_tokener_parse(params_text);
        char *error = NULL, *first;
        int r;

        if (!params)
                return;
        r = fn(what, params, &error);
        if (r > 0 && !error)
                abort(); /* TSL_E_INVALID always says why */
        free(error);
        error = NULL;
        if (r == 0) {
                first = strdup(json_object_to_json_string(params));
                if (!first || fn(what, params, &error) != 0 ||
                        strcmp(first, json_object_to_json_string(params)) != 0)
                        abort();
                free(first);
        }
        json_object_put(params);
}

static int set(const void *t, struct json_object *p, char **e)
{
        return tsl_check_property_set(t, p, e);
}
static int post(const void *t, struct json_object *p, char **e)
{
        return tsl_check_property_post(t, p, e);
}
static int input(const void *s, struct json_object *p, char **e)
{
        return tsl_check_service_input(s, p, e);
}
static int output(const void *s, struct json_object *p, char **e)
{
        return tsl_check_service_output(s, p, e);
}
static int event(const void *ev, struct json_object *p, char **e)
{
        return tsl_check_event_output(ev, p, e);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        const char *sep = memchr(data, 0, size);
        size_t model_len = sep ? (size_t) (sep - (const char *) data) : size;
        char *params = NULL, *error = NULL;
        Tsl *t = NULL;
        int r;

        r = tsl_parse((const char *) data, model_len, &t, &error);
        if (r > 0 && !error)
                abort();
        free(error);
        if (r != 0)
                return 0;

        for (size_t i = 0; i < tsl_n_properties(t); i++)
                if (tsl_find_property(t, tsl_property_identifier(tsl_property_at(t, i))) !=
                        tsl_property_at(t, i))
                        abort();
        if (sep) {
                params = strndup(sep + 1, size - model_len - 1);
                if (!params)
                        abort();
                check_twice(set, t, params);
                check_twice(post, t, params);
                for (size_t i = 0; i < tsl_n_services(t); i++) {
                        check_twice(input, tsl_service_at(t, i), params);
                        check_twice(output, tsl_service_at(t, i), params);
                }
                for (size_t i = 0; i < tsl_n_events(t); i++)
                        check_twice(event, tsl_event_at(t, i), params);
                free(params);
        }
        tsl_free(t);
        return 0;
}
