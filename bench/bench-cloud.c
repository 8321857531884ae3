/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-cloud.c: the cloud's side of make bench, a libmosquitto client that times what it asks for.
 *
 *   rtt    Property sets at a steady rate, one device after the other (ali-linkd and the echo client in the
 *          same run, interleaved, so both see the same machine at the same moments). Each set is published
 *          at QoS 1; its round trip ends when the set_reply with its id arrives. Prints one line per device:
 *          "rtt DEVICE n=N lost=L dup=D bad=B p50=US p99=US min=US max=US mean=US" (microseconds).
 *   burst  COUNT property sets to one device as fast as this client can send them (no limit on QoS 1
 *          messages in flight), then waits until every id is answered. Also waits for the device's
 *          property post showing the last set's colour (posts are coalesced, the last state must arrive).
 *          Prints "burst DEVICE n=N answered=A duplicates=D bad=B elapsed_ms=MS post=ok|missing" (--no-post:
 *          "post=-", for a device that does not post, like the echo client).
 *   ota    Publishes an OTA push and waits for progress step "100" (downloaded, verified, installer run).
 *          Prints "ota DEVICE elapsed_ms=MS".
 *
 * Exit status 0 when everything was answered, 1 otherwise. A bench tool, not part of the daemon: it may
 * block in mosquitto_loop() with a timeout. */
#include <getopt.h>
#include <inttypes.h>
#include <mosquitto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cloud-session.h"

#define MAX_DEVICES 4

typedef struct Device {
        const char *name;
        char set_topic[256], reply_topic[256], post_topic[256], progress_topic[256];
        uint64_t *sent_ns; /* per request index; 0 = not sent */
        double *rtt_us;    /* per request index; < 0 = not answered */
        unsigned answered, duplicates, bad;
} Device;

static const char *pk;
static Device devices[MAX_DEVICES];
static int n_devices;
static unsigned count = 2000, rate = 100;
static double timeout_s = 60;
static const char *push_json;
static uint64_t id_base;
static bool subscribed, failed;
static int subacks;
static bool post_seen, post_wanted = true, progress_done, progress_failed;
static uint64_t progress_ns;

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static void on_connect(struct mosquitto *m, void *u, int rc)
{
        (void) u;
        if (rc != 0) {
                fprintf(stderr, "bench-cloud: connection refused: %s\n", mosquitto_connack_string(rc));
                failed = true;
                return;
        }
        for (int i = 0; i < n_devices; i++) {
                const char *topics[2] = {devices[i].reply_topic, devices[i].post_topic};

                if (push_json)
                        topics[0] = devices[i].progress_topic;
                if (mosquitto_subscribe_multiple(m, NULL, push_json ? 1 : 2, (char *const *) topics, 1, 0,
                            NULL) != MOSQ_ERR_SUCCESS)
                        failed = true;
        }
}

static void on_subscribe(struct mosquitto *m, void *u, int mid, int n, const int *granted)
{
        (void) m;
        (void) u;
        (void) mid;
        for (int i = 0; i < n; i++)
                if (granted[i] >= 0x80)
                        failed = true;
        if (++subacks == n_devices) /* one SUBACK per device */
                subscribed = true;
}

/* The request index in a reply {"id":"<id_base + index>",...}, or -1. */
static long reply_index(const struct mosquitto_message *msg)
{
        const char *p = memmem(msg->payload, (size_t) msg->payloadlen, "\"id\":\"", 6);
        char *end;
        unsigned long long id;

        if (!p)
                return -1;
        id = strtoull(p + 6, &end, 10);
        if (*end != '"' || id < id_base || id - id_base >= count)
                return -1;
        return (long) (id - id_base);
}

