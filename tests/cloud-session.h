/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cloud-session.h: the cloud's connection to the test broker, shared by tests/cloud-client.c and
 * bench/bench-cloud.c. Their common options (--host, --port, --cafile, --user, --pass) and the client they
 * make from them: MQTT 3.1.1, TCP_NODELAY, the broker plugin's cloud user, TLS with the test CA. Test and
 * bench tools only, never the daemon (mosquitto.h belongs to mqtt-session.c there). */
#pragma once

#include <getopt.h>
#include <mosquitto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

typedef struct CloudOptions {
        const char *host, *cafile, *user, *pass;
        int port;
} CloudOptions;

#define CLOUD_OPTIONS_INIT                                                                                  \
        ((CloudOptions){.host = "127.0.0.1", .user = "cloud", .pass = "cloud-secret", .port = 8883})

/* The entries of the getopt_long() table for them; cloud_option() takes their values. */
#define CLOUD_LONG_OPTIONS                                                                                  \
        {"host", required_argument, NULL, 'h'}, {"port", required_argument, NULL, 'p'},                     \
                {"cafile", required_argument, NULL, 'c'}, {"user", required_argument, NULL, 'u'},           \
        {                                                                                                   \
                "pass", required_argument, NULL, 'P'                                                        \
        }

/* true when c was one of them (and its value is now in o). */
static inline bool cloud_option(CloudOptions *o, int c, const char *arg)
{
        switch (c) {
        case 'h':
                o->host = arg;
                return true;
        case 'p':
                o->port = atoi(arg);
                return true;
        case 'c':
                o->cafile = arg;
                return true;
        case 'u':
                o->user = arg;
                return true;
        case 'P':
                o->pass = arg;
                return true;
        default:
                return false;
        }
}

/* A client, not yet connected (set the callbacks, then cloud_connect()); NULL without memory. */
static inline struct mosquitto *cloud_new(
        const CloudOptions *o, const char *id, bool clean_session, void *userdata)
{
        struct mosquitto *m;

        mosquitto_lib_init();
        m = mosquitto_new(id, clean_session, userdata);
        if (!m)
                return NULL;
        mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
        mosquitto_username_pw_set(m, o->user, o->pass);
        mosquitto_tls_set(m, o->cafile, NULL, NULL, NULL, NULL);
        return m;
}

/* Connects (TCP and CONNECT; CONNACK comes through the loop); says why on stderr when it cannot. */
static inline int cloud_connect(struct mosquitto *m, const CloudOptions *o, const char *program)
{
        int rc = mosquitto_connect(m, o->host, o->port, 60);

        if (rc != MOSQ_ERR_SUCCESS)
                fprintf(stderr, "%s: cannot connect to %s:%d: %s\n", program, o->host, o->port,
                        mosquitto_strerror(rc));
        return rc == MOSQ_ERR_SUCCESS ? 0 : -1;
}

/* One turn of libmosquitto's loop, up to timeout_ms; says on stderr when the connection is lost. (NO_CONN,
 * between the TCP connect and CONNACK, is not a loss.) */
static inline int cloud_loop(struct mosquitto *m, int timeout_ms, const char *program)
{
        int rc = mosquitto_loop(m, timeout_ms, 1);

        if (rc != MOSQ_ERR_SUCCESS && rc != MOSQ_ERR_NO_CONN) {
                fprintf(stderr, "%s: connection lost: %s\n", program, mosquitto_strerror(rc));
                return -1;
        }
        return 0;
}

/* Disconnects after flushing our own publishes, and frees what cloud_new() set up. */
static inline void cloud_close(struct mosquitto *m)
{
        mosquitto_disconnect(m);
        mosquitto_loop(m, 100, 1);
        mosquitto_destroy(m);
        mosquitto_lib_cleanup();
}
