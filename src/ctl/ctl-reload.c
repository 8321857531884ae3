/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl-reload.c: aliLinkctl reload: the daemon reads its configuration again, as systemctl reload does. */
#include <stdio.h>
#include <stdlib.h>

#include "bus-names.h"
#include "ctl-common.h"
#include "string-util.h"

int verb_reload(sd_bus *bus, int argc, char *argv[])
{
        (void) argc;
        (void) argv;
        _cleanup_(freep) char *state = NULL;
        int r = call(bus, "Reload failed", "Reload", NULL, NULL);
        if (r < 0)
                return r;
        /* A file without the device triple is valid: it is applied, and the daemon waits for the triple. */
        if (sd_bus_get_property_string(bus, ALI_BUS_NAME, ALI_BUS_PATH, ALI_BUS_INTERFACE,
                    property_name(PROP_STATE), NULL, &state) >= 0 &&
                streq(state, "unconfigured")) {
                printf("Configuration reloaded; the device is not configured: set product_key, "
                       "device_name and device_secret, then reload again\n");
                return 0;
        }
        printf("Configuration reloaded\n");
        return 0;
}
