/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include "time-util.h"

#include <string.h>

#include "macro.h"
#include "string-util.h"

uint64_t now_usec(clockid_t clock)
{
        struct timespec ts;

        (void) clock_gettime(clock, &ts);
        return (uint64_t) ts.tv_sec * USEC_PER_SEC + (uint64_t) ts.tv_nsec / NSEC_PER_USEC;
}

int parse_duration(const char *s, uint64_t *ret_usec)
{
        static const struct {
                const char *suffix;
                uint64_t factor;
        } units[] = {
                {"us", 1},
                {"ms", USEC_PER_MSEC},
                {"s", USEC_PER_SEC},
                {"min", 60 * USEC_PER_SEC},
                {"h", 3600 * USEC_PER_SEC},
                {"", USEC_PER_SEC},
        };
        _cleanup_(freep) char *digits = NULL;
        size_t n;
        uint64_t v;
        int r;

        if (isempty(s))
                return -EINVAL;
        n = strspn(s, "0123456789");
        if (n == 0)
                return -EINVAL;
        digits = strndup(s, n);
        if (!digits)
                return -ENOMEM;
        for (size_t i = 0; i < ELEMENTSOF(units); i++) {
                if (!streq(s + n, units[i].suffix))
                        continue;
                r = safe_atou64_range(digits, 0, UINT64_MAX / units[i].factor, &v);
                if (r < 0)
                        return r;
                *ret_usec = v * units[i].factor;
                return 0;
        }
        return -EINVAL;
}
