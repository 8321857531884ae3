/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-backoff.c: reconnect scheduling with a clock and randomness the test controls. */
#include "backoff.h"
#include "macro.h"
#include "test.h"

#define SEC 1000000ULL

TEST(ceiling_grows_and_caps)
{
        Backoff b = BACKOFF_INIT;
        uint64_t now = 1000 * SEC;

        /* With the largest random value the delay is the ceiling itself: 1, 1, 2, 4, ... capped at 120 s. */
        CHECK_INTEQ(backoff_next_delay(&b, now, UINT64_MAX - 0) <= 1 * SEC, 1);
        backoff_failed(&b);
        CHECK(backoff_next_delay(&b, now, 1 * SEC) == 1 * SEC);
        backoff_failed(&b);
        CHECK(backoff_next_delay(&b, now, 2 * SEC) == 2 * SEC);
        CHECK(backoff_next_delay(&b, now, 2 * SEC + 1) == 0); /* modulo: full jitter wraps to 0 */
        for (int i = 0; i < 20; i++)
                backoff_failed(&b);
        CHECK(backoff_next_delay(&b, now, 120 * SEC) == 120 * SEC);
        CHECK(backoff_next_delay(&b, now, 120 * SEC + 1) == 0);
}

TEST(never_more_than_five_attempts_a_minute)
{
        Backoff b = BACKOFF_INIT;
        uint64_t now = 5000 * SEC, rnd = 12345;
        uint64_t history[64];
        size_t n = 0;

        /* Fail as fast as the policy lets us, for ten simulated minutes, with varied randomness. */
        while (now < 5600 * SEC && n < ELEMENTSOF(history)) {
                backoff_attempt(&b, now);
                history[n++] = now;
                backoff_failed(&b);
                rnd = rnd * 6364136223846793005ULL + 1442695040888963407ULL;
                now += backoff_next_delay(&b, now, rnd) + 1;
        }
        CHECK(n >= 10);
        for (size_t i = 5; i < n; i++)
                CHECK(history[i] - history[i - 5] > 60 * SEC);
}

TEST(stable_connection_resets)
{
        Backoff b = BACKOFF_INIT;
        uint64_t now = 100 * SEC;

        for (int i = 0; i < 10; i++)
                backoff_failed(&b);
        CHECK(backoff_next_delay(&b, now, 100 * SEC) == 100 * SEC);
        /* Up for a minute: back to a quick retry. */
        backoff_disconnected(&b, now, now + 60 * SEC);
        CHECK(b.failures == 0);
        CHECK(backoff_next_delay(&b, now + 60 * SEC, 5 * SEC) <= 1 * SEC);
        /* Up for only ten seconds: counts as a failure. */
        backoff_disconnected(&b, now, now + 10 * SEC);
        CHECK(b.failures == 1);
}

TEST(window_only_counts_recent_attempts)
{
        Backoff b = BACKOFF_INIT;
        uint64_t t0 = 10000 * SEC;

        for (int i = 0; i < 5; i++)
                backoff_attempt(&b, t0 + (uint64_t) i * SEC);
        /* Five attempts in the last 5 s: the sixth waits until the first leaves the window. */
        CHECK(backoff_next_delay(&b, t0 + 5 * SEC, 0) == 55 * SEC + 1000);
        /* Two minutes later nothing in the window holds it back. */
        CHECK(backoff_next_delay(&b, t0 + 120 * SEC, 0) == 0);
}
