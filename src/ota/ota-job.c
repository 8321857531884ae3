/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ota-job.c: the OTA job file, with json-c. The package's members are alink.c's (the cloud's format); the
 * record's own (bytes, phase, bootId) are read here. */
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fs-util.h"
#include "ota-job.h"
#include "string-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

#define OTA_JOB_MAX_PHASE 16
#define OTA_JOB_MAX_BOOT_ID 64

static int add(json_object *o, const char *key, json_object *v)
{
        if (!v || json_object_object_add(o, key, v) < 0) {
                json_object_put(v);
                return -ENOMEM;
        }
        return 0;
}

/* A string member of 1..max printable ASCII characters without spaces; absent is fine unless required. */
static int get_word(json_object *o, const char *key, size_t max, bool required, char **ret, char **ret_error)
{
        json_object *v;
        const char *s;
        size_t l;

        *ret = NULL;
        if (!json_object_object_get_ex(o, key, &v) || json_object_is_type(v, json_type_null))
                return required ? alink_json_error(ret_error, "missing %s", key) : 0;
        if (!json_object_is_type(v, json_type_string))
                return alink_json_error(ret_error, "%s: expected a string", key);
        s = json_object_get_string(v);
        l = (size_t) json_object_get_string_len(v);
        if (l == 0 || l > max)
                return alink_json_error(ret_error, "%s: expected 1..%zu characters, got %zu", key, max, l);
        for (size_t i = 0; i < l; i++)
                if ((unsigned char) s[i] <= 0x20 || (unsigned char) s[i] >= 0x7f)
                        return alink_json_error(ret_error,
                                "%s contains a character that is not allowed there (byte %zu)", key, i);
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int ota_job_file_build(
        const AlinkOtaFirmware *f, uint64_t bytes, const char *phase, const char *boot_id, char **ret)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        const char *s;
        int r;

        if (!o || !phase)
                return -ENOMEM;
        r = alink_ota_firmware_to_json(f, o);
        if (r < 0)
                return r;
        if (add(o, "bytes", json_object_new_int64((int64_t) bytes)) < 0 ||
                add(o, "phase", json_object_new_string(phase)) < 0 ||
                (boot_id && add(o, "bootId", json_object_new_string(boot_id)) < 0))
                return -ENOMEM;
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
        if (!s)
                return -ENOMEM;
        *ret = strdup(s);
        return *ret ? 0 : -ENOMEM;
}

int ota_job_file_parse(const void *payload, size_t len, AlinkOtaFirmware *f, uint64_t *ret_bytes,
        char **ret_phase, char **ret_boot_id, char **ret_error)
{
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_(freep) char *phase = NULL, *boot_id = NULL;
        json_object *v;
        int64_t bytes = 0;
        int r;

        *f = (AlinkOtaFirmware){};
        r = alink_parse_json_object(payload, len, &o, ret_error);
        if (r != 0)
                return r;
        r = alink_ota_firmware_from_json(o, f, ret_error);
        if (r == 0) {
                if (!json_object_object_get_ex(o, "bytes", &v))
                        r = alink_json_error(ret_error, "missing bytes");
                else if (!json_object_is_type(v, json_type_int) || (bytes = json_object_get_int64(v)) < 0)
                        r = alink_json_error(ret_error, "bytes: expected a whole number >= 0");
                else if ((uint64_t) bytes > f->size)
                        r = alink_json_error(ret_error, "bytes is larger than size");
        }
        if (r == 0)
                r = get_word(o, "phase", OTA_JOB_MAX_PHASE, /* required= */ true, &phase, ret_error);
        if (r == 0)
                r = get_word(o, "bootId", OTA_JOB_MAX_BOOT_ID, /* required= */ false, &boot_id, ret_error);
        if (r != 0) {
                alink_ota_firmware_done(f);
                return r;
        }
        *ret_bytes = (uint64_t) bytes;
        *ret_phase = TAKE_PTR(phase);
        if (ret_boot_id)
                *ret_boot_id = TAKE_PTR(boot_id);
        return 0;
}

int ota_job_file_save(
        const char *path, const AlinkOtaFirmware *f, uint64_t bytes, const char *phase, const char *boot_id)
{
        _cleanup_(freep) char *json = NULL;
        int r;

        r = ota_job_file_build(f, bytes, phase, boot_id, &json);
        if (r < 0)
                return r;
        return write_file_atomic(path, json, 0600);
}

int ota_job_file_load(const char *path, AlinkOtaFirmware *f, uint64_t *ret_bytes, char **ret_phase,
        char **ret_boot_id, char **ret_error)
{
        _cleanup_(fclosep) FILE *file = NULL;
        _cleanup_(freep) char *json = NULL;
        size_t size;

        *f = (AlinkOtaFirmware){};
        int r = fopen_state_file(path, &file);
        if (r < 0)
                return r;
        /* A record is far smaller; anything longer is cut and then refused as invalid JSON. */
        json = calloc(1, ALINK_MAX_PAYLOAD + 1);
        if (!json)
                return -ENOMEM;
        size = fread(json, 1, ALINK_MAX_PAYLOAD, file);
        return ota_job_file_parse(json, size, f, ret_bytes, ret_phase, ret_boot_id, ret_error);
}
