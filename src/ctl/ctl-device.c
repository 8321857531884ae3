/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl-device.c: aliLinkctl get, set, post, event and call: the device's thing model through its
 * org.alilinkd1.Device object (the daemon checks everything against the TSL and says what is wrong). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bus-names.h"
#include "ctl-common.h"
#include "string-util.h"

/* The object of the device the daemon serves (its own, the one in status). */
static int device_path(sd_bus *bus, char **ret)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(status_done) Status s = {};
        const char *path;
        int r;

        r = get_status(bus, &s);
        if (r < 0)
                return r;
        if (isempty(s.v[PROP_PRODUCT_KEY].s) || isempty(s.v[PROP_DEVICE_NAME].s)) {
                fprintf(stderr, "The daemon is not configured: it serves no device yet\n");
                return -ENXIO;
        }
        r = call(bus, "Finding the device", "GetDevice", &reply, "ss", s.v[PROP_PRODUCT_KEY].s,
                s.v[PROP_DEVICE_NAME].s);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        *ret = strdup(path);
        return *ret ? 0 : -ENOMEM;
}

static int call_device(
        sd_bus *bus, const char *what, const char *method, sd_bus_message **reply, const char *types, ...)
{
        _cleanup_(freep) char *path = NULL;
        va_list ap;
        int r;

        r = device_path(bus, &path);
        if (r < 0)
                return r;
        va_start(ap, types);
        r = call_object_va(bus, what, path, ALI_BUS_DEVICE_INTERFACE, method, reply, types, ap);
        va_end(ap);
        return r;
}

/* get [ID...]: the last known values, all or the ones named; one "ID=VALUE" line each, or a JSON object. */
int verb_get(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(freep) char *path = NULL;
        _cleanup_(json_object_putp) json_object *values = NULL, *out = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        char *text = NULL;
        int r;

        r = device_path(bus, &path);
        if (r < 0)
                return r;
        r = sd_bus_get_property_string(
                bus, ALI_BUS_NAME, path, ALI_BUS_DEVICE_INTERFACE, "Properties", &e, &text);
        if (r < 0) {
                r = bus_failed("Reading the properties", &e, r);
                sd_bus_error_free(&e);
                return r;
        }
        values = json_tokener_parse(text);
        free(text);
        if (!json_object_is_type(values, json_type_object)) {
                fprintf(stderr, "The daemon sent properties that are not a JSON object\n");
                return -EBADMSG;
        }
        out = json_object_new_object();
        if (!out)
                return -ENOMEM;
        for (int i = 1; i < argc; i++) {
                json_object *v;
                if (!json_object_object_get_ex(values, argv[i], &v)) {
                        fprintf(stderr, "%s: no known value (not in the thing model, or not posted yet)\n",
                                argv[i]);
                        return -ENOENT;
                }
                json_object_object_add(out, argv[i], json_object_get(v));
        }
        if (argc == 1) {
                json_object_object_foreach(values, key, value)
                {
                        json_object_object_add(out, key, json_object_get(value));
                }
        }
        if (arg_json) {
                print_json(out);
                return 0;
        }
        json_object_object_foreach(out, name, value)
        {
                printf("%s=%s\n", name, json_object_to_json_string_ext(value, JSON_C_TO_STRING_PLAIN));
        }
        return 0;
}

/* set ID=VALUE...: VALUE is JSON when it reads as JSON (10, 2.5, {"a":1}, "text"), else a string. */
int verb_set(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(json_object_putp) json_object *params = json_object_new_object();

        if (!params)
                return -ENOMEM;
        for (int i = 1; i < argc; i++) {
                const char *eq = strchr(argv[i], '=');
                _cleanup_(freep) char *id = NULL;
                json_object *v;

                if (!eq || eq == argv[i])
                        return usage_error("set: expected IDENTIFIER=VALUE, got \"%s\"", argv[i]);
                id = strndup(argv[i], eq - argv[i]);
                if (!id)
                        return -ENOMEM;
                v = json_tokener_parse(eq + 1);
                if (!v && !streq(eq + 1, "null"))
                        v = json_object_new_string(eq + 1);
                json_object_object_add(params, id, v);
        }
        return call_device(bus, "Setting properties", "SetProperties", NULL, "s",
                json_object_to_json_string_ext(params, JSON_C_TO_STRING_PLAIN));
}

int verb_post(sd_bus *bus, int argc, char *argv[])
{
        (void) argc;
        return call_device(bus, "Posting properties", "PostProperties", NULL, "s", argv[1]);
}

int verb_event(sd_bus *bus, int argc, char *argv[])
{
        return call_device(
                bus, "Posting the event", "PostEvent", NULL, "ss", argv[1], argc > 2 ? argv[2] : "{}");
}

int verb_call(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        const char *output;
        int r;

        r = call_device(
                bus, "Calling the service", "CallService", &reply, "ss", argv[1], argc > 2 ? argv[2] : "{}");
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "s", &output);
        if (r < 0)
                return r;
        printf("%s\n", output);
        return 0;
}

