/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* gateway.h: the gateway's sub-devices, their topology and their sessions over the gateway's own
 * connection (Alibaba's gateway model: "Manage topological relationships",
 * https://help.aliyun.com/en/iot/user-guide/manage-topological-relationships, and "Connect or disconnect
 * sub-devices", https://help.aliyun.com/en/iot/user-guide/connect-or-disconnect-sub-devices).
 *
 * After every connect: thing/topo/get; thing/topo/add for the sub-devices not bound yet (at most 30 a
 * request); then combine/batch_login, at most 50 a batch, 200 logins a second and 2,000 online. The
 * platform answers these at QoS 0, so every request has a reply timeout and is sent again, with backoff.
 * A batch fails as a whole: it is split until the bad entries stand alone. Per code: 429 backs off the
 * whole queue, 428 stops adding (and says so), 6401 binds the sub-device again, 6100 and 521 park it,
 * 522 waits for thing/enable, 6287 (a wrong secret) parks it with a log line that names the device and
 * never the secret. /ext/error 520 logs that one in again; topo/change and thing/disable, enable and
 * delete are followed (and answered). On stop, combine/batch_logout.
 *
 * One request is in flight at a time. The Gateway owns copies of the secrets (wiped when freed) and
 * reaches the rest of the daemon only through GatewayHost. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <systemd/sd-event.h>

#include "alink-gateway.h"
#include "macro.h"

typedef enum SubdevState {
        SUBDEV_OFFLINE,    /* waiting to be bound or logged in (or for the gateway to connect) */
        SUBDEV_BINDING,    /* in a topo/add */
        SUBDEV_LOGGING_IN, /* in a batch_login */
        SUBDEV_ONLINE,
        SUBDEV_DISABLED, /* disabled in the console: waits for thing/enable */
        SUBDEV_PARKED,   /* refused for good (wrong secret, deleted, not found): see its error */
        _SUBDEV_STATE_MAX,
        _SUBDEV_STATE_INVALID = -22,
} SubdevState;

const char *subdev_state_to_string(SubdevState s);

typedef struct Gateway Gateway;

typedef struct GatewayHost {
        int (*publish)(void *userdata, const char *topic, const char *payload, int qos);
        char *(*new_message_id)(void *userdata);
        /* A sub-device came online or went off (any other state). */
        void (*online_changed)(
                void *userdata, const char *product_key, const char *device_name, bool online);
        void *userdata;
} GatewayHost;

int gateway_new(Gateway **ret, sd_event *e, const char *gw_product_key, const char *gw_device_name,
        const GatewayHost *host);
Gateway *gateway_free(Gateway *g);
DEFINE_TRIVIAL_CLEANUP_FUNC(Gateway *, gateway_free);

const AlinkGatewayTopics *gateway_topics(const Gateway *g);

/* A sub-device to keep online (its secret is copied). -EEXIST when it is there already. */
int gateway_add(Gateway *g, const char *product_key, const char *device_name, const char *device_secret);
/* Logs it out (and, with unbind, removes its topology) and forgets it; -ENOENT when unknown. */
int gateway_remove(Gateway *g, const char *product_key, const char *device_name, bool unbind);

/* The gateway's session: up (start over: topology, then logins) or down (everything offline). */
void gateway_connected(Gateway *g);
void gateway_disconnected(Gateway *g);
/* Stopping: a batch_logout of what is online (best effort: the session ends right after). */
void gateway_stop(Gateway *g);

/* A message on one of gateway_topics()'s topics: true when it was one. */
bool gateway_handle_message(Gateway *g, const char *topic, const void *payload, size_t len);
/* thing/disable, thing/enable, thing/delete on a sub-device's own topics: true when it was one of those
 * (and it is answered on <topic>_reply). */
bool gateway_handle_subdev_message(Gateway *g, const char *product_key, const char *device_name,
        const char *topic, const void *payload, size_t len);

SubdevState gateway_get_state(
        Gateway *g, const char *product_key, const char *device_name, const char **ret_error);
size_t gateway_n_online(const Gateway *g);
size_t gateway_n_subdevices(const Gateway *g);
