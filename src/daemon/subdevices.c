/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* subdevices.c: sub-devices added at run time (subdevices.h says what it promises). */
#include <dirent.h>
#include <errno.h>
#include <json-c/json.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alink.h"
#include "fs-util.h"
#include "log.h"
#include "string-util.h"
#include "subdevices.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);
DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir);

struct Subdevices {
        char *directory; /* <state_directory>/subdevices */
        RuntimeSubdevice **list;
        size_t n;
        SubdevicesGoneFn gone;
        void *userdata;
};

static void entry_free(RuntimeSubdevice *e)
{
        if (!e)
                return;
        free(e->product_key);
        free(e->device_name);
        erase_and_free(e->device_secret);
        tsl_free(e->tsl);
        free(e->tsl_json);
        if (e->owner)
                sd_bus_track_set_userdata(e->owner, NULL);
        sd_bus_track_unref(e->owner);
        free(e);
}

static ssize_t find(const Subdevices *s, const char *pk, const char *dn)
{
        for (size_t i = 0; i < s->n; i++)
                if (streq(s->list[i]->product_key, pk) && streq(s->list[i]->device_name, dn))
                        return (ssize_t) i;
        return -1;
}

static void drop(Subdevices *s, size_t i)
{
        RuntimeSubdevice *e = s->list[i];

        s->list[i] = s->list[--s->n];
        entry_free(e);
}

static int path_of(const Subdevices *s, const char *pk, const char *dn, char **ret)
{
        return asprintf(ret, "%s/%s+%s.json", s->directory, pk, dn) < 0 ? -ENOMEM : 0;
}

/* Identifiers as the platform allows them: they end up in file names and topics. */
static bool valid_identity(const char *pk, const char *dn)
{
        return !isempty(pk) && strlen(pk) <= 64 && alnum_or_chars(pk, "-_") && !isempty(dn) &&
               strlen(dn) <= 64 && alnum_or_chars(dn, "-_.:@") && !streq(dn, ".") && !streq(dn, "..");
}

static int on_owner_gone(sd_bus_track *track, void *userdata)
{
        Subdevices *s = userdata;

        for (size_t i = 0; s && i < s->n; i++)
                if (s->list[i]->owner == track) {
                        log_info("The program that added sub-device %s/%s left the bus: logging it out",
                                s->list[i]->product_key, s->list[i]->device_name);
                        if (s->gone)
                                s->gone(s->list[i], s->userdata);
                        drop(s, i);
                        break;
                }
        return 0;
}

/* The entry, checked; its TSL parsed from the text. */
static int entry_new(const char *pk, const char *dn, const char *secret, const char *tsl_json,
        RuntimeSubdevice **ret, char **ret_error)
{
        RuntimeSubdevice *e;
        int r;

        if (!valid_identity(pk, dn))
                return alink_json_error(ret_error, "invalid product key or device name");
        if (isempty(secret) || strlen(secret) > 1024)
                return alink_json_error(ret_error, "the device secret must have 1..1024 characters");
        if (!tsl_json)
                return alink_json_error(ret_error, "the thing model (Tsl) is required");
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        e->product_key = strdup(pk);
        e->device_name = strdup(dn);
        e->device_secret = strdup(secret);
        e->tsl_json = strdup(tsl_json);
        if (!e->product_key || !e->device_name || !e->device_secret || !e->tsl_json) {
                entry_free(e);
                return -ENOMEM;
        }
        r = tsl_parse(tsl_json, strlen(tsl_json), &e->tsl, ret_error);
        if (r != 0) {
                entry_free(e);
                return r;
        }
        *ret = e;
        return 0;
}

static int append(Subdevices *s, RuntimeSubdevice *e)
{
        RuntimeSubdevice **l = reallocarray(s->list, s->n + 1, sizeof(RuntimeSubdevice *));

        if (!l)
                return -ENOMEM;
        s->list = l;
        s->list[s->n++] = e;
        return 0;
}

static int save(const Subdevices *s, const RuntimeSubdevice *e)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        _cleanup_(freep) char *path = NULL;
        json_object *tsl = json_tokener_parse(e->tsl_json);
        char *text;
        int r;

        if (!o || !tsl ||
                json_object_object_add(o, "productKey", json_object_new_string(e->product_key)) < 0 ||
                json_object_object_add(o, "deviceName", json_object_new_string(e->device_name)) < 0 ||
                json_object_object_add(o, "deviceSecret", json_object_new_string(e->device_secret)) < 0 ||
                json_object_object_add(o, "tsl", tsl) < 0)
                return -ENOMEM;
        r = mkdir_parents_and_self(s->directory, 0700);
        if (r < 0)
                return r;
        r = path_of(s, e->product_key, e->device_name, &path);
        if (r < 0)
                return r;
        text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        if (!text)
                return -ENOMEM;
        r = write_file_atomic(path, text, 0600);
        erase_and_free(text);
        return r;
}

