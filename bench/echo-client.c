/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* echo-client.c: the floor ali-linkd's latency and footprint are measured against (make bench).
 *
 * The least a device can do and still answer the cloud's property sets the way ali-linkd does: one
 * libmosquitto client, the same broker, the same TLS (a CA file or a hashed CA directory, as ali-linkd's
 * ca_file and ca_path; peer and host name verified, TLS 1.2 at least), TCP_NODELAY, the device's Alink login
 * (client id, user name, HMAC-SHA256 password over the secret read from a file), MQTT 3.1.1, keepalive 60 s.
 * It subscribes to its property/set topic at QoS 1 and answers each set with {"id":ID,"code":200,"data":{}}
 * on set_reply at QoS 0, taking the id with strstr() instead of a JSON parser. Nothing else: no LEDs, no
 * outbox, no D-Bus, no logging, libmosquitto's own loop (mosquitto_loop_forever). It prints "# subscribed"
 * once its SUBACK arrives and exits when the connection is lost. A bench tool, not part of the daemon. */
#include <getopt.h>
#include <mosquitto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char set_topic[256], reply_topic[256];

static void on_connect(struct mosquitto *m, void *u, int rc)
{
        (void) u;
        if (rc != 0) {
                fprintf(stderr, "echo-client: connection refused: %s\n", mosquitto_connack_string(rc));
                exit(1);
        }
        if (mosquitto_subscribe(m, NULL, set_topic, 1) != MOSQ_ERR_SUCCESS)
                exit(1);
}

static void on_subscribe(struct mosquitto *m, void *u, int mid, int n, const int *granted)
{
        (void) m;
        (void) u;
        (void) mid;
        if (n < 1 || granted[0] >= 0x80) {
                fprintf(stderr, "echo-client: subscription refused\n");
                exit(1);
        }
        printf("# subscribed\n");
        fflush(stdout);
}

static void on_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
        char reply[160];
        const char *p, *end;
        int n;

        (void) u;
        /* The request's "id":"..." as it is; every request the bench sends has one. */
        p = memmem(msg->payload, (size_t) msg->payloadlen, "\"id\":\"", 6);
        if (!p)
                return;
        p += 6;
        end = memchr(p, '"', (size_t) ((const char *) msg->payload + msg->payloadlen - p));
        if (!end || end - p > 64)
                return;
        n = snprintf(reply, sizeof(reply), "{\"id\":\"%.*s\",\"code\":200,\"data\":{}}", (int) (end - p), p);
        (void) mosquitto_publish(m, NULL, reply_topic, n, reply, 0, false);
}

int main(int argc, char *argv[])
{
        static const struct option options[] = {
                {"host", required_argument, NULL, 'h'},
                {"port", required_argument, NULL, 'p'},
                {"cafile", required_argument, NULL, 'c'},
                {"capath", required_argument, NULL, 'C'},
                {"product-key", required_argument, NULL, 'k'},
                {"device-name", required_argument, NULL, 'd'},
                {"secret-file", required_argument, NULL, 's'},
                {},
        };
        const char *host = "127.0.0.1", *cafile = NULL, *capath = NULL, *pk = NULL, *dn = NULL,
                   *secret_file = NULL;
        char secret[128], client_id[300], username[300], content[600], password[2 * EVP_MAX_MD_SIZE + 1];
        unsigned char mac[EVP_MAX_MD_SIZE];
        unsigned mac_len = 0;
        struct mosquitto *m;
        int port = 8883, c, rc;
        FILE *f;

        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0)
                switch (c) {
                case 'h':
                        host = optarg;
                        break;
                case 'p':
                        port = atoi(optarg);
                        break;
                case 'c':
                        cafile = optarg;
                        break;
                case 'C':
                        capath = optarg;
                        break;
                case 'k':
                        pk = optarg;
                        break;
                case 'd':
                        dn = optarg;
                        break;
                case 's':
                        secret_file = optarg;
                        break;
                default:
                        return 2;
                }
        if ((!cafile && !capath) || !pk || !dn || !secret_file || strlen(pk) > 64 || strlen(dn) > 64) {
                fprintf(stderr, "usage: echo-client --port N --cafile F|--capath DIR --product-key PK "
                                "--device-name DN "
                                "--secret-file F [--host H]\n");
                return 2;
        }
        f = fopen(secret_file, "re");
        if (!f || !fgets(secret, sizeof(secret), f)) {
                perror(secret_file);
                return 1;
        }
        fclose(f);
        secret[strcspn(secret, "\r\n")] = 0;

        /* The Alink login (securemode=2: TLS, signmethod=hmacsha256, no timestamp). */
        snprintf(client_id, sizeof(client_id), "%s.%s|securemode=2,signmethod=hmacsha256|", pk, dn);
        snprintf(username, sizeof(username), "%s&%s", dn, pk);
        snprintf(content, sizeof(content), "clientId%s.%sdeviceName%sproductKey%s", pk, dn, dn, pk);
        if (!HMAC(EVP_sha256(), secret, (int) strlen(secret), (const unsigned char *) content,
                    strlen(content), mac, &mac_len))
                return 1;
        for (unsigned i = 0; i < mac_len; i++)
                snprintf(password + 2 * i, 3, "%02x", mac[i]);
        snprintf(set_topic, sizeof(set_topic), "/sys/%s/%s/thing/service/property/set", pk, dn);
        snprintf(reply_topic, sizeof(reply_topic), "/sys/%s/%s/thing/service/property/set_reply", pk, dn);

        mosquitto_lib_init();
        m = mosquitto_new(client_id, true, NULL);
        if (!m)
                return 1;
        mosquitto_int_option(m, MOSQ_OPT_PROTOCOL_VERSION, MQTT_PROTOCOL_V311);
        mosquitto_int_option(m, MOSQ_OPT_TCP_NODELAY, 1);
        mosquitto_username_pw_set(m, username, password);
        /* libmosquitto's defaults: the peer and its host name verified, TLS 1.2 at least. */
        if (mosquitto_tls_set(m, cafile, capath, NULL, NULL, NULL) != MOSQ_ERR_SUCCESS)
                return 1;
        mosquitto_connect_callback_set(m, on_connect);
        mosquitto_subscribe_callback_set(m, on_subscribe);
        mosquitto_message_callback_set(m, on_message);

        rc = mosquitto_connect(m, host, port, 60);
        if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "echo-client: cannot connect to %s:%d: %s\n", host, port,
                        mosquitto_strerror(rc));
                return 1;
        }
        rc = mosquitto_loop_forever(m, -1, 1);
        fprintf(stderr, "echo-client: %s\n", mosquitto_strerror(rc));
        mosquitto_destroy(m);
        mosquitto_lib_cleanup();
        return 1;
}
