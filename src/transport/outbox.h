/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* outbox.h: the bounded, persistent store-and-forward queue of messages to the cloud.
 *
 * Owns every QoS 1 message that matters (property posts, events, user messages, OTA progress and inform)
 * from the moment it is accepted until the broker's PUBACK, and the file that keeps them across restarts,
 * kill -9 and power loss: an append-only journal in the state directory, one record per message and one per
 * removal, each framed by length and CRC32, so a torn tail is detected, cut off and never parsed.
 *
 * Durability: outbox_append() writes the record; the journal is fdatasync()ed before the message is sent,
 * and at the latest one second after it was appended when it waits (group commit: one fdatasync for
 * everything appended meanwhile, so property sets arriving faster than posts may be sent do not each cost
 * a disk flush). outbox_sync() does it now, for callers that must answer "accepted" only once the message
 * is on disk (D-Bus Publish). kill -9 loses nothing written; a power loss may lose what was accepted in the
 * last second and not yet sent.
 *
 * Sending: in order, at most max_rate messages a second and max_inflight unacknowledged (the platform's
 * limits: 10/s and 100, alink-limits.h), through the send function the owner hands in. A message
 * still waiting to be sent is coalesced with a newer property post (latest value per property, each with
 * its time), through the merge function the owner hands in; other messages keep their order. When the
 * link drops, messages in flight go back to waiting and are sent again, in order, after the next connect
 * (QoS 1: the cloud may see a message twice, never not at all).
 *
 * Bounded: beyond max_messages or max_bytes the oldest message is dropped and counted. If the journal
 * cannot be written (disk full), the message is kept in memory only, the error is reported once per
 * episode, and the file stays consistent. No json-c, no MQTT here: the owner's functions do that. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct Outbox Outbox;

typedef enum OutboxClass {
        OUTBOX_PROPERTIES, /* thing.event.property.post: coalesced while waiting */
        OUTBOX_ORDERED,    /* everything else: strictly in order */
        _OUTBOX_CLASS_MAX,
} OutboxClass;

typedef struct OutboxLimits {
        size_t max_messages;
        uint64_t max_bytes;
        unsigned max_rate;     /* messages per second */
        unsigned max_inflight; /* sent, not yet acknowledged */
        size_t max_payload;    /* the largest message the link can send; 0: no limit of its own */
} OutboxLimits;

#define OUTBOX_LIMITS_DEFAULT                                                                               \
        ((OutboxLimits){                                                                                    \
                .max_messages = 10000, .max_bytes = 8 * 1024 * 1024, .max_rate = 10, .max_inflight = 100})

/* Publish one message at QoS 1; store the message id in *ret_mid. Negative errno when it cannot be sent now
 * (the message then waits for the next attempt); -EMSGSIZE or -EINVAL when it can never be sent (the
 * message is then dropped with a warning and counted, so that it cannot block the ones behind it). */
typedef int (*OutboxSendFn)(
        void *userdata, const char *topic, const void *payload, size_t len, int *ret_mid);
/* Merge two property posts into *ret (malloc'ed): newer's values win, each value carries its time in
 * epoch milliseconds; older_timed says older's values are already {"value":...,"time":...}. */
typedef int (*OutboxMergeFn)(void *userdata, const char *older, bool older_timed, uint64_t older_ms,
        const char *newer, uint64_t newer_ms, char **ret);

/* Opens (creating) the journal at path and loads what it holds; a torn or corrupt tail is cut off and
 * logged. path NULL keeps the outbox in memory only. */
int outbox_new(Outbox **ret, sd_event *event, const char *path, const OutboxLimits *limits,
        OutboxSendFn send, OutboxMergeFn merge, void *userdata);
Outbox *outbox_free(Outbox *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Outbox *, outbox_free);

/* Accept a message. Returns 0 when it is in the journal (durable before it is sent, within a second),
 * 1 when it could only be kept in memory (the journal could not be written; logged), negative errno on
 * bad arguments or out of memory. */
int outbox_append(Outbox *o, OutboxClass c, const char *topic, const char *payload, size_t len);
/* Make everything appended so far durable now. */
int outbox_sync(Outbox *o);

/* The link came up (send what waits) or went down (what was in flight waits again). */
void outbox_set_online(Outbox *o, bool online);
/* The broker acknowledged message id mid. */
void outbox_acked(Outbox *o, int mid);

size_t outbox_depth(const Outbox *o); /* waiting + in flight */
uint64_t outbox_bytes(const Outbox *o);
uint64_t outbox_dropped(const Outbox *o);

/* For tests and fuzzing: parse a journal image; returns the number of intact records and their byte
 * length in *ret_good (the rest is a torn tail). Never reads past len. */
size_t outbox_scan(const void *data, size_t len, size_t *ret_good);
