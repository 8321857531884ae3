/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ota.h: firmware updates: push → validate → download → verify → installer → result.
 *
 * The Ota object is the job's state machine. It owns at most one job, and everything that job holds: the
 * partial file in download_dir, the streaming digest, the running Download, the installer (ota-installer.h)
 * and its timeout, the progress throttle, and the job file in the state directory (ota-job.h) that lets a
 * restarted daemon resume where it stopped. It also owns the running firmware version (ota-version.h) and
 * reports it on every connect. The message formats are the cloud's
 * (https://help.aliyun.com/en/iot/user-guide/ota-update), built and parsed by alink.h.
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
 *   when the installer reports success; -1 invalid/other, -2 download, -3 digest, -4 installer. Every step
 *   is published at QoS 1: the host keeps what cannot be sent now (offline) and sends it on the next
 *   connect.
 * - The hook gets `installer FILE` and only the ALI_LINKD_OTA_* variables and PATH; never a secret.
 *   Exit 0: installed (progress 100, inform the new version). Exit 100: installed, reboot pending (the
 *   version is checked after the next boot). Anything else, or the timeout: -4.
 *
 * It knows nothing of the daemon: it talks to it only through the OtaHost it is given (publish, message
 * ids, online?, the installer unit, status changes) and reads only the OtaConfig it was handed. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

typedef struct Ota Ota;

/* The cloud topics OTA publishes on; the host knows the device's names for them. */
typedef enum OtaTopic {
        OTA_TOPIC_INFORM,       /* /ota/device/inform/${pk}/${dn} */
        OTA_TOPIC_PROGRESS,     /* /ota/device/progress/${pk}/${dn} */
        OTA_TOPIC_FIRMWARE_GET, /* /sys/${pk}/${dn}/thing/ota/firmware/get */
        _OTA_TOPIC_MAX,
} OtaTopic;

/* A unit started through the host has finished starting. error < 0 when it could not be started at all
 * (message says why); otherwise result is systemd's job result ("done", "failed", "timeout", ...) and
 * exit_status the main process's exit status. The same shape as bus.h's BusUnitDoneFn. */
typedef void (*OtaUnitDoneFn)(
        void *userdata, int error, const char *result, int exit_status, const char *message);

/* What Ota needs from the daemon. Every callback gets host->userdata first. */
typedef struct OtaHost {
        /* Publish payload on the topic. QoS 1: kept until the cloud acknowledged it, across reconnects
         * (>= 0 when accepted); QoS 0: now or never. Negative errno when it cannot be accepted. */
        int (*publish)(void *userdata, OtaTopic topic, const char *payload, int qos);
        /* A fresh Alink message id (decimal string, malloc'ed: Ota frees it); NULL when out of memory. */
        char *(*new_message_id)(void *userdata);
        /* Is the session to the cloud up? Informs and firmware/get are only sent then. */
        bool (*is_online)(void *userdata);
        /* Start the installer unit (one at a time) and call done(done_userdata, ...) once its start job is
         * over. -ENOTCONN when there is no bus to reach systemd on. */
        int (*start_unit)(void *userdata, const char *unit, OtaUnitDoneFn done, void *done_userdata);
        /* Stop waiting for the unit started last (it runs on); done is not called afterwards. */
        void (*forget_unit)(void *userdata);
        /* The firmware version, the state or the progress step (ota_get_status()) changed. May be NULL. */
        void (*status_changed)(void *userdata);
        void *userdata;
} OtaHost;

/* The settings Ota reads ([ota] and the state directory); Ota keeps its own copy of the strings. */
typedef struct OtaConfig {
        const char *state_directory; /* the job file, and the install requests for the installer unit */
        const char *download_dir;    /* the partial file and the image; required */
        const char *version_file;    /* the running version: this file's first line, */
        const char *version_command; /* or what this prints (when version_file is NULL) */
        const char *installer;       /* the hook run as a child, */
        const char *install_unit;    /* or <install_unit>@ID.service started through the host */
        const char *ca_file;         /* NULL: the system trust store */
        bool allow_http;
        uint64_t max_size;
        unsigned installer_timeout; /* seconds */
        unsigned connect_timeout;   /* seconds */
        unsigned stall_timeout;     /* seconds under 1 KiB/s before a transfer is abandoned */
        uint64_t retry_base_usec;   /* the first retry's delay, doubled per failure; 0: 1 s */
        bool applies_diff;          /* the installer applies delta packages (isDiff) */
        unsigned cloud_timeout;     /* seconds for the firmware/get reply renewing a URL */
} OtaConfig;

/* What ota_get_status() reports (FirmwareVersion, OtaState, OtaProgress on D-Bus). */
typedef struct OtaStatus {
        const char *firmware_version;
        const char *state;
        int progress;
} OtaStatus;

/* Reads the running version and resumes a persisted job; both may publish through host already. The host
 * is copied; its userdata must outlive the Ota. */
int ota_new(Ota **ret, sd_event *event, const OtaConfig *config, const OtaHost *host);
/* Stops the download (keeping the partial file and the job for the next start); a running installer hook
 * or unit is left to finish on its own. Accepts NULL. */
Ota *ota_free(Ota *o);
DEFINE_TRIVIAL_CLEANUP_FUNC(Ota *, ota_free);

/* New settings (a reload): used from the next step on; the running version is not read again. */
int ota_set_config(Ota *o, const OtaConfig *config);

/* The session is (again) up: inform the version; ask for pending firmware once, or again while a URL is due.
 */
void ota_on_connected(Ota *o);
/* A message on /ota/device/upgrade (reply = false) or thing/ota/firmware/get_reply (reply = true). */
void ota_handle_upgrade(Ota *o, const void *payload, size_t len, bool reply);
/* Ask the cloud for pending firmware now (D-Bus RequestFirmware, aliLinkctl ota request). -ENOTCONN offline.
 */
int ota_request_firmware(Ota *o);
/* The running version, the state ("idle", "verifying", "downloading", "retrying", "waiting-for-url",
 * "installing", "reboot-pending") and the last progress step. Strings stay valid until the next loop turn.
 */
void ota_get_status(Ota *o, OtaStatus *ret);
