/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* cloud-client.c: the cloud's side of the integration tests, a plain libmosquitto client.
 *
 * Connects over TLS as the broker plugin's cloud user, subscribes (waiting for every SUBACK), then
 * publishes what it was given, and prints each message it receives as one line "TOPIC PAYLOAD" on stdout
 * (flushed at once, so a test can wait on the file). It exits 0 once every --expect topic has been seen
 * (or after --count messages), and 1 with a message on stderr when --timeout passes first. With --sub
 * but neither --expect nor --count it listens until the timeout and exits 0. --keep-session (with --id) asks
 * the broker to keep the session and queue messages while the client is gone; --time prefixes each line
 * with the receive time in epoch milliseconds; --retain publishes
 * retained messages. --device PK DN SECRET connects as that device instead of the cloud, with the client
 * id, user name and password the daemon computes (src/cloud/alink-sign.c: hmacsha256 over
 * "clientId<pk>.<dn>deviceName<dn>productKey<pk>timestamp<ts>", "_ss=1" in the client id), so the same
 * client can play a gateway against the broker plugin; --sub-after subscribes once every publish is
 * acknowledged (after the login of a sub-device whose topics it names) and prints "# subscribed after
 * publishing". A test tool, not part of the daemon: it may block
 * in mosquitto_loop() with a timeout. */
#include <getopt.h>
#include <mosquitto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloud-session.h"

#define MAX_ITEMS 512

static const char *id;
static int qos = 1, count = -1;
static double timeout_s = 10;
static const char *subs[MAX_ITEMS], *expects[MAX_ITEMS], *pubs[MAX_ITEMS][2], *late_subs[MAX_ITEMS];
static size_t pub_lens[MAX_ITEMS];
static int n_subs, n_expects, n_pubs, n_received, subacks, n_late_subs, late_mid = -1;
static bool late_subscribed;
static bool seen[MAX_ITEMS], subscribed, connected_ok, failed, keep_session, print_time;

static double now(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (double) ts.tv_sec + (double) ts.tv_nsec / 1e9;
}

static int n_published;
static bool retain; /* --retain: publish retained messages */

static bool done(void)
{
        if (n_published < n_pubs || (n_late_subs > 0 && !late_subscribed))
                return false;
        if (count > 0 && n_received >= count)
                return true;
        if (n_expects == 0)
                return count == 0 || (count < 0 && n_subs == 0);
        for (int i = 0; i < n_expects; i++)
                if (!seen[i])
                        return false;
        return true;
}

/* --sub-after: subscribed once every publish is acknowledged (a gateway subscribes to a sub-device's
 * topics only after its login). */
static void on_publish(struct mosquitto *m, void *u, int mid)
{
        (void) u;
        (void) mid;
        if (++n_published == n_pubs && n_late_subs > 0 &&
                mosquitto_subscribe_multiple(m, &late_mid, n_late_subs, (char *const *) late_subs, 1, 0,
                        NULL) != MOSQ_ERR_SUCCESS)
                failed = true;
}

static void publish_all(struct mosquitto *m)
{
        for (int i = 0; i < n_pubs; i++) {
                int rc = mosquitto_publish(m, NULL, pubs[i][0], (int) pub_lens[i], pubs[i][1], qos, retain);
                if (rc != MOSQ_ERR_SUCCESS) {
                        fprintf(stderr, "cloud-client: publish to %s failed: %s\n", pubs[i][0],
                                mosquitto_strerror(rc));
                        failed = true;
                }
        }
        subscribed = true;
}

static void on_connect(struct mosquitto *m, void *u, int rc)
{
        (void) u;
        if (rc != 0) {
                fprintf(stderr, "cloud-client: connection refused: %s\n", mosquitto_connack_string(rc));
                failed = true;
                return;
        }
        connected_ok = true;
        for (int i = 0; i < n_subs; i++)
                if (mosquitto_subscribe(m, NULL, subs[i], 1) != MOSQ_ERR_SUCCESS)
                        failed = true;
        if (n_subs == 0)
                publish_all(m);
}

