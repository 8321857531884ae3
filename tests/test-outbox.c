/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-outbox.c: the outbox on a real sd-event loop and a real journal file, with the send and merge
 * functions of the test standing in for the MQTT session. */
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alink.h"
#include "log.h"
#include "outbox.h"
#include "test.h"

static char dir[] = "/tmp/test-outbox.XXXXXX";
static char path[256];
static sd_event *event;

typedef struct Sent {
        char topic[128];
        char payload[4096];
        int mid;
} Sent;

static Sent sent[2000];
static size_t n_sent;
static int next_mid = 1;
static bool link_up = true;

static int send_fn(void *userdata, const char *topic, const void *payload, size_t len, int *ret_mid)
{
        (void) userdata;
        if (!link_up)
                return -ENOTCONN;
        CHECK(n_sent < ELEMENTSOF(sent));
        snprintf(sent[n_sent].topic, sizeof(sent[n_sent].topic), "%s", topic);
        snprintf(sent[n_sent].payload, sizeof(sent[n_sent].payload), "%.*s", (int) len,
                (const char *) payload);
        sent[n_sent].mid = next_mid;
        *ret_mid = next_mid++;
        n_sent++;
        return 0;
}

static int merge_fn(void *userdata, const char *older, bool older_timed, uint64_t older_ms,
        const char *newer, uint64_t newer_ms, char **ret)
{
        (void) userdata;
        return alink_merge_property_posts(older, older_timed, older_ms, newer, newer_ms, ret);
}

static void run_until_idle(void)
{
        /* Dispatch whatever is pending (deferred flushes), without waiting for timers. */
        while (sd_event_run(event, 0) > 0)
                ;
}

static void run_for(uint64_t usec)
{
        uint64_t start, now;

        CHECK(sd_event_now(event, CLOCK_MONOTONIC, &start) >= 0);
        do {
                CHECK(sd_event_run(event, usec) >= 0);
                CHECK(sd_event_now(event, CLOCK_MONOTONIC, &now) >= 0);
        } while (now < start + usec);
}

static void append(Outbox *o, OutboxClass c, const char *topic, const char *payload)
{
        CHECK(outbox_append(o, c, topic, payload, strlen(payload)) == 0);
}

static Outbox *open_outbox(const OutboxLimits *l)
{
        Outbox *o = NULL;

        CHECK(outbox_new(&o, event, path, l ? l : &OUTBOX_LIMITS_DEFAULT, send_fn, merge_fn, NULL) == 0);
        return o;
}

static void reset(void)
{
        n_sent = 0;
        link_up = true;
        (void) unlink(path);
}

static off_t file_size(void)
{
        struct stat st;
        return stat(path, &st) < 0 ? -1 : st.st_size;
}

TEST(in_order_acked_and_persisted)
{
        Outbox *o;

        reset();
        o = open_outbox(NULL);
        CHECK(outbox_append(o, OUTBOX_ORDERED, "/pk/dn/user/data", "1", strlen("1")) == 0);
        CHECK(outbox_append(o, OUTBOX_ORDERED, "/pk/dn/user/data", "2", strlen("2")) == 0);
        CHECK(outbox_depth(o) == 2);
        /* Offline: nothing goes out, even after the flush. */
        run_until_idle();
        CHECK(n_sent == 0);
        CHECK(file_size() > 0);

        outbox_set_online(o, true);
        CHECK(n_sent == 2);
        CHECK_STREQ(sent[0].payload, "1");
        CHECK_STREQ(sent[1].payload, "2");
        outbox_acked(o, sent[0].mid);
        CHECK(outbox_depth(o) == 1);
        outbox_acked(o, 12345); /* unknown ids are ignored */
        CHECK(outbox_depth(o) == 1);
        outbox_free(o);

        /* The unacknowledged one survives a restart. */
        n_sent = 0;
        o = open_outbox(NULL);
        CHECK(outbox_depth(o) == 1);
        outbox_set_online(o, true);
        CHECK(n_sent == 1);
        CHECK_STREQ(sent[0].payload, "2");
        outbox_acked(o, sent[0].mid);
        CHECK(outbox_depth(o) == 0);
        /* Empty: the journal starts over. */
        CHECK(file_size() == 0);
        outbox_free(o);
}

TEST(nothing_is_sent_before_it_is_synced)
{
        Outbox *o;

        reset();
        o = open_outbox(NULL);
        outbox_set_online(o, true);
        CHECK(outbox_append(o, OUTBOX_ORDERED, "/pk/dn/user/data", "a", strlen("a")) == 0);
        CHECK(n_sent == 0); /* written, not yet synced */
        run_until_idle();   /* the deferred flush syncs and sends */
        CHECK(n_sent == 1);
        outbox_free(o);
}

