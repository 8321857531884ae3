/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ctl-ota.c: aliLinkctl ota status|request: the firmware and OTA properties; RequestFirmware. */
#include <stdio.h>

#include "ctl-common.h"
#include "string-util.h"

int verb_ota(sd_bus *bus, int argc, char *argv[])
{
        (void) argc;
        if (streq(argv[1], "request")) {
                int r = call(bus, "Cannot request firmware", "RequestFirmware", NULL, NULL);
                if (r < 0)
                        return r;
                printf("Asked the cloud for pending firmware\n");
                return 0;
        }
        if (streq(argv[1], "status")) {
                _cleanup_(status_done) Status s = {};
                int r = get_status(bus, &s);
                if (r < 0)
                        return r;
                if (arg_json) {
                        static const Property props[] = {
                                PROP_FIRMWARE_VERSION, PROP_OTA_STATE, PROP_OTA_PROGRESS, _PROP_MAX};
                        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
                        status_add_json(o, &s, props);
                        print_json(o);
                } else
                        printf("Firmware %s; OTA %s, progress %d\n",
                                isempty(s.v[PROP_FIRMWARE_VERSION].s) ? "version unknown"
                                                                      : s.v[PROP_FIRMWARE_VERSION].s,
                                status_string(&s, PROP_OTA_STATE), s.v[PROP_OTA_PROGRESS].i);
                return 0;
        }
        return usage_error("ota: expected \"status\" or \"request\", got \"%s\"", argv[1]);
}
