/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* event-util.c: see event-util.h. */
#include "event-util.h"

int event_timer_arm(sd_event_source *s, uint64_t usec)
{
        int r = sd_event_source_set_time(s, usec);

        return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

int event_timer_arm_relative(sd_event_source *s, uint64_t usec)
{
        int r = sd_event_source_set_time_relative(s, usec);

        return r < 0 ? r : sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

bool event_timer_armed(sd_event_source *s)
{
        return sd_event_source_get_enabled(s, NULL) > 0;
}
