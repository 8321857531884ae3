/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-alink.c: libFuzzer harness for the Alink message parsers (what the network sends) and the OTA job
 * file (read back at start). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alink.h"
#include "led-json.h"
#include "log.h"
#include "ota-job.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_refusal(const char *identifier, const char *reason, void *userdata)
{
        (void) userdata;
        if (strlen(identifier) + strlen(reason) == (size_t) -1)
                abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static LedModel model = {.switch_property = "LightSwitch",
                .color_property = "RGBColor",
                .brightness_property = "Brightness"};
        AlinkPropertySet ps;
        AlinkReply reply;
        char *error = NULL, *id = NULL, *s = NULL;

        LedChange change;
        if (alink_parse_property_set(data, size, &ps, &error) == 0 &&
                led_change_from_params(&model, ps.params, &change, &error) == 0) {
                /* Whatever parsed must also build. */
                LedState st = LED_STATE_INIT;
                struct json_object *params;
                led_change_apply(&change, &st);
                if (alink_build_reply(ps.id, 200, NULL, &s) == 0)
                        free(s);
                if (led_params_new(&model, &st, &params) == 0 &&
                        alink_build_property_post_object(ps.id, params, &s) == 0)
                        free(s);
        }
        alink_property_set_done(&ps);
        free(error);
        error = NULL;

        (void) alink_parse_reply(data, size, &reply, &error);
        (void) alink_reply_foreach_refusal(&reply, on_refusal, NULL);
        alink_reply_done(&reply);
        free(error);
        error = NULL;

        /* Service calls: what parses must build into a reply with the params as its data. */
        AlinkRequest req;
        if (alink_parse_request(data, size, &req, &error) == 0) {
                (void) alink_method_service(req.method);
                if (alink_build_reply_data(req.id, 200, NULL, json_object_get(req.params), &s) == 0)
                        free(s);
        }
        alink_request_done(&req);
        free(error);
        error = NULL;

        (void) alink_parse_request_id(data, size, &id);
        free(id);

        /* OTA pushes, firmware/get replies, and the job file read back at start: a package that parses
         * must survive the job file's round trip unchanged. */
        for (int reply = 0; reply <= 1; reply++) {
                AlinkOtaFirmware f, g;
                uint64_t bytes;
                char *phase = NULL, *boot = NULL;

                if (alink_parse_ota_upgrade(data, size, reply, &f, &error) == 0 &&
                        ota_job_file_build(&f, f.size, "download", NULL, &s) == 0) {
                        if (ota_job_file_parse(s, strlen(s), &g, &bytes, &phase, &boot, NULL) != 0 ||
                                strcmp(f.url, g.url) != 0 || strcmp(f.sign, g.sign) != 0 ||
                                f.size != g.size || bytes != f.size || strcmp(f.version, g.version) != 0)
                                abort();
                        alink_ota_firmware_done(&g);
                        free(phase);
                        free(boot);
                        free(s);
                }
                alink_ota_firmware_done(&f);
                free(error);
                error = NULL;
        }
        {
                AlinkOtaFirmware f;
                uint64_t bytes;
                char *phase = NULL, *boot = NULL;

                if (ota_job_file_parse(data, size, &f, &bytes, &phase, &boot, &error) == 0) {
                        if (bytes > f.size)
                                abort();
                        alink_ota_firmware_done(&f);
                        free(phase);
                        free(boot);
                }
                free(error);
                error = NULL;
        }

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