static void on_message(struct mosquitto *m, void *u, const struct mosquitto_message *msg)
{
        uint64_t t = now_ns();

        (void) m;
        (void) u;
        for (int i = 0; i < n_devices; i++) {
                Device *d = &devices[i];

                if (strcmp(msg->topic, d->reply_topic) == 0) {
                        long k = reply_index(msg);

                        if (k < 0 || d->sent_ns[k] == 0 ||
                                !memmem(msg->payload, (size_t) msg->payloadlen, "\"code\":200", 10)) {
                                d->bad++;
                                return;
                        }
                        if (d->rtt_us[k] >= 0) {
                                d->duplicates++;
                                return;
                        }
                        d->rtt_us[k] = (double) (t - d->sent_ns[k]) / 1000.0;
                        d->answered++;
                        return;
                }
                if (strcmp(msg->topic, d->post_topic) == 0) {
                        /* The burst's last set is the only one with blue 200. */
                        if (d->answered == count &&
                                memmem(msg->payload, (size_t) msg->payloadlen, "\"Blue\":200", 10))
                                post_seen = true;
                        return;
                }
                if (strcmp(msg->topic, d->progress_topic) == 0) {
                        if (memmem(msg->payload, (size_t) msg->payloadlen, "\"step\":\"100\"", 12)) {
                                progress_done = true;
                                progress_ns = t;
                        } else if (memmem(msg->payload, (size_t) msg->payloadlen, "\"step\":\"-", 9)) {
                                fprintf(stderr, "bench-cloud: OTA failed: %.*s\n", msg->payloadlen,
                                        (const char *) msg->payload);
                                progress_failed = true;
                        }
                        return;
                }
        }
}

static int publish_set(struct mosquitto *m, Device *d, unsigned k)
{
        char payload[256];
        bool last = k + 1 == count;
        int n, rc;

        n = snprintf(payload, sizeof(payload),
                "{\"method\":\"thing.service.property.set\",\"id\":\"%" PRIu64
                "\",\"params\":{\"LightSwitch\":%u,"
                "\"RGBColor\":{\"Red\":%u,\"Green\":%u,\"Blue\":%u}},\"version\":\"1.0\"}",
                id_base + k, k % 2, k % 256, (k / 256) % 256, last ? 200u : 7u);
        d->sent_ns[k] = now_ns();
        rc = mosquitto_publish(m, NULL, d->set_topic, n, payload, 1, false);
        if (rc != MOSQ_ERR_SUCCESS) {
                fprintf(stderr, "bench-cloud: publish failed: %s\n", mosquitto_strerror(rc));
                return -1;
        }
        return 0;
}

static int cmp_double(const void *a, const void *b)
{
        double x = *(const double *) a, y = *(const double *) b;
        return x < y ? -1 : x > y;
}

/* Nearest rank: the smallest sample with at least p of all samples at or below it. */
static double percentile(const double *sorted, size_t n, double p)
{
        size_t rank = (size_t) (p * (double) n + 0.999999);

        if (rank < 1)
                rank = 1;
        if (rank > n)
                rank = n;
        return sorted[rank - 1];
}

static bool all_answered(void)
{
        for (int i = 0; i < n_devices; i++)
                if (devices[i].answered < count)
                        return false;
        return true;
}