/* devices: every device the daemon serves (the gateway's own first), with its state. */
int verb_devices(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
        _cleanup_(json_object_putp) json_object *list = json_object_new_array();
        const char *pk, *dn, *state, *path;
        int r;

        (void) argc;
        (void) argv;
        r = call(bus, "Listing the devices", "ListDevices", &reply, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(reply, 'a', "(ssso)");
        if (r < 0)
                return r;
        while ((r = sd_bus_message_read(reply, "(ssso)", &pk, &dn, &state, &path)) > 0) {
                if (arg_json) {
                        json_object *o = json_object_new_object();
                        json_object_object_add(o, "product_key", json_object_new_string(pk));
                        json_object_object_add(o, "device_name", json_object_new_string(dn));
                        json_object_object_add(o, "state", json_object_new_string(state));
                        json_object_object_add(o, "object", json_object_new_string(path));
                        json_object_array_add(list, o);
                } else
                        printf("%s/%s %s\n", pk, dn, state);
        }
        if (r < 0)
                return r;
        if (arg_json)
                print_json(list);
        return 0;
}

/* "PK/DN" into its two halves (pointers into a copy the caller frees). */
static int split_device(const char *arg, char **ret_copy, const char **ret_pk, const char **ret_dn)
{
        char *copy = strdup(arg), *slash;

        if (!copy)
                return -ENOMEM;
        slash = strchr(copy, '/');
        if (!slash || slash == copy || !slash[1] || strchr(slash + 1, '/')) {
                free(copy);
                return usage_error("expected PRODUCT_KEY/DEVICE_NAME, got \"%s\"", arg);
        }
        *slash = 0;
        *ret_copy = copy;
        *ret_pk = copy;
        *ret_dn = slash + 1;
        return 0;
}

/* device PK/DN: one device's state and last known values. */
int verb_device(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL, *list = NULL;
        _cleanup_(freep) char *copy = NULL, *values = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *pk, *dn, *path, *state = "unknown", *lpk, *ldn, *lstate, *lpath;
        int r;

        (void) argc;
        r = split_device(argv[1], &copy, &pk, &dn);
        if (r != 0)
                return r;
        r = call(bus, "Finding the device", "GetDevice", &reply, "ss", pk, dn);
        if (r < 0)
                return r;
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        r = call(bus, "Listing the devices", "ListDevices", &list, NULL);
        if (r < 0)
                return r;
        r = sd_bus_message_enter_container(list, 'a', "(ssso)");
        if (r < 0)
                return r;
        while (sd_bus_message_read(list, "(ssso)", &lpk, &ldn, &lstate, &lpath) > 0)
                if (streq(lpk, pk) && streq(ldn, dn))
                        state = lstate;
        r = sd_bus_get_property_string(
                bus, ALI_BUS_NAME, path, ALI_BUS_DEVICE_INTERFACE, "Properties", &e, &values);
        if (r < 0) {
                r = bus_failed("Reading the properties", &e, r);
                sd_bus_error_free(&e);
                return r;
        }
        if (arg_json) {
                _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                json_object_object_add(o, "product_key", json_object_new_string(pk));
                json_object_object_add(o, "device_name", json_object_new_string(dn));
                json_object_object_add(o, "state", json_object_new_string(state));
                json_object_object_add(o, "object", json_object_new_string(path));
                json_object_object_add(o, "properties", json_tokener_parse(values));
                print_json(o);
                return 0;
        }
        printf("%s/%s: %s\n  Object: %s\n  Values: %s\n", pk, dn, state, path, values);
        return 0;
}

/* add PK/DN TSL_FILE: a sub-device kept by the daemon (Persistent: one added by aliLinkctl would go when
 * aliLinkctl does); its secret is read from standard input, never from the command line. */
int verb_add(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *reply = NULL;
        _cleanup_(json_object_putp) json_object *tsl = NULL;
        _cleanup_(freep) char *copy = NULL, *secret = NULL;
        sd_bus_error e = SD_BUS_ERROR_NULL;
        const char *pk, *dn, *path;
        size_t n = 0;
        ssize_t l;
        int r;

        (void) argc;
        r = split_device(argv[1], &copy, &pk, &dn);
        if (r != 0)
                return r;
        tsl = json_object_from_file(argv[2]);
        if (!tsl) {
                fprintf(stderr, "%s: not a JSON file: %s\n", argv[2], json_util_get_last_err());
                return -EINVAL;
        }
        if (isatty(STDIN_FILENO))
                fprintf(stderr, "Device secret of %s/%s: ", pk, dn);
        l = getline(&secret, &n, stdin);
        if (l <= 0) {
                fprintf(stderr, "No device secret on standard input\n");
                return -EINVAL;
        }
        while (l > 0 && strchr("\r\n", secret[l - 1]))
                secret[--l] = 0;
        r = sd_bus_message_new_method_call(
                bus, &m, ALI_BUS_NAME, ALI_BUS_PATH, ALI_BUS_INTERFACE, "AddSubDevice");
        if (r >= 0)
                r = sd_bus_message_append(m, "sssa{sv}", pk, dn, secret, 2, "Tsl", "s",
                        json_object_to_json_string_ext(tsl, JSON_C_TO_STRING_PLAIN), "Persistent", "b", 1);
        explicit_bzero(secret, (size_t) l);
        if (r >= 0)
                r = sd_bus_call(bus, m, 0, &e, &reply);
        if (r < 0) {
                r = bus_failed("Adding the sub-device", &e, r);
                sd_bus_error_free(&e);
                return r;
        }
        r = sd_bus_message_read(reply, "o", &path);
        if (r < 0)
                return r;
        printf("%s/%s added: %s\n", pk, dn, path);
        return 0;
}

/* remove PK/DN [unbind]: forgets a sub-device added over D-Bus (and, with unbind, its topology). */
int verb_remove(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(freep) char *copy = NULL;
        const char *pk, *dn;
        int r;

        if (argc > 2 && !streq(argv[2], "unbind"))
                return usage_error("remove: the second argument may only be \"unbind\"");
        r = split_device(argv[1], &copy, &pk, &dn);
        if (r != 0)
                return r;
        return call(
                bus, "Removing the sub-device", "RemoveSubDevice", NULL, "ssb", pk, dn, (int) (argc > 2));
}
