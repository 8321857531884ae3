/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ota-installer.h: hands one verified image to the installer and reports how it ended.
 *
 * Two ways, as configured (ali-linkd(8), "The installer hook" and FIRMWARE INSTALLATION):
 * - the hook: `installer FILE` run as a child, with only the ALI_LINKD_OTA_* variables and PATH (never a
 *   secret), in its own process group; at the timeout the group gets SIGTERM, and SIGKILL
 *   OTA_KILL_GRACE_USEC later. The image is deleted once the hook has exited, whatever the outcome.
 * - the installer unit: the image is moved (renamed: download_dir must be on the state directory's file
 *   system) into state_directory/install/ID/ with a manifest, and the host is asked to start
 *   <install_unit>@ID.service; the request directory goes once the unit has finished. At the timeout Ota
 *   only stops waiting: the unit has its own TimeoutStartSec=.
 *
 * An OtaInstaller owns the child's or the unit's event sources, its timer and the request directory.
 * Freeing it does not stop a running hook or unit (it may be writing flash): the hook's exit goes
 * unobserved, the host forgets the unit. What an exit status means is the caller's: this module only
 * reports it. */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "alink.h"
#include "macro.h"
#include "ota.h"

/* After SIGTERM at the timeout, the hook's process group gets SIGKILL this much later. */
#define OTA_KILL_GRACE_USEC (10 * USEC_PER_SEC)

/* ota_installer_start() could not start the installer; *ret_failure says why (reported as -4). */
#define OTA_INSTALLER_E_FAILED 1

typedef struct OtaInstaller OtaInstaller;

typedef struct OtaInstallRequest {
        const char *image_path; /* the verified, synced image */
        const AlinkOtaFirmware *fw;
        const char *installer;    /* the hook, or NULL */
        const char *install_unit; /* the unit's prefix, or NULL; wins over installer */
        const char *state_directory;
        unsigned timeout_sec;
} OtaInstallRequest;

/* The installer finished: its exit status (0, 100, anything), or -1 with failure saying why it failed
 * (killed, timed out, the unit's job failed). Called from the loop; the OtaInstaller may be freed in it. */
typedef void (*OtaInstallerDoneFn)(void *userdata, int exit_status, const char *failure);

/* Starts the installer for req (copied; the strings need not outlive the call). Returns 0 when it runs,
 * OTA_INSTALLER_E_FAILED with *ret_failure (malloc'ed) when it could not be started, or negative errno for
 * an internal error, with *ret_failure when there is more to say. host must outlive the OtaInstaller. */
int ota_installer_start(OtaInstaller **ret, sd_event *event, const OtaInstallRequest *req,
        const OtaHost *host, OtaInstallerDoneFn done, void *userdata, char **ret_failure);
OtaInstaller *ota_installer_free(OtaInstaller *i);
DEFINE_TRIVIAL_CLEANUP_FUNC(OtaInstaller *, ota_installer_free);

/* The hook's pid while it runs, else 0. */
pid_t ota_installer_hook_pid(const OtaInstaller *i);
/* True while the installer unit runs. */
bool ota_installer_unit_running(const OtaInstaller *i);