static int run_rtt(struct mosquitto *m)
{
        uint64_t period = 1000000000ull / ((uint64_t) rate * (uint64_t) n_devices), start = now_ns(),
                 deadline;
        unsigned slots = count * (unsigned) n_devices;
        int ret = 0;

        for (unsigned slot = 0; slot < slots && !failed;) {
                uint64_t due = start + slot * period, t = now_ns();

                if (t >= due) {
                        if (publish_set(m, &devices[slot % (unsigned) n_devices],
                                    slot / (unsigned) n_devices) < 0)
                                return 1;
                        slot++;
                        continue;
                }
                if (cloud_loop(m, (int) ((due - t + 999999) / 1000000), "bench-cloud") < 0)
                        return 1;
        }
        deadline = now_ns() + (uint64_t) (timeout_s * 1e9);
        while (!failed && !all_answered() && now_ns() < deadline)
                if (cloud_loop(m, 100, "bench-cloud") < 0)
                        return 1;

        for (int i = 0; i < n_devices; i++) {
                Device *d = &devices[i];
                double *s = calloc(count, sizeof(double)), sum = 0;
                size_t n = 0;

                if (!s)
                        return 1;
                for (unsigned k = 0; k < count; k++)
                        if (d->rtt_us[k] >= 0) {
                                s[n++] = d->rtt_us[k];
                                sum += d->rtt_us[k];
                        }
                qsort(s, n, sizeof(double), cmp_double);
                printf("rtt %s n=%zu lost=%zu dup=%u bad=%u p50=%.1f p99=%.1f min=%.1f max=%.1f mean=%.1f\n",
                        d->name, n, (size_t) count - n, d->duplicates, d->bad,
                        n ? percentile(s, n, 0.50) : -1.0, n ? percentile(s, n, 0.99) : -1.0,
                        n ? s[0] : -1.0, n ? s[n - 1] : -1.0, n ? sum / (double) n : -1.0);
                if (n < count || d->duplicates || d->bad)
                        ret = 1;
                free(s);
        }
        return ret;
}

static int run_burst(struct mosquitto *m)
{
        Device *d = &devices[0];
        uint64_t start = now_ns(), deadline = start + (uint64_t) (timeout_s * 1e9), end;

        for (unsigned k = 0; k < count; k++)
                if (publish_set(m, d, k) < 0)
                        return 1;
        while (!failed && d->answered < count && now_ns() < deadline)
                if (cloud_loop(m, 100, "bench-cloud") < 0)
                        return 1;
        end = now_ns();
        while (!failed && post_wanted && d->answered == count && !post_seen && now_ns() < deadline)
                if (cloud_loop(m, 100, "bench-cloud") < 0)
                        return 1;
        printf("burst %s n=%u answered=%u duplicates=%u bad=%u elapsed_ms=%.1f post=%s\n", d->name, count,
                d->answered, d->duplicates, d->bad, (double) (end - start) / 1e6,
                !post_wanted ? "-"
                : post_seen  ? "ok"
                             : "missing");
        return d->answered == count && !d->duplicates && !d->bad && (post_seen || !post_wanted) ? 0 : 1;
}

static int run_ota(struct mosquitto *m)
{
        char topic[300];
        uint64_t start, deadline;
        int rc;

        snprintf(topic, sizeof(topic), "/ota/device/upgrade/%s/%s", pk, devices[0].name);
        start = now_ns();
        deadline = start + (uint64_t) (timeout_s * 1e9);
        rc = mosquitto_publish(m, NULL, topic, (int) strlen(push_json), push_json, 1, false);
        if (rc != MOSQ_ERR_SUCCESS)
                return 1;
        while (!failed && !progress_done && !progress_failed && now_ns() < deadline)
                if (cloud_loop(m, 100, "bench-cloud") < 0)
                        return 1;
        if (!progress_done) {
                fprintf(stderr, "bench-cloud: no progress 100 within %.0f s\n", timeout_s);
                return 1;
        }
        printf("ota %s elapsed_ms=%.1f\n", devices[0].name, (double) (progress_ns - start) / 1e6);
        return 0;
}

static void usage(void)
{
        fprintf(stderr, "usage: bench-cloud --port N --cafile F --pass P --product-key PK --device DN... "
                        "[--host H]\n"
                        "  [--user U] [--count N] [--rate PER_SECOND] [--timeout S] [--push JSON] "
                        "[--no-post] rtt|burst|ota\n");
        exit(2);
}

