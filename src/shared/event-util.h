/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* event-util.h: one-shot timers on sd-event, armed one way everywhere. No logging: callers say what failed.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <systemd/sd-event.h>

/* Arms the timer source s to fire once at usec (on its clock), replacing the time it had. Returns 0 or
 * negative errno. */
int event_timer_arm(sd_event_source *s, uint64_t usec);
/* The same, usec from now. */
int event_timer_arm_relative(sd_event_source *s, uint64_t usec);
/* Whether the one-shot timer s is armed (enabled, not fired yet). */
bool event_timer_armed(sd_event_source *s);