static void on_subscribe(struct mosquitto *m, void *u, int mid, int n, const int *granted)
{
        (void) u;
        for (int i = 0; i < n; i++)
                if (granted[i] >= 0x80) {
                        fprintf(stderr, "cloud-client: subscription refused\n");
                        failed = true;
                }
        if (mid == late_mid) {
                printf("# subscribed after publishing\n");
                fflush(stdout);
                late_subscribed = true;
                return;
        }
        if (++subacks == n_subs) {
                printf("# subscribed\n");
                fflush(stdout);
                publish_all(m);
        }
}

static void on_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
        (void) m;
        (void) u;
        if (print_time) {
                struct timespec ts;
                clock_gettime(CLOCK_REALTIME, &ts);
                printf("%lld ", (long long) ts.tv_sec * 1000 + ts.tv_nsec / 1000000);
        }
        printf("%s %.*s\n", msg->topic, msg->payloadlen, (const char *) msg->payload);
        fflush(stdout);
        n_received++;
        for (int i = 0; i < n_expects; i++) {
                bool match = false;
                if (mosquitto_topic_matches_sub(expects[i], msg->topic, &match) == MOSQ_ERR_SUCCESS && match)
                        seen[i] = true;
        }
}

/* The login of a device (https://help.aliyun.com/document_detail/73742.html), as the daemon makes it. */
#define DEVICE_TIMESTAMP "2524608000000"
static char device_id[300], device_user[300], device_pass[2 * EVP_MAX_MD_SIZE + 1];

static int device_login(const char *pk, const char *dn, const char *secret)
{
        char content[1024];
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;

        if (strlen(pk) > 64 || strlen(dn) > 64) {
                fprintf(stderr,
                        "cloud-client: --device: product key and device name have at most 64 characters\n");
                return -1;
        }
        snprintf(device_id, sizeof(device_id),
                "%s.%s|timestamp=" DEVICE_TIMESTAMP ",_ss=1,securemode=2,signmethod=hmacsha256,ext=3|", pk,
                dn);
        snprintf(device_user, sizeof(device_user), "%s&%s", dn, pk);
        snprintf(content, sizeof(content), "clientId%s.%sdeviceName%sproductKey%stimestamp" DEVICE_TIMESTAMP,
                pk, dn, dn, pk);
        if (!HMAC(EVP_sha256(), secret, (int) strlen(secret), (const unsigned char *) content,
                    strlen(content), mac, &mac_len))
                return -1;
        for (unsigned i = 0; i < mac_len; i++)
                snprintf(device_pass + 2 * i, 3, "%02x", mac[i]);
        return 0;
}

static void usage(void)
{
        fprintf(stderr, "usage: cloud-client --port N --cafile F [--host H] [--user U --pass P] [--id ID]\n"
                        "  [--sub FILTER]... [--pub TOPIC PAYLOAD]... [--pub-file TOPIC FILE]... [--qos "
                        "0|1] [--expect FILTER]...\n"
                        "  [--count N] [--timeout SECONDS] [--keep-session] [--time] [--retain]\n"
                        "  [--device PK DN SECRET] [--sub-after FILTER]...\n");
        exit(2);
}

