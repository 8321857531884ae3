/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* outbox.c: persistent queue of QoS 1 messages, see outbox.h.
 *
 * Journal format, little-endian, one record after the other:
 *   header  u32 magic "ALOB", u32 body length, u32 CRC32 of the body
 *   body    u8 type (1 message, 2 removal), u8 class, u8 flags (bit 0: timed values), u8 0,
 *           u64 sequence number, then for messages: u64 time (epoch ms), u16 topic length, topic, payload.
 * Sequence numbers grow with every message, so the messages of a journal are in order; a removal names the
 * message it removes. The first record that is short, too long, of an unknown type or with a wrong CRC ends
 * the journal: it and everything after it is a torn tail, cut off when the file is opened. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "event-util.h"
#include "fs-util.h"
#include "log.h"
#include "outbox.h"

#define RECORD_MAGIC 0x424f4c41u /* "ALOB" */
#define HEADER_SIZE 12u
#define BODY_FIXED 12u /* type, class, flags, pad, seq */
#define MESSAGE_FIXED (BODY_FIXED + 8u + 2u)
#define MAX_BODY (1024u * 1024u) /* far above any message the platform accepts (256 KiB) */
#define MAX_JOURNAL_READ (256ull * 1024 * 1024)
#define COMPACT_MIN_BYTES (1024u * 1024u)
/* How long an accepted message may wait for its fdatasync() when nothing is sent meanwhile. */
#define SYNC_DELAY_USEC USEC_PER_SEC

enum { RECORD_MESSAGE = 1, RECORD_REMOVE = 2 };
enum { FLAG_TIMED = 1 };

typedef struct Message Message;
struct Message {
        Message *prev, *next;
        uint64_t seq;
        OutboxClass class;
        bool timed;  /* property values carry their own times (a coalesced post) */
        bool synced; /* durable (or the journal is unavailable and nothing can be done) */
        bool inflight;
        int mid;
        uint64_t time_ms;
        char *topic;
        char *payload;
        size_t len;
        uint64_t record_size; /* bytes of its record in the journal, 0 when it is not there */
};

struct Outbox {
        sd_event *event;
        char *path;
        int fd;
        uint64_t file_size;
        uint64_t live_record_bytes;
        bool journal_failing; /* an episode of write failures is going on (reported once) */

        OutboxLimits limits;
        OutboxSendFn send;
        OutboxMergeFn merge;
        void *userdata;

        Message *head, *tail;
        size_t n, n_inflight;
        uint64_t bytes, dropped, next_seq;
        bool online, dirty;

        sd_event_source *flush;      /* deferred: send what may go (syncing first) */
        sd_event_source *timer;      /* the rate limit lets the next message out */
        sd_event_source *sync_timer; /* SYNC_DELAY_USEC after the first unsynced append */
        uint64_t *sent;              /* ring of the last max_rate send times (CLOCK_MONOTONIC µs) */
        unsigned sent_pos;
};