TEST(resent_after_reconnect)
{
        Outbox *o;

        reset();
        o = open_outbox(NULL);
        outbox_set_online(o, true);
        for (int i = 0; i < 5; i++) {
                char p[8];
                snprintf(p, sizeof(p), "%d", i);
                CHECK(outbox_append(o, OUTBOX_ORDERED, "/pk/dn/user/data", p, strlen(p)) == 0);
        }
        run_until_idle();
        CHECK(n_sent == 5);
        outbox_acked(o, sent[0].mid);
        outbox_acked(o, sent[1].mid);
        /* The link drops with 2..4 in flight: they go again, in order, after the next connect. */
        outbox_set_online(o, false);
        n_sent = 0;
        outbox_set_online(o, true);
        CHECK(n_sent == 3);
        CHECK_STREQ(sent[0].payload, "2");
        CHECK_STREQ(sent[2].payload, "4");
        outbox_free(o);
}

TEST(property_posts_coalesce_while_waiting)
{
        Outbox *o;
        const char *post = "/sys/pk/dn/thing/event/property/post";

        reset();
        o = open_outbox(NULL);
        append(o, OUTBOX_PROPERTIES, post,
                "{\"id\":\"1\",\"version\":\"1.0\",\"params\":{\"LightSwitch\":1,\"A\":1}}");
        CHECK(outbox_depth(o) == 1);
        CHECK(outbox_append(o, OUTBOX_ORDERED, "/pk/dn/user/data", "u1", strlen("u1")) == 0);
        append(o, OUTBOX_PROPERTIES, post,
                "{\"id\":\"2\",\"version\":\"1.0\",\"params\":{\"LightSwitch\":0}}");
        CHECK(outbox_depth(o) == 2);
        CHECK(outbox_append(o, OUTBOX_PROPERTIES, post,
                      "{\"id\":\"3\",\"version\":\"1.0\",\"params\":{\"B\":{\"x\":2}}}",
                      strlen("{\"id\":\"3\",\"version\":\"1.0\",\"params\":{\"B\":{\"x\":2}}}")) == 0);
        CHECK(outbox_depth(o) == 2);
        outbox_free(o);

        /* Coalesced posts survive a restart in their timed form. */
        o = open_outbox(NULL);
        CHECK(outbox_depth(o) == 2);
        outbox_set_online(o, true);
        CHECK(n_sent == 2);
        CHECK_STREQ(sent[0].payload, "u1");
        CHECK_CONTAINS(sent[1].payload, "\"id\":\"3\"");
        CHECK_CONTAINS(sent[1].payload, "\"LightSwitch\":{\"value\":0,\"time\":");
        CHECK_CONTAINS(sent[1].payload, "\"A\":{\"value\":1,\"time\":");
        CHECK_CONTAINS(sent[1].payload, "\"B\":{\"value\":{\"x\":2},\"time\":");
        /* Once in flight, a post is no longer folded into. */
        CHECK(outbox_append(o, OUTBOX_PROPERTIES, post, "{\"id\":\"4\",\"params\":{\"C\":1}}",
                      strlen("{\"id\":\"4\",\"params\":{\"C\":1}}")) == 0);
        CHECK(outbox_depth(o) == 3);
        outbox_free(o);
}

static int refuse_big_fn(void *userdata, const char *topic, const void *payload, size_t len, int *ret_mid)
{
        if (len > 100)
                return -EMSGSIZE;
        return send_fn(userdata, topic, payload, len, ret_mid);
}

