/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alink-json.c: the strict JSON tokenizer under the Alink parsers and the thing model's (alink.h). An object
 * of its own, so that a program linking only the thing layer (the guest test) does not pull in the rest of
 * the codec. */
#include <errno.h>
#include <json-c/json.h>
#include <limits.h>

#include "alink.h"

int alink_json_tokenize(const void *text, size_t len, int max_depth, json_object **ret, size_t *ret_end)
{
        json_tokener *tok;
        int e;

        *ret = NULL;
        *ret_end = 0;
        if (len > INT_MAX)
                return json_tokener_error_size;
        tok = json_tokener_new_ex(max_depth);
        if (!tok)
                return -ENOMEM;
        json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
        *ret = json_tokener_parse_ex(tok, text, (int) len);
        e = (int) json_tokener_get_error(tok);
        *ret_end = json_tokener_get_parse_end(tok);
        json_tokener_free(tok);
        if (e != json_tokener_success)
                *ret = (json_object_put(*ret), NULL);
        return e;
}
