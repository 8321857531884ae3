/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* time-util.h: the one way to read a clock outside the event loop (where sd_event_now() is the answer). */
#pragma once

#include <stdint.h>
#include <time.h>

/* Now on the given clock (CLOCK_MONOTONIC, CLOCK_REALTIME, ...), in microseconds. */
uint64_t now_usec(clockid_t clock);
/* A duration such as "10ms", "5s", "2min", "1h" or "1500us" (one number, no sign, one unit of us, ms, s,
 * min, h; a bare number is seconds) in microseconds. 0, -EINVAL (not a duration) or -ERANGE (too long). */
int parse_duration(const char *s, uint64_t *ret_usec);