int main(int argc, char *argv[])
{
        static const struct option options[] = {
                CLOUD_LONG_OPTIONS,
                {"id", required_argument, NULL, 'i'},
                {"sub", required_argument, NULL, 's'},
                {"pub", required_argument, NULL, 'b'},
                {"pub-file", required_argument, NULL, 'f'},
                {"qos", required_argument, NULL, 'q'},
                {"expect", required_argument, NULL, 'e'},
                {"count", required_argument, NULL, 'n'},
                {"timeout", required_argument, NULL, 't'},
                {"keep-session", no_argument, NULL, 'k'},
                {"time", no_argument, NULL, 'T'},
                {"retain", no_argument, NULL, 'r'},
                {"device", required_argument, NULL, 'd'},
                {"sub-after", required_argument, NULL, 'a'},
                {},
        };
        CloudOptions o = CLOUD_OPTIONS_INIT;
        const char *device_pk = NULL, *device_dn = NULL, *device_secret = NULL;
        struct mosquitto *m;
        double deadline;
        int c;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (cloud_option(&o, c, optarg))
                        continue;
                switch (c) {
                case 'i':
                        id = optarg;
                        break;
                case 'r':
                        retain = true;
                        break;
                case 'a':
                        if (n_late_subs < MAX_ITEMS)
                                late_subs[n_late_subs++] = optarg;
                        break;
                case 'd': /* --device PK DN SECRET */
                        if (optind + 1 >= argc)
                                usage();
                        device_pk = optarg;
                        device_dn = argv[optind++];
                        device_secret = argv[optind++];
                        break;
                case 's':
                        if (n_subs < MAX_ITEMS)
                                subs[n_subs++] = optarg;
                        break;
                case 'b':
                        if (optind >= argc || n_pubs >= MAX_ITEMS)
                                usage();
                        pubs[n_pubs][0] = optarg;
                        pub_lens[n_pubs] = strlen(argv[optind]);
                        pubs[n_pubs++][1] = argv[optind++];
                        break;
                case 'f': { /* --pub-file TOPIC FILE: any bytes, any size */
                        FILE *f;
                        char *buf = NULL;
                        size_t size = 0;

                        if (optind >= argc || n_pubs >= MAX_ITEMS)
                                usage();
                        f = fopen(argv[optind], "re");
                        if (!f) {
                                perror(argv[optind]);
                                return 2;
                        }
                        for (;;) {
                                char *t = realloc(buf, size + 65536);
                                size_t k;
                                if (!t)
                                        return 2;
                                buf = t;
                                k = fread(buf + size, 1, 65536, f);
                                size += k;
                                if (k == 0)
                                        break;
                        }
                        fclose(f);
                        pubs[n_pubs][0] = optarg;
                        pub_lens[n_pubs] = size;
                        pubs[n_pubs++][1] = buf;
                        optind++;
                        break;
                }
                case 'q':
                        qos = atoi(optarg);
                        break;
                case 'e':
                        if (n_expects < MAX_ITEMS)
                                expects[n_expects++] = optarg;
                        break;
                case 'n':
                        count = atoi(optarg);
                        break;
                case 't':
                        timeout_s = atof(optarg);
                        break;
                case 'k':
                        keep_session = true;
                        break;
                case 'T':
                        print_time = true;
                        break;
                default:
                        usage();
                }
        }
        if (!o.cafile)
                usage();
        if (device_pk) {
                if (device_login(device_pk, device_dn, device_secret) < 0)
                        return 2;
                id = device_id;
                o.user = device_user;
                o.pass = device_pass;
        }

        /* --keep-session: the broker keeps the subscriptions and queues QoS 1 messages while we are away. */
        if (keep_session && !id)
                usage();
        m = cloud_new(&o, id, !keep_session, NULL);
        if (!m)
                return 1;
        mosquitto_connect_callback_set(m, on_connect);
        mosquitto_subscribe_callback_set(m, on_subscribe);
        mosquitto_message_callback_set(m, on_message);
        mosquitto_publish_callback_set(m, on_publish);

        if (cloud_connect(m, &o, "cloud-client") < 0)
                return 1;
        deadline = now() + timeout_s;
        while (!failed && !(subscribed && done())) {
                double left = deadline - now();
                if (left <= 0) {
                        if (n_expects == 0 && count < 0 && n_subs > 0)
                                break; /* listen mode: run until the timeout */
                        fprintf(stderr, "cloud-client: timed out after %.1f s (%d message(s) received)\n",
                                timeout_s, n_received);
                        failed = true;
                        break;
                }
                if (cloud_loop(m, (int) (left * 1000 < 100 ? left * 1000 + 1 : 100), "cloud-client") < 0)
                        failed = true;
        }
        cloud_close(m);
        return failed ? 1 : 0;
}
