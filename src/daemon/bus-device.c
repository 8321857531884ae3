/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bus-device.c: org.alilinkd1.Device objects and handler claims (bus-device.h says what they promise). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus-device.h"
#include "bus-names.h"
#include "event-util.h"
#include "log.h"
#include "string-util.h"

/* One exported device: the vtable's userdata. */
typedef struct Export {
        BusDevices *owner;
        Device *device;
        char *path;
        sd_bus_slot *slot;
        bool changed; /* PropertiesChanged waits for the next batch */
} Export;

/* One claim: who handles the device at path. */
typedef struct Claim {
        BusDevices *owner;
        char *path;         /* the device's object path */
        char *sender;       /* the claiming program's unique name */
        char *handler_path; /* where it exports org.alilinkd1.Handler */
        sd_bus_track *track;
} Claim;

/* Each entry allocated on its own, so that the vtable and the tracks can point at it. */
struct BusDevices {
        sd_bus *bus;
        sd_event_source *flush; /* the batch of PropertiesChanged, a moment after the first change */
        Export **exports;
        size_t n_exports;
        Claim **claims;
        size_t n_claims;
};

int bus_device_path(const char *product_key, const char *device_name, char **ret)
{
        _cleanup_(freep) char *id = NULL;

        if (asprintf(&id, "%s/%s", product_key, device_name) < 0)
                return -ENOMEM;
        return sd_bus_path_encode(ALI_BUS_DEVICE_PATH_PREFIX, id, ret);
}

static Export *find_export(BusDevices *bd, const Device *d)
{
        for (size_t i = 0; i < bd->n_exports; i++)
                if (bd->exports[i]->device == d)
                        return bd->exports[i];
        return NULL;
}

static Claim *find_claim(BusDevices *bd, const char *path)
{
        for (size_t i = 0; i < bd->n_claims; i++)
                if (streq(bd->claims[i]->path, path))
                        return bd->claims[i];
        return NULL;
}

static Claim *claim_free(Claim *c)
{
        if (!c)
                return NULL;
        sd_bus_track_unref(c->track);
        free(c->path);
        free(c->sender);
        free(c->handler_path);
        free(c);
        return NULL;
}

static void claim_drop(BusDevices *bd, Claim *c)
{
        for (size_t i = 0; i < bd->n_claims; i++)
                if (bd->claims[i] == c) {
                        bd->claims[i] = bd->claims[--bd->n_claims];
                        break;
                }
        claim_free(c);
}

/* --- the Device interface --- */

static int get_property(sd_bus *bus, const char *path, const char *interface, const char *property,
        sd_bus_message *reply, void *userdata, sd_bus_error *error)
{
        Device *d = ((Export *) userdata)->device;

        (void) bus;
        (void) path;
        (void) interface;
        (void) error;
        if (streq(property, "ProductKey"))
                return sd_bus_message_append(reply, "s", device_product_key(d));
        if (streq(property, "DeviceName"))
                return sd_bus_message_append(reply, "s", device_device_name(d));
        if (streq(property, "Online"))
                return sd_bus_message_append(reply, "b", device_is_online(d));
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", device_is_online(d) ? "online" : "offline");
        if (streq(property, "Properties"))
                return sd_bus_message_append(reply, "s", device_get_properties(d));
        if (streq(property, "Refused"))
                return sd_bus_message_append(reply, "t", device_get_refused(d));
        return -EINVAL;
}

static int reply_invalid(sd_bus_message *msg, int r, const char *problem)
{
        if (r == ALINK_E_INVALID)
                return sd_bus_reply_method_errorf(msg, SD_BUS_ERROR_INVALID_ARGS, "%s", strna(problem));
        return sd_bus_reply_method_errno(msg, r, NULL);
}

static int method_post_properties(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(freep) char *problem = NULL;
        const char *json;
        int r;

        (void) error;
        r = sd_bus_message_read(msg, "s", &json);
        if (r < 0)
                return r;
        r = device_post_properties(((Export *) userdata)->device, json, &problem);
        if (r != 0)
                return reply_invalid(msg, r, problem);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_post_event(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(freep) char *problem = NULL;
        const char *event, *json;
        int r;

        (void) error;
        r = sd_bus_message_read(msg, "ss", &event, &json);
        if (r < 0)
                return r;
        r = device_post_event(((Export *) userdata)->device, event, json, &problem);
        if (r != 0)
                return reply_invalid(msg, r, problem);
        return sd_bus_reply_method_return(msg, NULL);
}

/* SetProperties and CallService answer when the device has: the call waits with its message. */
static void on_local_done(int code, const char *text, void *userdata)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *msg = userdata;

        if (code == ALINK_CODE_SUCCESS) {
                if (streq(sd_bus_message_get_member(msg), "CallService"))
                        (void) sd_bus_reply_method_return(msg, "s", text ?: "{}");
                else
                        (void) sd_bus_reply_method_return(msg, NULL);
                return;
        }
        (void) sd_bus_reply_method_errorf(msg, ALI_BUS_ERROR_DEVICE_ERROR, "code %d: %s", code, strna(text));
}

