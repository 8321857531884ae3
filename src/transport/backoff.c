/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* backoff.c: reconnect scheduling, see backoff.h. */
#include "backoff.h"
#include "macro.h"

void backoff_attempt(Backoff *b, uint64_t now)
{
        b->attempts[b->next_slot] = now;
        b->next_slot = (b->next_slot + 1) % BACKOFF_MAX_ATTEMPTS;
}

void backoff_failed(Backoff *b)
{
        if (b->failures < 63)
                b->failures++;
}

void backoff_disconnected(Backoff *b, uint64_t connected_at, uint64_t now)
{
        if (now >= connected_at && now - connected_at >= b->stable_usec)
                b->failures = 0;
        else
                backoff_failed(b);
}

uint64_t backoff_window_delay(const Backoff *b, uint64_t now)
{
        /* The slot we would overwrite next holds the oldest of the last BACKOFF_MAX_ATTEMPTS attempts: if it
         * lies inside the window, wait until it leaves it. */
        uint64_t oldest = b->attempts[b->next_slot];

        if (oldest != 0 && oldest + b->window_usec >= now)
                return oldest + b->window_usec - now + 1000; /* strictly after: +1 ms */
        return 0;
}

uint64_t backoff_next_delay(const Backoff *b, uint64_t now, uint64_t random)
{
        uint64_t ceiling = b->base_usec, delay;

        /* Full jitter: anywhere between 0 and the exponential ceiling. The first retry after a stable
         * connection (failures == 0 or 1) thus comes within a second. */
        for (unsigned i = 1; i < b->failures && ceiling < b->cap_usec; i++)
                ceiling *= 2;
        if (ceiling > b->cap_usec)
                ceiling = b->cap_usec;
        delay = random % (ceiling + 1);
        return MAX(delay, backoff_window_delay(b, now));
}
