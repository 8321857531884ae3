/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* backoff.h: when to try the next MQTT connection.
 *
 * Exponential backoff with full jitter (a random delay in [0, min(cap, base * 2^failures)]), never more than
 * BACKOFF_MAX_ATTEMPTS connection attempts in any rolling window (the platform allows
 * ALINK_MAX_CONNECTS_PER_MINUTE), and the failure count reset once a connection has stayed up long enough.
 * Pure: the caller passes the clock and the randomness, so tests can drive it. Times are CLOCK_MONOTONIC µs.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "alink-limits.h"

#define BACKOFF_MAX_ATTEMPTS ALINK_MAX_CONNECTS_PER_MINUTE

typedef struct Backoff {
        uint64_t base_usec;   /* 1 s */
        uint64_t cap_usec;    /* 120 s */
        uint64_t window_usec; /* 60 s: at most BACKOFF_MAX_ATTEMPTS attempts per window */
        uint64_t stable_usec; /* 60 s up resets the failure count */
        unsigned failures;
        uint64_t attempts[BACKOFF_MAX_ATTEMPTS]; /* ring of the last attempt times, 0 = none */
        unsigned next_slot;
} Backoff;

#define BACKOFF_INIT                                                                                        \
        ((Backoff){.base_usec = 1000000ULL,                                                                 \
                .cap_usec = 120000000ULL,                                                                   \
                .window_usec = 60000000ULL,                                                                 \
                .stable_usec = 60000000ULL})

/* Record a connection attempt made at now. */
void backoff_attempt(Backoff *b, uint64_t now);
/* A connection that was up from connected_at until now ended; counts as a failure unless it was stable. */
void backoff_disconnected(Backoff *b, uint64_t connected_at, uint64_t now);
/* An attempt failed before the session was established. */
void backoff_failed(Backoff *b);
/* How long from now until the attempt window allows another attempt (0: now). */
uint64_t backoff_window_delay(const Backoff *b, uint64_t now);
/* The delay from now until the next attempt may start, given a uniformly random 64-bit value. */
uint64_t backoff_next_delay(const Backoff *b, uint64_t now, uint64_t random);
