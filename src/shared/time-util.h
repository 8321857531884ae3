/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* time-util.h: the one way to read a clock outside the event loop (where sd_event_now() is the answer). */
#pragma once

#include <stdint.h>
#include <time.h>

/* Now on the given clock (CLOCK_MONOTONIC, CLOCK_REALTIME, ...), in microseconds. */
uint64_t now_usec(clockid_t clock);
