/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* unit-client.h: starting a systemd unit and following its start job to the end, over D-Bus.
 *
 * Owns one StartUnit call to org.freedesktop.systemd1 at a time: the Subscribe call and the JobRemoved
 * match that must be in place before the start, the job's result, and the unit's ExecMainStatus read once
 * the job is over (the firmware installer unit tells "installed" from "installed, reboot pending" with its
 * exit status). It is the daemon's only systemd client; it serves nothing on the bus and knows nothing
 * about OTA or the Manager. Follows systemd's own clients (src/shared/bus-wait-for-jobs.c) and the
 * org.freedesktop.systemd1(5) interface description.
 *
 * The sd_bus connection stays owned by the caller and must outlive the client. */
#pragma once

#include <systemd/sd-bus.h>

#include "macro.h"

typedef struct UnitClient UnitClient;

/* The unit's start job is over. error < 0 when it could not be started at all (message says why: polkit
 * refused (-EACCES), no such unit, no bus); otherwise result is systemd's job result ("done", "failed",
 * "timeout", "canceled", ...) and exit_status the main process's exit status (-1 when unknown). */
typedef void (*UnitDoneFn)(
        void *userdata, int error, const char *result, int exit_status, const char *message);

/* Returns 0, or -ENOMEM. bus may be NULL: then every start fails with -ENOTCONN. Free with
 * unit_client_free(), which forgets a unit still starting (done is not called). */
int unit_client_new(UnitClient **ret, sd_bus *bus);
UnitClient *unit_client_free(UnitClient *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(UnitClient *, unit_client_free);

/* Start unit (org.freedesktop.systemd1.Manager.StartUnit, mode "replace") and call done once its start
 * job is over. One at a time: -EBUSY while one runs; -ENOTCONN without a client or bus. */
int unit_client_start(UnitClient *c, const char *unit, UnitDoneFn done, void *userdata);
/* Stop waiting for it (the unit itself runs on); done is not called. Accepts NULL. */
void unit_client_forget(UnitClient *c);
