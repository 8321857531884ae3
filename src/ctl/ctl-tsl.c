/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl-tsl.c: aliLinkctl tsl check FILE: reads a thing model (the console's export) the way the daemon does,
 * and says what it holds or what is wrong with it. Local only: no bus, no daemon needed. */
#include <stdio.h>
#include <stdlib.h>

#include "ctl-common.h"
#include "tsl.h"

static const char *plural(size_t n, const char *one, const char *many)
{
        return n == 1 ? one : many;
}

int verb_tsl(sd_bus *bus, int argc, char *argv[])
{
        _cleanup_(tsl_freep) Tsl *t = NULL;
        _cleanup_(freep) char *error = NULL;
        size_t np, ns, ne;
        int r;

        (void) bus;
        if (argc != 3 || !streq(argv[1], "check"))
                return usage_error("usage: aliLinkctl tsl check FILE");

        r = tsl_load_file(argv[2], &t, &error);
        if (r != 0) {
                if (error)
                        fprintf(stderr, "%s\n", error);
                else
                        fprintf(stderr, "%s: %s\n", argv[2], strerror(r < 0 ? -r : EINVAL));
                return r < 0 ? r : -EINVAL;
        }
        np = tsl_n_properties(t);
        ns = tsl_n_services(t);
        ne = tsl_n_events(t);
        printf("%s: %zu %s, %zu %s, %zu %s\n", argv[2], np, plural(np, "property", "properties"), ns,
                plural(ns, "service", "services"), ne, plural(ne, "event", "events"));
        return 0;
}