static int method_set_properties(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(freep) char *problem = NULL;
        const char *json;
        int r;

        (void) error;
        r = sd_bus_message_read(msg, "s", &json);
        if (r < 0)
                return r;
        r = device_set_properties(
                ((Export *) userdata)->device, json, on_local_done, sd_bus_message_ref(msg), &problem);
        if (r != 0) {
                sd_bus_message_unref(msg);
                return reply_invalid(msg, r, problem);
        }
        return 1;
}

static int method_call_service(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        _cleanup_(freep) char *problem = NULL;
        const char *service, *json;
        int r;

        (void) error;
        r = sd_bus_message_read(msg, "ss", &service, &json);
        if (r < 0)
                return r;
        r = device_call_service(((Export *) userdata)->device, service, json, on_local_done,
                sd_bus_message_ref(msg), &problem);
        if (r != 0) {
                sd_bus_message_unref(msg);
                return reply_invalid(msg, r, problem);
        }
        return 1;
}

static int on_claimer_gone(sd_bus_track *track, void *userdata)
{
        Claim *c = userdata;

        (void) track;
        log_info("The handler %s of %s left the bus; its claim is dropped", c->sender, c->path);
        claim_drop(c->owner, c);
        return 0;
}

static int method_claim(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        Export *e = userdata;
        BusDevices *bd = e->owner;
        Device *d = e->device;
        const char *handler, *sender = sd_bus_message_get_sender(msg), *path = sd_bus_message_get_path(msg);
        Claim *c;
        int r;

        r = sd_bus_message_read(msg, "o", &handler);
        if (r < 0)
                return r;
        if (!sender)
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, "The caller has no bus name");
        c = find_claim(bd, path);
        if (c && !streq(c->sender, sender))
                return sd_bus_error_setf(error, ALI_BUS_ERROR_ALREADY_CLAIMED,
                        "%s/%s is handled by %s; it must Release() it first", device_product_key(d),
                        device_device_name(d), c->sender);
        if (c) { /* the same program again: a new handler path */
                char *p = strdup(handler);
                if (!p)
                        return -ENOMEM;
                free(c->handler_path);
                c->handler_path = p;
                return sd_bus_reply_method_return(msg, NULL);
        }

        Claim **claims = reallocarray(bd->claims, bd->n_claims + 1, sizeof(Claim *));
        if (!claims)
                return -ENOMEM;
        bd->claims = claims;
        c = calloc(1, sizeof(*c));
        if (!c)
                return -ENOMEM;
        c->owner = bd;
        c->path = strdup(path);
        c->sender = strdup(sender);
        c->handler_path = strdup(handler);
        if (!c->path || !c->sender || !c->handler_path) {
                claim_free(c);
                return -ENOMEM;
        }
        r = sd_bus_track_new(sd_bus_message_get_bus(msg), &c->track, on_claimer_gone, c);
        if (r >= 0)
                r = sd_bus_track_add_sender(c->track, msg);
        if (r < 0) {
                claim_free(c);
                return r;
        }
        bd->claims[bd->n_claims++] = c;
        log_info("%s claims %s/%s, handler %s", sender, device_product_key(d), device_device_name(d),
                handler);
        return sd_bus_reply_method_return(msg, NULL);
}

static int method_release(sd_bus_message *msg, void *userdata, sd_bus_error *error)
{
        BusDevices *bd = ((Export *) userdata)->owner;
        Claim *c = find_claim(bd, sd_bus_message_get_path(msg));

        if (!c || !streq_ptr(c->sender, sd_bus_message_get_sender(msg)))
                return sd_bus_error_set(
                        error, ALI_BUS_ERROR_NOT_CLAIMED, "The caller has not claimed this device");
        log_info("%s releases %s", c->sender, c->path);
        claim_drop(bd, c);
        return sd_bus_reply_method_return(msg, NULL);
}