TEST(nothing_unsendable_blocks_the_queue)
{
        OutboxLimits l = OUTBOX_LIMITS_DEFAULT;
        const char *post = "/sys/pk/dn/thing/event/property/post";
        char big[200], a[90], b[90];
        Outbox *o;

        reset();
        /* Larger than the link's limit: refused when it is offered, nothing is queued. */
        l.max_payload = 100;
        o = open_outbox(&l);
        memset(big, 'x', sizeof(big) - 1);
        big[sizeof(big) - 1] = 0;
        CHECK_INTEQ(outbox_append(o, OUTBOX_ORDERED, "/pk/dn/user/data", big, strlen(big)), -EMSGSIZE);
        CHECK(outbox_depth(o) == 0);

        /* Two posts that fit alone but not merged: both kept, as they are, and both sent. */
        snprintf(a, sizeof(a), "{\"id\":\"1\",\"params\":{\"A\":\"%040d\"}}", 1);
        snprintf(b, sizeof(b), "{\"id\":\"2\",\"params\":{\"B\":\"%040d\"}}", 2);
        append(o, OUTBOX_PROPERTIES, post, a);
        append(o, OUTBOX_PROPERTIES, post, b);
        CHECK(outbox_depth(o) == 2);
        outbox_set_online(o, true);
        CHECK(n_sent == 2);
        CHECK_STREQ(sent[0].payload, a);
        CHECK_STREQ(sent[1].payload, b);
        outbox_acked(o, sent[0].mid);
        outbox_acked(o, sent[1].mid);
        outbox_free(o);

        /* A message the link refuses for good (a journal from a build with other limits) is dropped and
         * counted; the ones behind it go out. */
        reset();
        o = open_outbox(NULL);
        CHECK(outbox_append(o, OUTBOX_ORDERED, "/pk/dn/user/data", big, strlen(big)) == 0);
        append(o, OUTBOX_ORDERED, "/pk/dn/user/data", "after");
        outbox_free(o);
        CHECK(outbox_new(&o, event, path, &OUTBOX_LIMITS_DEFAULT, refuse_big_fn, merge_fn, NULL) == 0);
        outbox_set_online(o, true);
        CHECK(n_sent == 1);
        CHECK_STREQ(sent[0].payload, "after");
        CHECK(outbox_dropped(o) == 1);
        outbox_acked(o, sent[0].mid);
        CHECK(outbox_depth(o) == 0);
        outbox_free(o);
}

TEST(journal_stays_bounded_offline)
{
        OutboxLimits l = OUTBOX_LIMITS_DEFAULT;
        char payload[2048];
        off_t biggest = 0;
        Outbox *o;

        /* Offline, full, dropping the oldest for every new one: 4,000 messages of 2 KiB through a queue of
         * 256 KiB. Every drop appends a removal; the file must still not grow without bound. */
        reset();
        l.max_bytes = 256 * 1024;
        o = open_outbox(&l);
        memset(payload, 'p', sizeof(payload) - 1);
        payload[sizeof(payload) - 1] = 0;
        for (int i = 0; i < 4000; i++) {
                append(o, OUTBOX_ORDERED, "/pk/dn/user/data", payload);
                if (file_size() > biggest)
                        biggest = file_size();
        }
        CHECK(outbox_dropped(o) > 3000);
        CHECK(biggest < 4 * 1024 * 1024); /* COMPACT_MIN_BYTES (1 MiB) or twice the live data, plus slack */
        outbox_free(o);

        /* And the newest message survives the restart. */
        o = open_outbox(&l);
        outbox_set_online(o, true);
        CHECK(n_sent > 0);
        outbox_free(o);
}

TEST(limits_drop_the_oldest)
{
        OutboxLimits l = OUTBOX_LIMITS_DEFAULT;
        Outbox *o;

        reset();
        l.max_messages = 3;
        o = open_outbox(&l);
        for (int i = 0; i < 5; i++) {
                char p[8];
                snprintf(p, sizeof(p), "m%d", i);
                CHECK(outbox_append(o, OUTBOX_ORDERED, "/pk/dn/user/data", p, strlen(p)) == 0);
        }
        CHECK(outbox_depth(o) == 3);
        CHECK(outbox_dropped(o) == 2);
        outbox_set_online(o, true);
        run_until_idle();
        CHECK(n_sent == 3);
        CHECK_STREQ(sent[0].payload, "m2");
        outbox_free(o);

        reset();
        l.max_messages = 100;
        l.max_bytes = 10;
        o = open_outbox(&l);
        CHECK(outbox_append(o, OUTBOX_ORDERED, "/t", "123456", strlen("123456")) == 0);
        CHECK(outbox_append(o, OUTBOX_ORDERED, "/t", "789012", strlen("789012")) == 0);
        CHECK(outbox_depth(o) == 1 && outbox_bytes(o) == 6 && outbox_dropped(o) == 1);
        CHECK(outbox_append(o, OUTBOX_ORDERED, "/t", "12345678901", strlen("12345678901")) == -EMSGSIZE);
        outbox_free(o);
}

