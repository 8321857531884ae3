/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* alink-gateway.h: the gateway's messages for its sub-devices, as pure functions: topology (thing/topo/add,
 * get, delete, change) and sessions (combine/batch_login, batch_logout) on the gateway's own topics, and the
 * notifications about sub-devices (/ext/error).
 *
 * Sources: "Manage topological relationships"
 * (https://help.aliyun.com/en/iot/user-guide/manage-topological-relationships), "Connect or disconnect
 * sub-devices" (https://help.aliyun.com/en/iot/user-guide/connect-or-disconnect-sub-devices), "Notify
 * gateways of topology changes" (https://help.aliyun.com/zh/marketplace/notify-gateway-topology-changes),
 * Link SDK C 4.2 components/subdev/aiot_subdev_api.c.
 *
 * Nothing here logs, keeps state or does I/O. Builders return malloc'ed JSON; parsers take any bytes and
 * return ALINK_E_INVALID with a message, never trusting a size. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "alink.h"

/* Per request: topo/add takes at most 30 entries, combine/batch_login 50 (DOC "Limits"). */
#define ALINK_TOPO_ADD_MAX 30
#define ALINK_BATCH_LOGIN_MAX 50
/* The gateway may log in at most 200 sub-devices a second, and have at most 2,000 online. */
#define ALINK_SUBDEV_LOGINS_PER_SECOND 200
#define ALINK_SUBDEV_ONLINE_MAX 2000

/* Codes the platform answers a gateway with (besides 200, 429, 460). */
enum {
        ALINK_CODE_SUBDEV_NO_SESSION = 520,    /* /ext/error: that sub-device has no session: log it in */
        ALINK_CODE_SUBDEV_DELETED = 521,       /* deleted in the console: park it */
        ALINK_CODE_SUBDEV_FORBIDDEN = 522,     /* disabled: wait for thing/enable */
        ALINK_CODE_SUBDEV_TOO_MANY = 428,      /* the gateway's online limit */
        ALINK_CODE_SUBDEV_NOT_FOUND = 6100,    /* no such device: park it */
        ALINK_CODE_SUBDEV_INVALID_SIGN = 6287, /* wrong DeviceSecret: park it */
        ALINK_CODE_SUBDEV_NO_TOPO = 6401,      /* not bound to this gateway: topo/add, then log in */
};

typedef struct AlinkGatewayTopics {
        char *topo_add, *topo_add_reply;
        char *topo_get, *topo_get_reply;
        char *topo_delete, *topo_delete_reply;
        char *topo_change;           /* down */
        char *login, *login_reply;   /* /ext/session/gwPk/gwDn/combine/batch_login */
        char *logout, *logout_reply; /* .../combine/batch_logout */
        char *error;                 /* /ext/error/gwPk/gwDn, down */
} AlinkGatewayTopics;

int alink_gateway_topics_init(AlinkGatewayTopics *t, const char *gw_product_key, const char *gw_device_name);
void alink_gateway_topics_done(AlinkGatewayTopics *t);

typedef enum AlinkGatewayTopicKind {
        ALINK_GATEWAY_TOPIC_UNKNOWN,
        ALINK_GATEWAY_TOPIC_TOPO_ADD_REPLY,
        ALINK_GATEWAY_TOPIC_TOPO_GET_REPLY,
        ALINK_GATEWAY_TOPIC_TOPO_DELETE_REPLY,
        ALINK_GATEWAY_TOPIC_TOPO_CHANGE,
        ALINK_GATEWAY_TOPIC_LOGIN_REPLY,
        ALINK_GATEWAY_TOPIC_LOGOUT_REPLY,
        ALINK_GATEWAY_TOPIC_ERROR,
        _ALINK_GATEWAY_TOPIC_KIND_MAX,
} AlinkGatewayTopicKind;

AlinkGatewayTopicKind alink_gateway_topic_classify(const AlinkGatewayTopics *t, const char *topic);

/* The device a topic is about: /sys/pk/dn/..., /ext/rrpc/<id>/sys/pk/dn/..., /pk/dn/user/...,
 * /ota/device/<kind>/pk/dn. 0 with the two (malloc'ed), or -EINVAL. */
int alink_topic_device(const char *topic, char **ret_product_key, char **ret_device_name);

/* A sub-device as the builders need it: its identity, and its secret to sign with. */
typedef struct AlinkSubdevice {
        const char *product_key, *device_name, *device_secret;
} AlinkSubdevice;

/* thing.topo.add for n (1..ALINK_TOPO_ADD_MAX) sub-devices, each signed (hmacSha256) at timestamp_ms. */
int alink_build_topo_add(
        const char *id, const AlinkSubdevice *s, size_t n, uint64_t timestamp_ms, char **ret);
/* thing.topo.get, with a real empty object for params. */
int alink_build_topo_get(const char *id, char **ret);
/* thing.topo.delete, and combine/batch_logout: params [{"productKey","deviceName"}...] (n >= 1). */
int alink_build_topo_delete(const char *id, const AlinkSubdevice *s, size_t n, char **ret);
int alink_build_batch_logout(const char *id, const AlinkSubdevice *s, size_t n, char **ret);
/* combine/batch_login for n (1..ALINK_BATCH_LOGIN_MAX): client ids "pk.dn|_ss=1|" (the platform's
 * auto-subscription for the sub-device's topics), cleanSession "false", signed (hmacSha256). */
int alink_build_batch_login(
        const char *id, const AlinkSubdevice *s, size_t n, uint64_t timestamp_ms, char **ret);

typedef struct AlinkDeviceId {
        char *product_key, *device_name;
} AlinkDeviceId;

/* A reply to a gateway request or a notification: code (a number or a string), message, and the devices
 * data names (an array of {productKey, deviceName}, or one such object; topo/change's subList). */
typedef struct AlinkGatewayReply {
        char *id;
        int64_t code;
        char *message;
        int64_t status; /* topo/change: 0 created, 1 deleted, 2 enabled, 8 disabled; -1 otherwise */
        AlinkDeviceId *devices;
        size_t n_devices;
} AlinkGatewayReply;

void alink_gateway_reply_done(AlinkGatewayReply *r);
/* Replies and /ext/error: id optional, code required. topo/change: params.status and params.subList. */
int alink_parse_gateway_reply(const void *payload, size_t len, AlinkGatewayReply *r, char **ret_error);
int alink_parse_topo_change(const void *payload, size_t len, AlinkGatewayReply *r, char **ret_error);