int subdevices_add(Subdevices *s, const char *pk, const char *dn, const char *secret, const char *tsl_json,
        bool persistent, sd_bus_message *msg, const RuntimeSubdevice **ret, char **ret_error)
{
        RuntimeSubdevice *e = NULL;
        int r;

        if (valid_identity(pk, dn) && find(s, pk, dn) >= 0)
                return -EEXIST;
        r = entry_new(pk, dn, secret, tsl_json, &e, ret_error);
        if (r != 0)
                return r;
        e->persistent = persistent;
        if (persistent) {
                r = save(s, e);
                if (r < 0) {
                        log_error_errno(r, "Cannot keep sub-device %s/%s in %s: %m", pk, dn, s->directory);
                        entry_free(e);
                        return r;
                }
        } else if (msg) {
                r = sd_bus_track_new(sd_bus_message_get_bus(msg), &e->owner, on_owner_gone, s);
                if (r >= 0)
                        r = sd_bus_track_add_sender(e->owner, msg);
                if (r < 0) {
                        entry_free(e);
                        return r;
                }
        }
        r = append(s, e);
        if (r < 0) {
                entry_free(e);
                return r;
        }
        if (ret)
                *ret = e;
        return 0;
}

int subdevices_remove(Subdevices *s, const char *pk, const char *dn)
{
        ssize_t i = find(s, pk, dn);

        if (i < 0)
                return -ENOENT;
        if (s->list[i]->persistent) {
                _cleanup_(freep) char *path = NULL;
                if (path_of(s, pk, dn, &path) >= 0 && unlink(path) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "Cannot remove %s: %m", path);
        }
        drop(s, (size_t) i);
        return 0;
}

/* One kept file: {"productKey","deviceName","deviceSecret","tsl":{...}}. */
static int load_one(Subdevices *s, const char *name)
{
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_(freep) char *path = NULL, *error = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        json_object *pk, *dn, *secret, *tsl;
        RuntimeSubdevice *e = NULL;
        int r;

        if (asprintf(&path, "%s/%s", s->directory, name) < 0)
                return -ENOMEM;
        r = fopen_state_file(path, &f);
        if (r < 0)
                return log_warning_errno(r, "Cannot read %s: %s", path, state_file_strerror(r));
        o = json_object_from_fd(fileno(f));
        if (!o || !json_object_object_get_ex(o, "productKey", &pk) ||
                !json_object_object_get_ex(o, "deviceName", &dn) ||
                !json_object_object_get_ex(o, "deviceSecret", &secret) ||
                !json_object_object_get_ex(o, "tsl", &tsl) || !json_object_is_type(pk, json_type_string) ||
                !json_object_is_type(dn, json_type_string) ||
                !json_object_is_type(secret, json_type_string) ||
                !json_object_is_type(tsl, json_type_object)) {
                log_warning("Ignoring %s: not a kept sub-device", path);
                return 0;
        }
        r = entry_new(json_object_get_string(pk), json_object_get_string(dn), json_object_get_string(secret),
                json_object_to_json_string_ext(tsl, JSON_C_TO_STRING_PLAIN), &e, &error);
        if (r != 0) {
                log_warning("Ignoring %s: %s", path, r < 0 ? "out of memory" : strna(error));
                return r < 0 ? r : 0;
        }
        e->persistent = true;
        if (find(s, e->product_key, e->device_name) >= 0) {
                entry_free(e);
                return 0;
        }
        r = append(s, e);
        if (r < 0)
                entry_free(e);
        return r;
}

int subdevices_load(Subdevices *s)
{
        _cleanup_(closedirp) DIR *d = opendir(s->directory);
        struct dirent *de;
        int r;

        if (!d)
                return errno == ENOENT ? 0 : log_warning_errno(errno, "Cannot read %s: %m", s->directory);
        while ((de = readdir(d))) {
                size_t l = strlen(de->d_name);
                if (de->d_name[0] == '.' || l < 6 || !streq(de->d_name + l - 5, ".json"))
                        continue;
                r = load_one(s, de->d_name);
                if (r == -ENOMEM)
                        return r;
        }
        if (s->n > 0)
                log_info("%zu sub-device%s kept from earlier runs", s->n, s->n == 1 ? "" : "s");
        return 0;
}

size_t subdevices_count(const Subdevices *s)
{
        return s ? s->n : 0;
}

const RuntimeSubdevice *subdevices_at(const Subdevices *s, size_t i)
{
        return s && i < s->n ? s->list[i] : NULL;
}

int subdevices_new(Subdevices **ret, const char *state_directory, SubdevicesGoneFn gone, void *userdata)
{
        Subdevices *s = calloc(1, sizeof(*s));

        if (!s)
                return -ENOMEM;
        if (asprintf(&s->directory, "%s/subdevices", state_directory) < 0) {
                free(s);
                return -ENOMEM;
        }
        s->gone = gone;
        s->userdata = userdata;
        *ret = s;
        return 0;
}

Subdevices *subdevices_free(Subdevices *s)
{
        if (!s)
                return NULL;
        while (s->n > 0)
                drop(s, s->n - 1);
        free(s->list);
        free(s->directory);
        free(s);
        return NULL;
}