static const sd_bus_vtable device_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_PROPERTY("ProductKey", "s", get_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("DeviceName", "s", get_property, 0, SD_BUS_VTABLE_PROPERTY_CONST),
        SD_BUS_PROPERTY("Online", "b", get_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("State", "s", get_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Properties", "s", get_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("Refused", "t", get_property, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_METHOD_WITH_ARGS("PostProperties", SD_BUS_ARGS("s", json), SD_BUS_NO_RESULT,
                method_post_properties, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("PostEvent", SD_BUS_ARGS("s", identifier, "s", json), SD_BUS_NO_RESULT,
                method_post_event, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("SetProperties", SD_BUS_ARGS("s", json), SD_BUS_NO_RESULT,
                method_set_properties, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("CallService", SD_BUS_ARGS("s", identifier, "s", json),
                SD_BUS_RESULT("s", output), method_call_service, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_ARGS("Claim", SD_BUS_ARGS("o", handler), SD_BUS_NO_RESULT, method_claim,
                SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD("Release", NULL, NULL, method_release, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_VTABLE_END,
};

/* --- exports --- */

/* A Device's properties change with every set and post: like the Manager's (bus.c, "Signals, batched"),
 * their PropertiesChanged leave a few milliseconds later, in one batch, so that the cloud's answer goes
 * first. */
#define BUS_DEVICES_SIGNAL_DELAY_USEC (5 * USEC_PER_MSEC)

static int on_flush(sd_event_source *s, uint64_t usec, void *userdata)
{
        BusDevices *bd = userdata;
        int r;

        (void) s;
        (void) usec;
        for (size_t i = 0; i < bd->n_exports; i++) {
                Export *e = bd->exports[i];
                if (!e->changed)
                        continue;
                e->changed = false;
                r = sd_bus_emit_properties_changed(bd->bus, e->path, ALI_BUS_DEVICE_INTERFACE, "Online",
                        "State", "Properties", "Refused", NULL);
                if (r < 0)
                        log_debug_errno(r, "Cannot emit PropertiesChanged for %s, ignoring: %m", e->path);
        }
        return 0;
}

int bus_devices_new(BusDevices **ret, sd_bus *bus, sd_event *event)
{
        BusDevices *bd = calloc(1, sizeof(*bd));
        int r;

        if (!bd)
                return -ENOMEM;
        bd->bus = sd_bus_ref(bus);
        r = sd_event_add_time_relative(event, &bd->flush, CLOCK_MONOTONIC, BUS_DEVICES_SIGNAL_DELAY_USEC,
                USEC_PER_MSEC, on_flush, bd);
        if (r < 0) {
                bus_devices_free(bd);
                return r;
        }
        (void) sd_event_source_set_description(bd->flush, "bus-device-signals");
        (void) sd_event_source_set_enabled(bd->flush, SD_EVENT_OFF);
        *ret = bd;
        return 0;
}

BusDevices *bus_devices_free(BusDevices *bd)
{
        if (!bd)
                return NULL;
        while (bd->n_exports > 0)
                bus_devices_remove(bd, bd->exports[0]->device);
        while (bd->n_claims > 0)
                claim_drop(bd, bd->claims[0]);
        free(bd->exports);
        free(bd->claims);
        sd_event_source_disable_unref(bd->flush);
        sd_bus_unref(bd->bus);
        free(bd);
        return NULL;
}

int bus_devices_add(BusDevices *bd, Device *d)
{
        _cleanup_(freep) Export *e = NULL;
        Export **exports;
        int r;

        if (!bd || find_export(bd, d))
                return 0;
        e = calloc(1, sizeof(*e));
        if (!e)
                return -ENOMEM;
        *e = (Export){.owner = bd, .device = d};
        r = bus_device_path(device_product_key(d), device_device_name(d), &e->path);
        if (r < 0)
                return r;
        exports = reallocarray(bd->exports, bd->n_exports + 1, sizeof(Export *));
        if (!exports) {
                free(e->path);
                return -ENOMEM;
        }
        bd->exports = exports;
        r = sd_bus_add_object_vtable(bd->bus, &e->slot, e->path, ALI_BUS_DEVICE_INTERFACE, device_vtable, e);
        if (r < 0) {
                log_error_errno(r, "Cannot export %s on D-Bus: %m", e->path);
                free(e->path);
                return r;
        }
        bd->exports[bd->n_exports++] = TAKE_PTR(e);
        return 0;
}

void bus_devices_remove(BusDevices *bd, Device *d)
{
        Export *e = bd ? find_export(bd, d) : NULL;

        if (!e)
                return;
        for (size_t i = 0; i < bd->n_exports; i++)
                if (bd->exports[i] == e) {
                        bd->exports[i] = bd->exports[--bd->n_exports];
                        break;
                }
        sd_bus_slot_unref(e->slot);
        free(e->path);
        free(e);
}

void bus_devices_changed(BusDevices *bd, Device *d)
{
        Export *e = bd ? find_export(bd, d) : NULL;

        if (!e)
                return;
        e->changed = true;
        if (!event_timer_armed(bd->flush) &&
                event_timer_arm_relative(bd->flush, BUS_DEVICES_SIGNAL_DELAY_USEC) < 0)
                (void) on_flush(bd->flush, 0, bd);
}

/* --- calls into the handler --- */

typedef struct HandlerCall {
        DeviceCallDone done;
        void *userdata;
        uint64_t timeout_usec;
} HandlerCall;

static int on_handler_reply(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        HandlerCall *call = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *text = NULL;
        int32_t code;
        int r;

        (void) ret_error;
        if (e) {
                _cleanup_(freep) char *m = NULL;
                bool late = sd_bus_error_has_names(e, SD_BUS_ERROR_NO_REPLY, SD_BUS_ERROR_TIMEOUT);

                if (late)
                        r = asprintf(&m, "the local handler did not answer within %llu ms",
                                (unsigned long long) (call->timeout_usec / 1000));
                else
                        r = asprintf(&m, "the local handler failed: %s", e->message ?: e->name);
                call->done(late ? DEVICE_CODE_TIMEOUT : DEVICE_CODE_HANDLER_FAILED, r < 0 ? NULL : m,
                        call->userdata);
                return 0;
        }
        r = sd_bus_message_read(reply, "is", &code, &text);
        if (r < 0) {
                call->done(DEVICE_CODE_HANDLER_FAILED, "the local handler's answer is not (is)",
                        call->userdata);
                return 0;
        }
        call->done(code, text, call->userdata);
        return 0;
}

static int handler_call(BusDevices *bd, Device *d, const char *member, const char *service,
        const char *params_json, uint64_t timeout_usec, DeviceCallDone done, void *userdata,
        sd_bus_slot **ret_slot)
{
        _cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
        _cleanup_(freep) char *path = NULL;
        HandlerCall *call;
        Claim *c;
        int r;

        if (!bd)
                return -ENOTCONN;
        r = bus_device_path(device_product_key(d), device_device_name(d), &path);
        if (r < 0)
                return r;
        c = find_claim(bd, path);
        if (!c)
                return -ENOTCONN;
        r = sd_bus_message_new_method_call(
                bd->bus, &m, c->sender, c->handler_path, ALI_BUS_HANDLER_INTERFACE, member);
        if (r < 0)
                return r;
        r = service ? sd_bus_message_append(m, "oss", path, service, params_json)
                    : sd_bus_message_append(m, "os", path, params_json);
        if (r < 0)
                return r;
        call = calloc(1, sizeof(*call));
        if (!call)
                return -ENOMEM;
        *call = (HandlerCall){.done = done, .userdata = userdata, .timeout_usec = timeout_usec};
        r = sd_bus_call_async(bd->bus, ret_slot, m, on_handler_reply, call, timeout_usec);
        if (r < 0) {
                free(call);
                return r;
        }
        /* The call's state goes with its slot: answered, cancelled or freed. */
        (void) sd_bus_slot_set_destroy_callback(*ret_slot, free);
        return 0;
}

int bus_devices_handler_set(BusDevices *bd, Device *d, const char *params_json, uint64_t timeout_usec,
        DeviceCallDone done, void *userdata, sd_bus_slot **ret_slot)
{
        return handler_call(
                bd, d, "SetProperties", NULL, params_json, timeout_usec, done, userdata, ret_slot);
}

int bus_devices_handler_call(BusDevices *bd, Device *d, const char *service, const char *params_json,
        uint64_t timeout_usec, DeviceCallDone done, void *userdata, sd_bus_slot **ret_slot)
{
        return handler_call(
                bd, d, "CallService", service, params_json, timeout_usec, done, userdata, ret_slot);
}