static uint64_t now_usec(clockid_t c)
{
        struct timespec ts;

        (void) clock_gettime(c, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

static void put32(uint8_t *p, uint32_t v)
{
        for (int i = 0; i < 4; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
        return (uint32_t) p[0] | (uint32_t) p[1] << 8 | (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
        return (uint64_t) get32(p) | (uint64_t) get32(p + 4) << 32;
}

/* CRC-32 (IEEE 802.3, the one of zlib's crc32(), which the journal used to be written with), four bits at
 * a time. Records are small and read once at start: not worth a library mapped for the daemon's lifetime. */
static uint32_t crc32_ieee(const uint8_t *p, size_t n)
{
        static const uint32_t nibble[16] = {
                0x00000000,
                0x1db71064,
                0x3b6e20c8,
                0x26d930ac,
                0x76dc4190,
                0x6b6b51f4,
                0x4db26158,
                0x5005713c,
                0xedb88320,
                0xf00f9344,
                0xd6d6a3e8,
                0xcb61b38c,
                0x9b64c2b0,
                0x86d3d2d4,
                0xa00ae278,
                0xbdbdf21c,
        };
        uint32_t c = 0xffffffffu;

        while (n-- > 0) {
                c ^= *p++;
                c = c >> 4 ^ nibble[c & 15];
                c = c >> 4 ^ nibble[c & 15];
        }
        return ~c;
}

/* --- record parsing (pure, shared by loading and the fuzzer) --- */

typedef struct Record {
        int type;
        OutboxClass class;
        bool timed;
        uint64_t seq, time_ms;
        const char *topic;
        size_t topic_len;
        const char *payload;
        size_t len;
        size_t size; /* header + body */
} Record;

/* 1 with *r filled when a whole, valid record starts at p; 0 when it does not (torn, corrupt, short). */
static int record_parse(const uint8_t *p, size_t avail, Record *r)
{
        uint32_t body_len;
        const uint8_t *b;

        if (avail < HEADER_SIZE || get32(p) != RECORD_MAGIC)
                return 0;
        body_len = get32(p + 4);
        if (body_len < BODY_FIXED || body_len > MAX_BODY || body_len > avail - HEADER_SIZE)
                return 0;
        b = p + HEADER_SIZE;
        if (crc32_ieee(b, body_len) != get32(p + 8))
                return 0;

        *r = (Record){.type = b[0],
                .class = b[1],
                .timed = b[2] & FLAG_TIMED,
                .seq = get64(b + 4),
                .size = HEADER_SIZE + body_len};
        if (r->type == RECORD_REMOVE)
                return body_len == BODY_FIXED;
        if (r->type != RECORD_MESSAGE || r->class >= _OUTBOX_CLASS_MAX || body_len < MESSAGE_FIXED)
                return 0;
        r->time_ms = get64(b + BODY_FIXED);
        r->topic_len = (size_t) b[BODY_FIXED + 8] | (size_t) b[BODY_FIXED + 9] << 8;
        if (r->topic_len == 0 || r->topic_len > body_len - MESSAGE_FIXED)
                return 0;
        r->topic = (const char *) b + MESSAGE_FIXED;
        if (memchr(r->topic, 0, r->topic_len))
                return 0;
        r->payload = r->topic + r->topic_len;
        r->len = body_len - MESSAGE_FIXED - r->topic_len;
        return 1;
}

size_t outbox_scan(const void *data, size_t len, size_t *ret_good)
{
        const uint8_t *p = data;
        size_t off = 0, n = 0;
        Record r;

        while (record_parse(p + off, len - off, &r) > 0) {
                off += r.size;
                n++;
        }
        if (ret_good)
                *ret_good = off;
        return n;
}

/* --- the journal --- */

static int journal_write(Outbox *o, const uint8_t *body, size_t body_len)
{
        uint8_t header[HEADER_SIZE];
        struct iovec iov[2];
        ssize_t n;

        if (o->fd < 0)
                return -EBADF;
        put32(header, RECORD_MAGIC);
        put32(header + 4, (uint32_t) body_len);
        put32(header + 8, crc32_ieee(body, body_len));
        iov[0] = (struct iovec){header, HEADER_SIZE};
        iov[1] = (struct iovec){(void *) body, body_len};
        n = pwritev(o->fd, iov, 2, (off_t) o->file_size);
        if (n != (ssize_t) (HEADER_SIZE + body_len)) {
                int r = n < 0 ? -errno : -ENOSPC;
                /* Never leave half a record behind: the next one would be read as garbage. */
                if (ftruncate(o->fd, (off_t) o->file_size) < 0)
                        log_warning_errno(errno, "Cannot cut a partial record off the outbox journal: %m");
                return r;
        }
        o->file_size += HEADER_SIZE + body_len;
        return 0;
}

static void journal_report(Outbox *o, int r)
{
        if (r >= 0) {
                if (o->journal_failing)
                        log_notice("The outbox journal %s can be written again", o->path);
                o->journal_failing = false;
                return;
        }
        if (!o->journal_failing)
                log_error_errno(r,
                        "Cannot write the outbox journal %s: %m; messages for the cloud are kept in "
                        "memory only until it can be written again",
                        o->path);
        o->journal_failing = true;
}

static int journal_append_message(Outbox *o, Message *m)
{
        _cleanup_(freep) uint8_t *body = NULL;
        size_t tl = strlen(m->topic), body_len = MESSAGE_FIXED + tl + m->len;
        int r;

        if (o->fd < 0)
                return -EBADF;
        body = malloc(body_len);
        if (!body)
                return -ENOMEM;
        body[0] = RECORD_MESSAGE;
        body[1] = (uint8_t) m->class;
        body[2] = m->timed ? FLAG_TIMED : 0;
        body[3] = 0;
        put64(body + 4, m->seq);
        put64(body + BODY_FIXED, m->time_ms);
        body[BODY_FIXED + 8] = (uint8_t) tl;
        body[BODY_FIXED + 9] = (uint8_t) (tl >> 8);
        memcpy(body + MESSAGE_FIXED, m->topic, tl);
        memcpy(body + MESSAGE_FIXED + tl, m->payload, m->len);
        r = journal_write(o, body, body_len);
        if (r >= 0) {
                m->record_size = HEADER_SIZE + body_len;
                o->live_record_bytes += m->record_size;
        }
        return r;
}

static void journal_append_remove(Outbox *o, Message *m)
{
        uint8_t body[BODY_FIXED] = {RECORD_REMOVE};

        if (m->record_size == 0)
                return;
        o->live_record_bytes -= m->record_size;
        put64(body + 4, m->seq);
        /* Not synced: if a removal is lost the message is sent once more, which QoS 1 allows. */
        journal_report(o, journal_write(o, body, sizeof(body)));
}

/* Rewrite the journal with only the live messages: new file, fsync, rename over the old one. */
static int journal_compact(Outbox *o)
{
        _cleanup_(freep) char *tmp = NULL;
        uint64_t saved_size = o->file_size, saved_live = o->live_record_bytes;
        int fd, old_fd = o->fd, r = 0;

        if (asprintf(&tmp, "%s.new", o->path) < 0)
                return -ENOMEM;
        fd = open_state_file(tmp, O_RDWR | O_CREAT | O_TRUNC, 0600);
        if (fd < 0)
                return fd;
        o->fd = fd;
        o->file_size = 0;
        o->live_record_bytes = 0;
        for (Message *m = o->head; m && r >= 0; m = m->next)
                if (m->record_size > 0)
                        r = journal_append_message(o, m);
        if (r >= 0 && fdatasync(fd) < 0)
                r = -errno;
        if (r >= 0 && rename(tmp, o->path) < 0)
                r = -errno;
        if (r < 0) {
                (void) unlink(tmp);
                (void) close(fd);
                o->fd = old_fd;
                o->file_size = saved_size;
                o->live_record_bytes = saved_live;
                return log_warning_errno(r, "Cannot compact the outbox journal %s, ignoring: %m", o->path);
        }
        (void) fsync_directory_of(o->path);
        (void) close(old_fd);
        log_debug("Compacted the outbox journal to %llu bytes", (unsigned long long) o->file_size);
        return 0;
}

static void journal_maybe_shrink(Outbox *o)
{
        if (o->fd < 0)
                return;
        if (o->n == 0 && o->file_size > 0) {
                /* Empty: start over. Not synced: should it be lost, the old records and their removals
                 * still describe an empty queue. */
                if (ftruncate(o->fd, 0) >= 0) {
                        o->file_size = 0;
                        o->live_record_bytes = 0;
                }
                return;
        }
        if (o->file_size > COMPACT_MIN_BYTES && o->file_size > 2 * o->live_record_bytes)
                (void) journal_compact(o);
}

/* --- the queue --- */

static void message_free(Message *m)
{
        if (!m)
                return;
        free(m->topic);
        free(m->payload);
        free(m);
}

static void queue_link(Outbox *o, Message *m)
{
        m->prev = o->tail;
        m->next = NULL;
        if (o->tail)
                o->tail->next = m;
        else
                o->head = m;
        o->tail = m;
        o->n++;
        o->bytes += m->len;
}

static void queue_unlink(Outbox *o, Message *m)
{
        if (m->prev)
                m->prev->next = m->next;
        else
                o->head = m->next;
        if (m->next)
                m->next->prev = m->prev;
        else
                o->tail = m->prev;
        o->n--;
        o->bytes -= m->len;
        if (m->inflight)
                o->n_inflight--;
}

static void queue_remove(Outbox *o, Message *m)
{
        queue_unlink(o, m);
        journal_append_remove(o, m);
        message_free(m);
}

static Message *message_new(OutboxClass c, uint64_t seq, uint64_t time_ms, bool timed, const char *topic,
        size_t topic_len, const char *payload, size_t len)
{
        Message *m = calloc(1, sizeof(*m));

        if (!m)
                return NULL;
        m->class = c;
        m->seq = seq;
        m->time_ms = time_ms;
        m->timed = timed;
        m->topic = strndup(topic, topic_len);
        m->payload = malloc(len + 1);
        if (!m->topic || !m->payload) {
                message_free(m);
                return NULL;
        }
        memcpy(m->payload, payload, len);
        m->payload[len] = 0;
        m->len = len;
        return m;
}

/* --- sending --- */

static bool rate_allows(Outbox *o, uint64_t now, uint64_t *ret_next)
{
        uint64_t oldest = o->sent[o->sent_pos];

        if (oldest == 0 || now >= oldest + USEC_PER_SEC)
                return true;
        *ret_next = oldest + USEC_PER_SEC;
        return false;
}

static void outbox_drain(Outbox *o)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC), next_usec;
        Message *next;
        int r;

        if (!o->online)
                return;
        for (Message *m = o->head; m && o->n_inflight < o->limits.max_inflight; m = next) {
                int mid = 0;

                next = m->next;
                if (m->inflight)
                        continue;
                if (!rate_allows(o, now, &next_usec)) {
                        r = event_timer_arm(o->timer, next_usec);
                        if (r < 0)
                                log_warning_errno(r, "Cannot arm the outbox rate timer: %m");
                        break;
                }
                /* Nothing goes out before it is on disk: one fdatasync() for everything appended so far. */
                if (!m->synced)
                        (void) outbox_sync(o);
                r = o->send(o->userdata, m->topic, m->payload, m->len, &mid);
                if (r == -EMSGSIZE || r == -EINVAL) {
                        /* It will never go out (from a journal written with other limits, say): waiting for
                         * it would hold back everything queued behind it, for good. */
                        o->dropped++;
                        log_warning_errno(r,
                                "Dropped the outbox's message %llu to %s, which can never be sent "
                                "(%zu bytes): %m (%llu dropped so far)",
                                (unsigned long long) m->seq, m->topic, m->len,
                                (unsigned long long) o->dropped);
                        queue_remove(o, m);
                        continue;
                }
                if (r < 0) {
                        log_debug_errno(r, "Cannot send the outbox's message %llu now: %m",
                                (unsigned long long) m->seq);
                        break;
                }
                m->inflight = true;
                m->mid = mid;
                o->n_inflight++;
                o->sent[o->sent_pos] = now;
                o->sent_pos = (o->sent_pos + 1) % o->limits.max_rate;
        }
}

static int on_flush(sd_event_source *s, void *userdata)
{
        (void) s;
        outbox_drain(userdata);
        return 0;
}

static int on_sync_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void) s;
        (void) usec;
        (void) outbox_sync(userdata);
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        (void) s;
        (void) usec;
        outbox_drain(userdata);
        return 0;
}