int main(int argc, char *argv[])
{
        static const struct option options[] = {
                CLOUD_LONG_OPTIONS,
                {"product-key", required_argument, NULL, 'k'},
                {"device", required_argument, NULL, 'd'},
                {"count", required_argument, NULL, 'n'},
                {"rate", required_argument, NULL, 'r'},
                {"timeout", required_argument, NULL, 't'},
                {"push", required_argument, NULL, 'o'},
                {"no-post", no_argument, NULL, 'N'},
                {},
        };
        CloudOptions o = CLOUD_OPTIONS_INIT;
        struct mosquitto *m;
        const char *mode;
        uint64_t deadline;
        int c, rc;

        o.pass = NULL;
        while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
                if (cloud_option(&o, c, optarg))
                        continue;
                switch (c) {
                case 'k':
                        pk = optarg;
                        break;
                case 'd':
                        if (n_devices == MAX_DEVICES)
                                usage();
                        devices[n_devices++].name = optarg;
                        break;
                case 'n':
                        count = (unsigned) atoi(optarg);
                        break;
                case 'r':
                        rate = (unsigned) atoi(optarg);
                        break;
                case 't':
                        timeout_s = atof(optarg);
                        break;
                case 'o':
                        push_json = optarg;
                        break;
                case 'N':
                        post_wanted = false;
                        break;
                default:
                        usage();
                }
        }
        if (optind + 1 != argc || !o.cafile || !o.pass || !pk || n_devices == 0 || count == 0 || rate == 0)
                usage();
        mode = argv[optind];
        if ((strcmp(mode, "rtt") != 0 && strcmp(mode, "burst") != 0 && strcmp(mode, "ota") != 0) ||
                (strcmp(mode, "ota") == 0 && !push_json))
                usage();
        if (strcmp(mode, "ota") != 0)
                push_json = NULL;

        /* Ids unique across runs: the daemon does not care, but a stray late reply must not count. */
        id_base = (uint64_t) time(NULL) % 100000 * 1000000;
        for (int i = 0; i < n_devices; i++) {
                Device *d = &devices[i];

                snprintf(d->set_topic, sizeof(d->set_topic), "/sys/%s/%s/thing/service/property/set", pk,
                        d->name);
                snprintf(d->reply_topic, sizeof(d->reply_topic),
                        "/sys/%s/%s/thing/service/property/set_reply", pk, d->name);
                snprintf(d->post_topic, sizeof(d->post_topic), "/sys/%s/%s/thing/event/property/post", pk,
                        d->name);
                snprintf(d->progress_topic, sizeof(d->progress_topic), "/ota/device/progress/%s/%s", pk,
                        d->name);
                d->sent_ns = calloc(count, sizeof(uint64_t));
                d->rtt_us = malloc(count * sizeof(double));
                if (!d->sent_ns || !d->rtt_us)
                        return 1;
                for (unsigned k = 0; k < count; k++)
                        d->rtt_us[k] = -1;
        }

        m = cloud_new(&o, /* id= */ NULL, /* clean_session= */ true, NULL);
        if (!m)
                return 1;
        /* As fast as the cloud side can send: no cap on QoS 1 messages in flight from here. */
        mosquitto_int_option(m, MOSQ_OPT_SEND_MAXIMUM, 65535);
        mosquitto_connect_callback_set(m, on_connect);
        mosquitto_subscribe_callback_set(m, on_subscribe);
        mosquitto_message_callback_set(m, on_message);
        if (cloud_connect(m, &o, "bench-cloud") < 0)
                return 1;
        deadline = now_ns() + 10000000000ull;
        while (!failed && !subscribed && now_ns() < deadline)
                if (cloud_loop(m, 100, "bench-cloud") < 0)
                        return 1;
        if (!subscribed) {
                fprintf(stderr, "bench-cloud: not subscribed within 10 s\n");
                return 1;
        }

        if (strcmp(mode, "rtt") == 0)
                rc = run_rtt(m);
        else if (strcmp(mode, "burst") == 0)
                rc = run_burst(m);
        else
                rc = run_ota(m);
        fflush(stdout);
        cloud_close(m);
        for (int i = 0; i < n_devices; i++) {
                free(devices[i].sent_ns);
                free(devices[i].rtt_us);
        }
        return rc;
}
