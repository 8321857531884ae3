/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* device.h: one cloud identity the daemon serves, by its thing model: the request flow of property sets,
 * service calls (async, and sync by either RRPC form), posts, events and desired values.
 *
 * Every request is checked against the TSL first (all or nothing: 400 when the envelope is unreadable,
 * 460 naming the identifier and the rule), then handed out: the light's properties to the light, bound
 * properties to their bindings, the rest (and every service) to the local program that claimed the device
 * over D-Bus. Whatever nobody serves is answered with a device code, never with silence. The reply goes out
 * once every part has answered or its deadline has passed; then the values the hardware actually took are
 * posted (the set_reply does not update the cloud's stored value, the post does:
 * https://help.aliyun.com/document_detail/89301.htm).
 *
 * The Device reaches the rest of the daemon only through DeviceHost. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "alink.h"
#include "binding.h"
#include "macro.h"
#include "tsl.h"

struct json_object;

/* Device-defined reply codes (100000-110000, https://www.alibabacloud.com/help/doc-detail/89309.html),
 * numbered as Alibaba's Link IoT Edge numbers them (linkedge-thing-access-sdk-c, include/le_error.h). */
enum {
        DEVICE_CODE_TIMEOUT = 100006,         /* the handler did not answer within its deadline */
        DEVICE_CODE_UNREACHABLE = 100008,     /* nothing serves it: no binding, no handler */
        DEVICE_CODE_HANDLER_FAILED = 100009,  /* the handler's answer was not usable */
        DEVICE_CODE_NO_SUCH_SERVICE = 109005, /* the thing model has no such service */
};

#define DEVICE_HANDLER_TIMEOUT_USEC (5 * USEC_PER_SEC)

typedef struct Device Device;

/* What a handler (or a local caller) answered: code 200 with output (JSON text, may be NULL), or an error
 * code with message. */
typedef void (*DeviceCallDone)(int code, const char *text, void *userdata);

typedef struct DeviceHost {
        int (*publish)(void *userdata, const char *topic, const char *payload, int qos);
        int (*queue_post)(void *userdata, const char *topic, const char *payload);
        char *(*new_message_id)(void *userdata);
        /* The light (src/light), when the product has one: is identifier one of its properties; apply
         * params (only such properties) now and return the Alink code, with the properties it shows
         * after (a new object) and, for a code other than 200, what it means. */
        bool (*is_light_property)(void *userdata, const char *identifier);
        int (*set_light)(void *userdata, struct json_object *params, struct json_object **ret_actual,
                const char **ret_message);
        /* The claiming program: NULL when none (or a call that failed at once: -ENOTCONN). The call
         * answers through done, within timeout; *ret_slot cancels it when unref'ed. */
        int (*handler_set)(void *userdata, Device *d, const char *params_json, uint64_t timeout_usec,
                DeviceCallDone done, void *done_userdata, sd_bus_slot **ret_slot);
        int (*handler_call)(void *userdata, Device *d, const char *service, const char *params_json,
                uint64_t timeout_usec, DeviceCallDone done, void *done_userdata, sd_bus_slot **ret_slot);
        /* The known values (device_get_properties()), the feedback counters or Online changed. */
        void (*changed)(void *userdata, Device *d);
        /* A property set was applied (for the D-Bus PropertySet signal): the params as the cloud sent them.
         */
        void (*property_set)(void *userdata, const char *params_json);
        void *userdata;
} DeviceHost;

typedef struct DeviceConfig {
        const char *product_key, *device_name;
        const Tsl *tsl;                /* borrowed; outlives the Device */
        const BindingConfig *bindings; /* borrowed, n_bindings of them */
        size_t n_bindings;
        uint64_t handler_timeout_usec; /* 0: DEVICE_HANDLER_TIMEOUT_USEC */
} DeviceConfig;

int device_new(Device **ret, sd_event *e, const DeviceConfig *c, const DeviceHost *host);
Device *device_free(Device *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Device *, device_free);

const char *device_product_key(const Device *d);
const char *device_device_name(const Device *d);
const AlinkTopics *device_topics(const Device *d);
const Tsl *device_tsl(const Device *d);

/* From the cloud. The topic kinds of alink_topic_classify(); name as it gives it. */
void device_handle_property_set(Device *d, const void *payload, size_t len);
void device_handle_service(Device *d, AlinkTopicKind kind, const char *topic, const char *name,
        size_t name_len, const void *payload, size_t len);
void device_handle_post_reply(
        Device *d, const char *event, size_t event_len, const void *payload, size_t len);
void device_handle_desired_reply(Device *d, AlinkTopicKind kind, const void *payload, size_t len);
/* After each connect: post what the device shows, ask for the desired values of writable properties. */
void device_connected(Device *d);

/* From local programs. Each checks against the TSL first: ALINK_E_INVALID with *ret_error. */
int device_post_properties(Device *d, const char *params_json, char **ret_error);
int device_post_event(Device *d, const char *event, const char *output_json, char **ret_error);
/* A set through the same path as the cloud's (no set_reply): done gets the code and message. */
int device_set_properties(
        Device *d, const char *params_json, DeviceCallDone done, void *userdata, char **ret_error);
/* A service call through the handler, as from the cloud but answered through done (code, output JSON or
 * message). */
int device_call_service(Device *d, const char *service, const char *params_json, DeviceCallDone done,
        void *userdata, char **ret_error);
/* After a (sub-device's) login: its last known values go first, then as device_connected(). */
void device_post_snapshot(Device *d);
/* The light changed outside a set (D-Bus SetLed and the like): post its properties. */
int device_post_light(Device *d, struct json_object *params);

/* The session to the cloud is up or down (the D-Bus Online and State properties). */
void device_set_online(Device *d, bool online);
bool device_is_online(const Device *d);

/* The last known values, as a JSON object text (borrowed until the next change). */
const char *device_get_properties(Device *d);
/* Properties the cloud refused in post_replies (each identifier counted once, logged once). */
uint64_t device_get_refused(const Device *d);