int outbox_sync(Outbox *o)
{
        int r = 0;

        if (!o)
                return -EINVAL;
        if (o->dirty && o->fd >= 0 && fdatasync(o->fd) < 0) {
                r = -errno;
                journal_report(o, r);
        }
        o->dirty = false;
        (void) sd_event_source_set_enabled(o->sync_timer, SD_EVENT_OFF);
        /* Whatever was appended is now as durable as it can be. */
        for (Message *m = o->tail; m && !m->synced; m = m->prev)
                m->synced = true;
        return r;
}

/* --- public --- */

static void drop_oldest(Outbox *o, const char *why)
{
        Message *m = o->head;

        o->dropped++;
        log_warning("Outbox full (%s): dropped the oldest message, to %s (%llu dropped so far)", why,
                m->topic, (unsigned long long) o->dropped);
        queue_remove(o, m);
}

int outbox_append(Outbox *o, OutboxClass c, const char *topic, const char *payload, size_t len)
{
        _cleanup_(freep) char *merged = NULL;
        uint64_t now_ms = now_usec(CLOCK_REALTIME) / USEC_PER_MSEC;
        Message *m, *older = NULL;
        bool timed = false;
        int r;

        if (!o || c < 0 || c >= _OUTBOX_CLASS_MAX || isempty(topic) || strlen(topic) > UINT16_MAX ||
                !payload)
                return -EINVAL;
        if (len > o->limits.max_bytes || len > MAX_BODY - MESSAGE_FIXED - strlen(topic) ||
                (o->limits.max_payload > 0 && len > o->limits.max_payload))
                return -EMSGSIZE;

        /* A property post that has not gone out yet is folded into this one. */
        if (c == OUTBOX_PROPERTIES && o->merge)
                for (Message *i = o->tail; i; i = i->prev)
                        if (i->class == OUTBOX_PROPERTIES && !i->inflight && streq(i->topic, topic)) {
                                older = i;
                                break;
                        }
        if (older) {
                r = o->merge(
                        o->userdata, older->payload, older->timed, older->time_ms, payload, now_ms, &merged);
                if (r != 0)
                        older = NULL; /* cannot merge (not a property post?): queue it as it is */
                else if (o->limits.max_payload > 0 && strlen(merged) > o->limits.max_payload) {
                        older = NULL; /* together too large to send: the older one goes out as it is */
                        merged = mfree(merged);
                } else {
                        payload = merged;
                        len = strlen(merged);
                        timed = true;
                }
        }

        m = message_new(c, o->next_seq++, now_ms, timed, topic, strlen(topic), payload, len);
        if (!m)
                return -ENOMEM;
        if (older)
                queue_remove(o, older);

        while (o->head && (o->n + 1 > o->limits.max_messages || o->bytes + len > o->limits.max_bytes))
                drop_oldest(o, o->n + 1 > o->limits.max_messages ? "too many messages" : "too many bytes");

        r = journal_append_message(o, m);
        journal_report(o, o->fd < 0 ? 0 : r);
        queue_link(o, m);
        if (r < 0 && o->fd >= 0) {
                /* Kept in memory: nothing to wait for before sending it. */
                m->synced = true;
                outbox_drain(o);
                return 1;
        }
        /* Drops and merges append removals too: while nothing is acknowledged (offline), this is what keeps
         * the file within a small multiple of what it holds. */
        journal_maybe_shrink(o);
        if (o->fd < 0)
                m->synced = true;
        else if (!o->dirty) {
                o->dirty = true;
                if (event_timer_arm_relative(o->sync_timer, SYNC_DELAY_USEC) < 0)
                        (void) outbox_sync(o);
        }
        (void) sd_event_source_set_enabled(o->flush, SD_EVENT_ONESHOT);
        return 0;
}

