/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ota.h: firmware updates (ALINK-PROTOCOL.md §3): push → validate → download → verify → installer hook.
 *
 * The Ota object owns at most one job, and everything that job holds: the partial file in [ota]
 * download_dir, the streaming digest, the running Download, the installer hook child and its timeout, the
 * progress throttle, and the job file in the state directory ("ota-job.json": URL, digest, method, size,
 * version, module, bytes on disk, phase) that lets a restarted daemon resume where it stopped. It also
 * owns the running firmware version (read from [ota] version_file, or printed by [ota] version_command, run
 * as a child on the loop) and reports it on every connect.
 *
 * The rules, in one place:
 * - A push (or a firmware/get_reply carrying a package) is validated first; an invalid one is answered
 *   with progress -1 and a desc saying why. A push for the running version, the version being downloaded,
 *   or the version waiting for a reboot is ignored; a push for another version cancels the current job
 *   (unless its installer is running: then the push is refused with -1) and starts the new one.
 * - Free space in download_dir is checked before the first byte is fetched (-2 when short).
 * - The digest is computed as bytes arrive; on resume the bytes already on disk are digested first, in
 *   chunks on the loop at idle priority. Never a second pass over the finished file.
 * - Progress: step "0".."99" while downloading, at most once a second and only when it changes; "100"
 *   when the installer reports success; -1 invalid/other, -2 download, -3 digest, -4 installer. A result
 *   that cannot be published (offline) is sent on the next connect.
 * - The hook gets `installer FILE` and only the ALI_LINKD_OTA_* variables and PATH; never a secret.
 *   Exit 0: installed (progress 100, inform the new version). Exit 100: installed, reboot pending (the
 *   version is checked after the next boot). Anything else, or the timeout: -4.
 *
 * The Manager forwards the OTA topics here and calls ota_on_connected(); this module publishes through
 * manager_publish() and reads the current Conf from the Manager when a job starts. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "macro.h"

typedef struct Manager Manager;
typedef struct Ota Ota;
typedef struct OtaStatus OtaStatus;

/* Reads the running version and resumes a persisted job. The Manager's conf must be loaded. */
int ota_new(Ota **ret, Manager *m);
/* Stops the download (keeping the partial file and the job for the next start); a running installer hook
 * is left to finish on its own. Accepts NULL. */
Ota *ota_free(Ota *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Ota *, ota_free);

/* The session is (again) up: inform the version, ask for pending firmware once, flush an unsent result. */
void ota_on_connected(Ota *o);
/* A message on /ota/device/upgrade (reply = false) or thing/ota/firmware/get_reply (reply = true). */
void ota_handle_upgrade(Ota *o, const void *payload, size_t len, bool reply);
/* Ask the cloud for pending firmware now (D-Bus RequestFirmware, aliLinkctl ota request). -ENOTCONN offline. */
int ota_request_firmware(Ota *o);
/* The running version, the state ("idle", "verifying", "downloading", "retrying", "waiting-for-url",
 * "installing", "reboot-pending") and the last progress step. Strings stay valid until the next loop turn. */
void ota_get_status(Ota *o, OtaStatus *ret);
