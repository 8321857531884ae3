/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* unit-client.c: StartUnit, JobRemoved and ExecMainStatus with sd-bus (org.freedesktop.systemd1(5)). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "string-util.h"
#include "unit-client.h"

#define SYSTEMD_NAME "org.freedesktop.systemd1"
#define SYSTEMD_PATH "/org/freedesktop/systemd1"
#define SYSTEMD_MANAGER "org.freedesktop.systemd1.Manager"

struct UnitClient {
        sd_bus *bus;
        char *unit;
        char *result;
        UnitDoneFn done;
        void *userdata;
        sd_bus_slot *match, *call;
};

int unit_client_new(UnitClient **ret, sd_bus *bus)
{
        UnitClient *c = calloc(1, sizeof(*c));

        if (!c)
                return -ENOMEM;
        c->bus = bus ? sd_bus_ref(bus) : NULL;
        *ret = c;
        return 0;
}

UnitClient *unit_client_free(UnitClient *c)
{
        if (!c)
                return NULL;
        unit_client_forget(c);
        sd_bus_unref(c->bus);
        free(c);
        return NULL;
}

void unit_client_forget(UnitClient *c)
{
        if (!c)
                return;
        c->match = sd_bus_slot_unref(c->match);
        c->call = sd_bus_slot_unref(c->call);
        c->unit = mfree(c->unit);
        c->result = mfree(c->result);
        c->done = NULL;
        c->userdata = NULL;
}

static void unit_finish(UnitClient *c, int error, int exit_status, const char *message)
{
        UnitDoneFn done = c->done;
        void *userdata = c->userdata;
        _cleanup_(freep) char *result = TAKE_PTR(c->result);

        unit_client_forget(c);
        if (done)
                done(userdata, error, result, exit_status, message);
}

static int on_exec_status(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        UnitClient *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        int32_t status = -1;

        (void) ret_error;
        c->call = sd_bus_slot_unref(c->call);
        if (!e && sd_bus_message_read(reply, "v", "i", &status) < 0)
                status = -1;
        unit_finish(c, 0, status, e ? e->message : NULL);
        return 0;
}

static int on_unit_path(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        UnitClient *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);
        const char *path;
        int r;

        (void) ret_error;
        c->call = sd_bus_slot_unref(c->call);
        if (e || sd_bus_message_read(reply, "o", &path) < 0) {
                unit_finish(c, 0, -1, e ? e->message : "cannot read the unit's path");
                return 0;
        }
        r = sd_bus_call_method_async(c->bus, &c->call, SYSTEMD_NAME, path, "org.freedesktop.DBus.Properties",
                "Get", on_exec_status, c, "ss", "org.freedesktop.systemd1.Service", "ExecMainStatus");
        if (r < 0)
                unit_finish(c, 0, -1, "cannot read the unit's exit status");
        return 0;
}

static int on_job_removed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
        UnitClient *c = userdata;
        const char *job, *unit, *result;
        uint32_t id;
        int r;

        (void) ret_error;
        if (sd_bus_message_read(m, "uoss", &id, &job, &unit, &result) < 0 || !c->unit ||
                !streq(unit, c->unit))
                return 0;
        log_debug("systemd finished the start job of %s: %s", unit, result);
        if (free_and_strdup(&c->result, result) < 0) {
                unit_finish(c, -ENOMEM, -1, "out of memory");
                return 0;
        }
        c->match = sd_bus_slot_unref(c->match);
        /* The exit status tells "installed" (0) from "installed, reboot pending" (100). */
        r = sd_bus_call_method_async(c->bus, &c->call, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER,
                "GetUnit", on_unit_path, c, "s", c->unit);
        if (r < 0)
                unit_finish(c, 0, -1, "cannot look the unit up");
        return 0;
}

static int on_start_unit(sd_bus_message *reply, void *userdata, sd_bus_error *ret_error)
{
        UnitClient *c = userdata;
        const sd_bus_error *e = sd_bus_message_get_error(reply);

        (void) ret_error;
        c->call = sd_bus_slot_unref(c->call);
        if (e)
                unit_finish(c,
                        sd_bus_error_has_names(e, SD_BUS_ERROR_ACCESS_DENIED,
                                SD_BUS_ERROR_INTERACTIVE_AUTHORIZATION_REQUIRED)
                                ? -EACCES
                                : -EIO,
                        -1, e->message);
        return 0;
}

int unit_client_start(UnitClient *c, const char *unit, UnitDoneFn done, void *userdata)
{
        int r;

        if (!c || !c->bus)
                return -ENOTCONN;
        if (c->unit)
                return -EBUSY;
        c->unit = strdup(unit);
        if (!c->unit)
                return -ENOMEM;
        c->done = done;
        c->userdata = userdata;

        /* systemd sends JobRemoved to subscribed clients only; the match goes in before the start, and
         * the bus delivers in order, so the end of the job cannot be missed. */
        r = sd_bus_call_method_async(
                c->bus, NULL, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER, "Subscribe", NULL, NULL, NULL);
        if (r >= 0)
                r = sd_bus_match_signal_async(c->bus, &c->match, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER,
                        "JobRemoved", on_job_removed, NULL, c);
        if (r >= 0)
                r = sd_bus_call_method_async(c->bus, &c->call, SYSTEMD_NAME, SYSTEMD_PATH, SYSTEMD_MANAGER,
                        "StartUnit", on_start_unit, c, "ss", unit, "replace");
        if (r < 0) {
                unit_client_forget(c);
                return r;
        }
        return 0;
}