TEST(rate_and_inflight_limits)
{
        OutboxLimits l = OUTBOX_LIMITS_DEFAULT;
        Outbox *o;
        uint64_t t0, t1;

        reset();
        l.max_rate = 10;
        l.max_inflight = 100;
        o = open_outbox(&l);
        for (int i = 0; i < 25; i++)
                CHECK(outbox_append(o, OUTBOX_ORDERED, "/pk/dn/user/data", "x", strlen("x")) == 0);
        CHECK(sd_event_now(event, CLOCK_MONOTONIC, &t0) >= 0);
        outbox_set_online(o, true);
        run_until_idle();
        CHECK(n_sent == 10); /* ten now */
        while (n_sent < 25)
                CHECK(sd_event_run(event, 5 * USEC_PER_SEC) >= 0);
        CHECK(sd_event_now(event, CLOCK_MONOTONIC, &t1) >= 0);
        /* 25 messages at 10 a second: the last ten cannot leave before 2 s. */
        CHECK(t1 - t0 >= 2 * USEC_PER_SEC - 50 * USEC_PER_MSEC);
        for (size_t i = 10; i < 25; i++)
                CHECK(sent[i].mid > 0);
        outbox_free(o);

        reset();
        l.max_rate = 1000;
        l.max_inflight = 4;
        o = open_outbox(&l);
        for (int i = 0; i < 10; i++)
                CHECK(outbox_append(o, OUTBOX_ORDERED, "/t", "x", strlen("x")) == 0);
        outbox_set_online(o, true);
        run_until_idle();
        CHECK(n_sent == 4); /* no more than four unacknowledged */
        outbox_acked(o, sent[0].mid);
        CHECK(n_sent == 5);
        outbox_free(o);
        (void) run_for;
}

TEST(torn_tail_is_cut_off)
{
        Outbox *o;
        off_t full, cut;
        int fd;

        reset();
        o = open_outbox(NULL);
        for (int i = 0; i < 10; i++) {
                char p[32];
                snprintf(p, sizeof(p), "message number %d", i);
                CHECK(outbox_append(o, OUTBOX_ORDERED, "/pk/dn/user/data", p, strlen(p)) == 0);
        }
        outbox_free(o);
        full = file_size();

        /* Every possible crash point inside the last record: the first nine always come back. */
        for (cut = full - 1; cut > full - 40; cut--) {
                CHECK(truncate(path, cut) == 0);
                o = open_outbox(NULL);
                CHECK(outbox_depth(o) == 9);
                outbox_free(o);
                CHECK(file_size() < cut);
                /* Rebuild the full journal for the next round. */
                reset();
                o = open_outbox(NULL);
                for (int i = 0; i < 10; i++) {
                        char p[32];
                        snprintf(p, sizeof(p), "message number %d", i);
                        CHECK(outbox_append(o, OUTBOX_ORDERED, "/pk/dn/user/data", p, strlen(p)) == 0);
                }
                outbox_free(o);
        }

        /* A flipped bit in the middle: everything before it survives, nothing after it is trusted. */
        fd = open(path, O_RDWR);
        CHECK(fd >= 0);
        CHECK(pwrite(fd, "\xff", 1, full / 2) == 1);
        close(fd);
        o = open_outbox(NULL);
        CHECK(outbox_depth(o) >= 3 && outbox_depth(o) < 10);
        outbox_free(o);

        /* Garbage: an empty outbox, not a crash. */
        fd = open(path, O_RDWR | O_TRUNC);
        CHECK(fd >= 0);
        CHECK(write(fd, "not an outbox at all, just some text\n", 37) == 37);
        close(fd);
        o = open_outbox(NULL);
        CHECK(outbox_depth(o) == 0);
        outbox_free(o);
        CHECK(file_size() == 0);
}

TEST(scan)
{
        size_t good;

        CHECK(outbox_scan("", 0, &good) == 0 && good == 0);
        CHECK(outbox_scan("ALOB\xff\xff\xff\xff", 8, &good) == 0 && good == 0);
}

TEST(memory_only)
{
        Outbox *o = NULL;

        reset();
        CHECK(outbox_new(&o, event, NULL, &OUTBOX_LIMITS_DEFAULT, send_fn, merge_fn, NULL) == 0);
        outbox_set_online(o, true);
        CHECK(outbox_append(o, OUTBOX_ORDERED, "/t", "x", strlen("x")) == 0);
        run_until_idle();
        CHECK(n_sent == 1);
        outbox_free(o);
}

__attribute__((constructor)) static void setup(void)
{
        CHECK(mkdtemp(dir));
        snprintf(path, sizeof(path), "%s/outbox", dir);
        CHECK(sd_event_new(&event) >= 0);
        log_set_max_level(LOG_ERR);
}

__attribute__((destructor)) static void teardown(void)
{
        (void) unlink(path);
        (void) rmdir(dir);
        sd_event_unref(event);
}