void outbox_set_online(Outbox *o, bool online)
{
        if (!o)
                return;
        o->online = online;
        if (!online) {
                /* In flight on a dead link: send again after the next connect, in order. */
                for (Message *m = o->head; m; m = m->next)
                        m->inflight = false;
                o->n_inflight = 0;
                (void) sd_event_source_set_enabled(o->timer, SD_EVENT_OFF);
                return;
        }
        if (o->n > 0)
                log_info("Sending %zu message%s held in the outbox", o->n, o->n == 1 ? "" : "s");
        outbox_drain(o);
}

void outbox_acked(Outbox *o, int mid)
{
        if (!o)
                return;
        for (Message *m = o->head; m; m = m->next)
                if (m->inflight && m->mid == mid) {
                        queue_remove(o, m);
                        journal_maybe_shrink(o);
                        outbox_drain(o);
                        return;
                }
}

size_t outbox_depth(const Outbox *o)
{
        return o ? o->n : 0;
}

uint64_t outbox_bytes(const Outbox *o)
{
        return o ? o->bytes : 0;
}

uint64_t outbox_dropped(const Outbox *o)
{
        return o ? o->dropped : 0;
}

/* Read the journal back: messages in order, minus the removed ones; cut off a torn tail. */
static int outbox_load(Outbox *o)
{
        _cleanup_(freep) uint8_t *data = NULL;
        _cleanup_(freep) Message **msgs = NULL;
        size_t n_msgs = 0, allocated = 0, off = 0, loaded = 0;
        struct stat st;
        uint64_t size;
        ssize_t n;
        Record r;

        if (fstat(o->fd, &st) < 0)
                return -errno;
        size = MIN((uint64_t) st.st_size, MAX_JOURNAL_READ);
        if (size == 0)
                return 0;
        data = malloc(size);
        if (!data)
                return -ENOMEM;
        n = pread(o->fd, data, size, 0);
        if (n < 0)
                return -errno;
        size = (uint64_t) n;

        while (record_parse(data + off, size - off, &r) > 0) {
                if (r.type == RECORD_MESSAGE) {
                        Message *m;

                        if (n_msgs > 0 && r.seq <= msgs[n_msgs - 1]->seq)
                                break; /* sequence numbers only grow: this is not our record */
                        if (n_msgs == allocated) {
                                Message **t = reallocarray(
                                        msgs, MAX((size_t) 64, allocated * 2), sizeof(Message *));
                                if (!t)
                                        goto oom;
                                msgs = t;
                                allocated = MAX((size_t) 64, allocated * 2);
                        }
                        m = message_new(
                                r.class, r.seq, r.time_ms, r.timed, r.topic, r.topic_len, r.payload, r.len);
                        if (!m)
                                goto oom;
                        m->record_size = r.size;
                        m->synced = true;
                        msgs[n_msgs++] = m;
                } else {
                        /* Binary search: messages are in sequence order. */
                        size_t lo = 0, hi = n_msgs;
                        while (lo < hi) {
                                size_t mid = (lo + hi) / 2;
                                if (msgs[mid]->seq < r.seq)
                                        lo = mid + 1;
                                else
                                        hi = mid;
                        }
                        if (lo < n_msgs && msgs[lo]->seq == r.seq) {
                                message_free(msgs[lo]);
                                msgs[lo] = NULL;
                                memmove(msgs + lo, msgs + lo + 1, (n_msgs - lo - 1) * sizeof(Message *));
                                n_msgs--;
                        }
                }
                off += r.size;
        }

        for (size_t i = 0; i < n_msgs; i++) {
                o->live_record_bytes += msgs[i]->record_size;
                o->next_seq = msgs[i]->seq + 1;
                queue_link(o, msgs[i]);
                loaded++;
        }
        n_msgs = 0;
        o->file_size = off;
        if (off < (uint64_t) st.st_size) {
                log_warning(
                        "The outbox journal %s ends in %llu bytes of a torn or damaged record (a crash or "
                        "power loss while writing): cut off",
                        o->path, (unsigned long long) ((uint64_t) st.st_size - off));
                if (ftruncate(o->fd, (off_t) off) < 0 || fdatasync(o->fd) < 0)
                        log_warning_errno(errno, "Cannot cut the outbox journal, ignoring: %m");
        }
        if (loaded > 0)
                log_info("The outbox holds %zu message%s from before the restart", loaded,
                        loaded == 1 ? "" : "s");
        /* Over the limits (the limits may have shrunk): the oldest go. */
        while (o->head && (o->n > o->limits.max_messages || o->bytes > o->limits.max_bytes))
                drop_oldest(o, "the limits are lower than the stored messages");
        journal_maybe_shrink(o);
        return 0;
oom:
        for (size_t i = 0; i < n_msgs; i++)
                message_free(msgs[i]);
        return -ENOMEM;
}

