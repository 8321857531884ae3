/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* mqtt-session.h: one MQTT 3.1.1 session over TLS, driven by sd-event. The only user of mosquitto.h.
 *
 * Owns the libmosquitto handle, its socket's io source, the keepalive and reconnect timers, the backoff
 * state and the connection statistics. It connects, verifies the server (always: peer and host name),
 * subscribes to its topic list after every CONNACK and waits for the SUBACKs, keeps the link alive, notices
 * a dead link, and reconnects with backoff. It never sleeps and never runs a libmosquitto thread: the
 * socket is watched for EPOLLIN always and for EPOLLOUT only while libmosquitto wants to write.
 *
 * It does not know Alink: the Manager hands in the credentials and topics and receives messages through
 * the handlers. The password is held (it is needed for every reconnect), never logged, and wiped on free.
 *
 * A host name with addresses of both families: when the TCP connect over one fails, the next attempt is
 * made over the other (libmosquitto itself tries only the first address).
 *
 * Known risk: libmosquitto resolves the host name with a blocking getaddrinfo() inside
 * mosquitto_connect_async() (lib/net_mosq.c); a slow resolver stalls the loop for that long. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "backoff.h"
#include "macro.h"

typedef struct MqttSession MqttSession;

typedef enum MqttState {
        MQTT_STATE_IDLE,       /* not started, or stopped */
        MQTT_STATE_CONNECTING, /* TCP, TLS, CONNECT, waiting for CONNACK and SUBACKs */
        MQTT_STATE_CONNECTED,  /* CONNACK accepted and every SUBACK in */
        MQTT_STATE_BACKOFF,    /* waiting for the next attempt */
        _MQTT_STATE_MAX,
} MqttState;

typedef struct MqttSessionConfig {
        const char *host;
        uint16_t port;
        unsigned keepalive;  /* seconds */
        const char *ca_file; /* NULL: none */
        const char *ca_path; /* hashed directory, e.g. /etc/ssl/certs; NULL: none */
        const char *client_id;
        const char *username;
        const char *password;
        bool clean_session;
        char *const *subscriptions; /* NULL-terminated topic filters */
        /* The connection attempts of this identity, owned by the caller so that they outlive the session:
         * the platform's limit of connects a minute is per device, whichever session object makes them
         * (a reload, Reconnect). NULL: the session keeps its own. */
        Backoff *backoff;
} MqttSessionConfig;

typedef struct MqttSessionHandlers {
        /* Every state change; why is the last error when entering BACKOFF (else NULL), retry_usec the delay.
         */
        void (*state_changed)(
                MqttSession *s, MqttState state, const char *why, uint64_t retry_usec, void *userdata);
        /* A message arrived on a subscribed topic. payload is not NUL-terminated. retained: the broker
         * replayed a stored message because we subscribed, rather than forwarding a new one. */
        void (*message)(MqttSession *s, const char *topic, const void *payload, size_t len, int qos,
                bool retained, void *userdata);
        /* The broker acknowledged the QoS 1 publish with this message id. */
        void (*published)(MqttSession *s, int mid, void *userdata);
} MqttSessionHandlers;

typedef struct MqttStats {
        uint64_t connected_since_usec; /* CLOCK_REALTIME, 0 when not connected */
        unsigned reconnects;
        uint64_t messages_sent, messages_received;
        uint64_t bytes_sent, bytes_received; /* payload bytes */
        uint64_t server_cert_not_after_usec; /* CLOCK_REALTIME expiry of the server's certificate, 0 unknown
                                              */
} MqttStats;

int mqtt_session_new(MqttSession **ret, sd_event *event, const MqttSessionConfig *config,
        const MqttSessionHandlers *handlers, void *userdata);
/* Sends DISCONNECT when connected, closes the socket, releases every source. Accepts NULL. */
MqttSession *mqtt_session_free(MqttSession *s);
DEFINE_TRIVIAL_CLEANUP_FUNC(MqttSession *, mqtt_session_free);

/* Start connecting now (from IDLE), or drop the current connection and reconnect at once. */
int mqtt_session_start(MqttSession *s);
int mqtt_session_reconnect(MqttSession *s);
/* Send DISCONNECT, close, go IDLE; no reconnect. */
void mqtt_session_stop(MqttSession *s);

/* Publish; ret_mid (may be NULL) receives the message id for QoS 1. -ENOTCONN when not connected,
 * -EMSGSIZE over the platform limit, -EINVAL for a bad topic. */
int mqtt_session_publish(
        MqttSession *s, const char *topic, const void *payload, size_t len, int qos, int *ret_mid);

MqttState mqtt_session_get_state(const MqttSession *s);
const char *mqtt_state_to_string(MqttState state);
const MqttStats *mqtt_session_get_stats(const MqttSession *s);
/* The reason of the last failure, or NULL. */
const char *mqtt_session_get_last_error(const MqttSession *s);

/* Process-wide library setup; call once before mqtt_session_new() and once at exit. */
int mqtt_library_init(void);
void mqtt_library_cleanup(void);
