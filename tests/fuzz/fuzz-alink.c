/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-alink.c: libFuzzer harness for the Alink message parsers (what the network sends). */
#include <stdint.h>
#include <stdlib.h>

#include "alink.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static LedModel model = { .switch_property = "LightSwitch", .color_property = "RGBColor",
                .brightness_property = "Brightness" };
        AlinkPropertySet ps;
        AlinkReply reply;
        char *error = NULL, *id = NULL, *s = NULL;

        if (alink_parse_property_set(data, size, &model, &ps, &error) == 0) {
                /* Whatever parsed must also build. */
                LedState st = LED_STATE_INIT;
                led_change_apply(&ps.change, &st);
                if (alink_build_reply(ps.id, 200, NULL, &s) == 0)
                        free(s);
                if (alink_build_property_post(ps.id, &model, &st, &s) == 0)
                        free(s);
        }
        alink_property_set_done(&ps);
        free(error);
        error = NULL;

        (void) alink_parse_reply(data, size, &reply, &error);
        alink_reply_done(&reply);
        free(error);
        error = NULL;

        (void) alink_parse_request_id(data, size, &id);
        free(id);

        /* Local clients hand in params as a NUL-terminated string. */
        if (size < 4096) {
                char *str = strndup((const char *) data, size);
                if (str && alink_build_property_post_params("1", str, &s, &error) == 0)
                        free(s);
                free(error);
                free(str);
        }
        return 0;
}