int outbox_new(Outbox **ret, sd_event *event, const char *path, const OutboxLimits *limits,
        OutboxSendFn send, OutboxMergeFn merge, void *userdata)
{
        _cleanup_(outbox_freep) Outbox *o = NULL;
        int r;

        if (!ret || !event || !send || !limits || limits->max_rate == 0 || limits->max_inflight == 0 ||
                limits->max_messages == 0 || limits->max_bytes == 0)
                return -EINVAL;
        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->fd = -1;
        o->event = sd_event_ref(event);
        o->limits = *limits;
        o->send = send;
        o->merge = merge;
        o->userdata = userdata;
        o->next_seq = 1;
        o->sent = calloc(limits->max_rate, sizeof(uint64_t));
        if (!o->sent)
                return -ENOMEM;

        r = sd_event_add_defer(event, &o->flush, on_flush, o);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(o->flush, "outbox-flush");
        (void) sd_event_source_set_enabled(o->flush, SD_EVENT_OFF);
        r = sd_event_add_time(event, &o->timer, CLOCK_MONOTONIC, UINT64_MAX, USEC_PER_MSEC, on_timer, o);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(o->timer, "outbox-rate");
        (void) sd_event_source_set_enabled(o->timer, SD_EVENT_OFF);
        r = sd_event_add_time(
                event, &o->sync_timer, CLOCK_MONOTONIC, UINT64_MAX, 10 * USEC_PER_MSEC, on_sync_timer, o);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(o->sync_timer, "outbox-sync");
        (void) sd_event_source_set_enabled(o->sync_timer, SD_EVENT_OFF);

        if (path) {
                o->path = strdup(path);
                if (!o->path)
                        return -ENOMEM;
                o->fd = open_state_file(path, O_RDWR | O_CREAT, 0600);
                if (o->fd < 0) {
                        r = o->fd;
                        o->fd = -1;
                        log_error_errno(r,
                                "Cannot open the outbox journal %s: %s; messages for the cloud are "
                                "kept in memory only",
                                path, state_file_strerror(r));
                        o->journal_failing = true;
                } else {
                        r = outbox_load(o);
                        if (r < 0)
                                return log_error_errno(r, "Cannot read the outbox journal %s: %m", path);
                }
        }
        *ret = TAKE_PTR(o);
        return 0;
}

Outbox *outbox_free(Outbox *o)
{
        if (!o)
                return NULL;
        (void) outbox_sync(o);
        while (o->head) {
                Message *m = o->head;
                queue_unlink(o, m);
                message_free(m);
        }
        sd_event_source_disable_unref(o->flush);
        sd_event_source_disable_unref(o->timer);
        sd_event_source_disable_unref(o->sync_timer);
        sd_event_unref(o->event);
        if (o->fd >= 0)
                (void) close(o->fd);
        free(o->sent);
        free(o->path);
        free(o);
        return NULL;
}
