/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ota.c: the OTA job state machine: pushes, the download and its digest, progress, the installer's result,
 * resuming after a restart. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>
#include <unistd.h>

#include "alink.h"
#include "digest.h"
#include "download.h"
#include "event-util.h"
#include "fs-util.h"
#include "log.h"
#include "ota-installer.h"
#include "ota-job.h"
#include "ota-version.h"
#include "ota.h"
#include "string-util.h"

#define OTA_PART_FILE "ota-image.part"
#define OTA_IMAGE_FILE "ota-image"
/* Bytes digested per loop iteration when resuming over the partial file. */
#define OTA_HASH_CHUNK (256u * 1024u)
/* Attempts in a row that fetch nothing before the download is given up (-2). */
#define OTA_MAX_FAILURES 6
#define OTA_RETRY_MAX_USEC (30 * USEC_PER_SEC)
/* An attempt that ends after fewer new bytes than this (and short of the end) counts as a failure: a
 * server that cuts every connection after a byte, or drips, must not be resumed at once for ever. */
#define OTA_MIN_PROGRESS_BYTES (64u * 1024u)
/* How often an expired URL may be replaced through firmware/get before giving up. */
#define OTA_MAX_URL_REFRESHES 3
#define OTA_PROGRESS_INTERVAL_USEC USEC_PER_SEC
/* No step reported yet. */
#define OTA_STEP_NONE (-100)

typedef enum OtaPhase {
        OTA_HASHING, /* resuming: digesting the bytes already on disk */
        OTA_DOWNLOADING,
        OTA_RETRY_WAIT,
        OTA_WAITING_URL, /* the URL was refused (it expires after about a day): asked for a fresh one */
        OTA_INSTALLING,
} OtaPhase;

typedef struct OtaJob {
        AlinkOtaFirmware fw;
        OtaPhase phase;
        char *part_path, *image_path;
        int fd;
        Digest *digest;
        uint64_t bytes;      /* in the partial file and in the digest */
        uint64_t checkpoint; /* bytes recorded in the job file, all fdatasync'ed */
        uint64_t hashed;     /* resume: bytes of the partial file digested so far */
        uint64_t attempt_start;
        unsigned failures, url_refreshes;
        uint64_t transfer_start_usec;
        Download *download;
        sd_event_source *hash_source, *retry_source;
        sd_event_source *url_timer; /* OTA_WAITING_URL: the cloud's firmware/get reply is due */
        uint8_t *hash_buf;
        OtaInstaller *installer;
} OtaJob;

/* OtaConfig with its own strings. */
typedef struct OtaSettings {
        OtaConfig c;
        char *strings[7];
} OtaSettings;

struct Ota {
        sd_event *event;
        OtaHost host;
        OtaSettings settings;
        Downloader *downloader;          /* only while a job downloads */
        sd_event_source *release_source; /* frees it once no transfer runs, outside its handlers */
        char *job_path;

        /* The running firmware version. */
        char *running_version; /* NULL: unknown or unreadable */
        bool version_read;
        OtaVersionCommand *version_command;

        /* Cloud bookkeeping. */
        bool firmware_get_sent;
        void *deferred_push; /* a push that arrived before the version was known */
        size_t deferred_push_len;
        bool deferred_reply;

        /* An installer that exited 100: the version expected after the reboot. */
        AlinkOtaFirmware reboot_target;
        char *reboot_boot_id;

        OtaJob *job;

        /* Progress throttle. */
        int last_step;
        uint64_t last_step_usec;
        sd_event_source *progress_timer;

        /* What the host was last told about (ota_get_status()). */
        char *told_version;
        const char *told_state;
        int told_progress;
        bool told;
};

static void ota_job_download(Ota *o);
static void ota_run_installer(Ota *o);

static const OtaConfig *ota_conf(Ota *o)
{
        return &o->settings.c;
}

static void ota_settings_done(OtaSettings *s)
{
        for (size_t i = 0; i < ELEMENTSOF(s->strings); i++)
                free(s->strings[i]);
        *s = (OtaSettings){};
}

static int ota_settings_copy(OtaSettings *s, const OtaConfig *c)
{
        OtaSettings n = {.c = *c};
        const char **fields[] = {
                &n.c.state_directory,
                &n.c.download_dir,
                &n.c.version_file,
                &n.c.version_command,
                &n.c.installer,
                &n.c.install_unit,
                &n.c.ca_file,
        };

        _Static_assert(ELEMENTSOF(fields) == ELEMENTSOF(n.strings), "one string per field");
        for (size_t i = 0; i < ELEMENTSOF(fields); i++) {
                if (!*fields[i])
                        continue;
                n.strings[i] = strdup(*fields[i]);
                if (!n.strings[i]) {
                        ota_settings_done(&n);
                        return -ENOMEM;
                }
                *fields[i] = n.strings[i];
        }
        ota_settings_done(s);
        *s = n;
        return 0;
}

static bool ota_online(Ota *o)
{
        return o->host.is_online && o->host.is_online(o->host.userdata);
}

static char *ota_new_message_id(Ota *o)
{
        return o->host.new_message_id(o->host.userdata);
}

static int ota_publish(Ota *o, OtaTopic topic, const char *payload)
{
        return o->host.publish(o->host.userdata, topic, payload, /* qos= */ 1);
}

static uint64_t now_usec(Ota *o)
{
        uint64_t t = 0;
        (void) sd_event_now(o->event, CLOCK_MONOTONIC, &t);
        return t;
}

/* The boot id as a UUID string, the format the job file has always kept (it was read from
 * /proc/sys/kernel/random/boot_id); NULL when unknown. */
static char *boot_id_string(void)
{
        sd_id128_t id;
        char *s;

        if (sd_id128_get_boot(&id) < 0)
                return NULL;
        if (asprintf(&s, SD_ID128_UUID_FORMAT_STR, SD_ID128_FORMAT_VAL(id)) < 0)
                return NULL;
        return s;
}

/* Was the record made in this boot? Unknown counts as another boot. */
static bool boot_id_is_current(const char *recorded)
{
        sd_id128_t a, b;

        return recorded && sd_id128_from_string(recorded, &a) >= 0 && sd_id128_get_boot(&b) >= 0 &&
               sd_id128_equal(a, b);
}

/* Tell the host when what ota_get_status() reports has changed since it was last told. */
static void ota_status_update(Ota *o)
{
        OtaStatus st;

        ota_get_status(o, &st);
        if (o->told && streq_ptr(st.firmware_version, o->told_version) &&
                streq_ptr(st.state, o->told_state) && st.progress == o->told_progress)
                return;
        if (!streq_ptr(st.firmware_version, o->told_version)) {
                free(o->told_version);
                o->told_version = st.firmware_version ? strdup(st.firmware_version) : NULL;
        }
        o->told_state = st.state; /* a static string */
        o->told_progress = st.progress;
        o->told = true;
        if (o->host.status_changed)
                o->host.status_changed(o->host.userdata);
}

/* The URL without its query (which carries the OSS signature) for the log. */
static int url_for_log(const char *url)
{
        return (int) strcspn(url, "?#");
}

/* ---- messages to the cloud ---- */

static void ota_inform(Ota *o, const char *version, const char *module)
{
        _cleanup_(freep) char *id = NULL, *payload = NULL;

        if (!version || !ota_online(o))
                return;
        id = ota_new_message_id(o);
        if (!id || alink_build_ota_inform(id, version, module, &payload) < 0)
                return (void) log_oom();
        if (ota_publish(o, OTA_TOPIC_INFORM, payload) >= 0)
                log_info("Reported firmware version %s%s%s to the cloud", version,
                        module ? " of module " : "", strempty(module));
}

/* True when the request went out (online, queued). */
static bool ota_firmware_get(Ota *o)
{
        _cleanup_(freep) char *id = NULL, *payload = NULL;

        if (!ota_online(o))
                return false;
        id = ota_new_message_id(o);
        if (!id || alink_build_ota_firmware_get(id, /* module= */ NULL, &payload) < 0)
                return log_oom(), false;
        if (ota_publish(o, OTA_TOPIC_FIRMWARE_GET, payload) < 0)
                return false;
        log_info("Asked the cloud for pending firmware (message %s)", id);
        return true;
}

static void ota_job_end(Ota *o);
static void ota_fail(Ota *o, int step, const char *module, const char *format, ...) _printf_(4, 5);

static unsigned ota_cloud_timeout_sec(Ota *o)
{
        return ota_conf(o)->cloud_timeout ?: 60;
}

static int on_url_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Ota *o = userdata;
        OtaJob *j = o->job;

        (void) s;
        (void) usec;
        j->url_timer = sd_event_source_disable_unref(j->url_timer);
        log_warning(
                "The cloud did not answer the firmware/get request within %u s", ota_cloud_timeout_sec(o));
        ota_fail(o, -2, j->fw.module,
                "download failed: the URL expired and the cloud did not offer the package again within %u s",
                ota_cloud_timeout_sec(o));
        ota_job_end(o);
        ota_status_update(o);
        return 0;
}

/* The job waits for a fresh URL: ask for it (when online) and give the cloud cloud_timeout to answer. */
static void ota_job_request_url(Ota *o)
{
        OtaJob *j = o->job;
        int r;

        if (!ota_firmware_get(o))
                return; /* offline: asked again on the next connect (ota_on_connected()) */
        j->url_timer = sd_event_source_disable_unref(j->url_timer);
        r = sd_event_add_time_relative(o->event, &j->url_timer, CLOCK_MONOTONIC,
                (uint64_t) ota_cloud_timeout_sec(o) * USEC_PER_SEC, USEC_PER_SEC, on_url_timeout, o);
        if (r < 0)
                log_warning_errno(r, "Cannot arm the firmware/get timeout, ignoring: %m");
        else
                (void) sd_event_source_set_description(j->url_timer, "ota-url-timeout");
}

/* Progress "0".."100" or a failure step. Every step goes through the outbox (QoS 1), so a result reached
 * while offline, or before a restart, is still reported; intermediate steps are throttled by the caller. */
static void ota_progress(Ota *o, int step, const char *desc, const char *module, bool final)
{
        _cleanup_(freep) char *id = NULL, *payload = NULL;

        id = ota_new_message_id(o);
        if (!id || alink_build_ota_progress(id, step, desc, module, &payload) < 0)
                return (void) log_oom();
        o->last_step = step;
        o->last_step_usec = now_usec(o);
        if (ota_publish(o, OTA_TOPIC_PROGRESS, payload) < 0)
                log_warning("Cannot queue the OTA %s (step %d)", final ? "result" : "progress", step);
        else
                log_debug("OTA progress %d%s%s", step, desc ? ": " : "", strempty(desc));
}

static void ota_fail(Ota *o, int step, const char *module, const char *format, ...) _printf_(4, 5);
static void ota_fail(Ota *o, int step, const char *module, const char *format, ...)
{
        _cleanup_(freep) char *desc = NULL;
        va_list ap;

        va_start(ap, format);
        if (vasprintf(&desc, format, ap) < 0)
                desc = NULL;
        va_end(ap);
        log_struct(LOG_WARNING, ALI_MESSAGE_OTA, "OTA failed (step %d): %s", step, strna(desc));
        ota_progress(o, step, desc, module, /* final= */ true);
}

/* ---- the job file ---- */

static const char *const phase_names[] = {
        [OTA_HASHING] = "download",
        [OTA_DOWNLOADING] = "download",
        [OTA_RETRY_WAIT] = "download",
        [OTA_WAITING_URL] = "download",
        [OTA_INSTALLING] = "install",
};

static int ota_save(
        Ota *o, const AlinkOtaFirmware *fw, uint64_t bytes, const char *phase, const char *boot_id)
{
        int r;

        r = ota_job_file_save(o->job_path, fw, bytes, phase, boot_id);
        if (r == -ENOMEM)
                return log_oom();
        if (r < 0)
                return log_warning_errno(r, "Cannot save the OTA job to %s: %m", o->job_path);
        return 0;
}

static int ota_job_save(Ota *o)
{
        return ota_save(o, &o->job->fw, o->job->checkpoint, phase_names[o->job->phase], NULL);
}

static void ota_remove_job_file(Ota *o)
{
        if (unlink(o->job_path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Cannot remove %s: %m", o->job_path);
}

/* ---- the job ---- */

static OtaJob *ota_job_free(OtaJob *j)
{
        if (!j)
                return NULL;
        download_free(j->download);
        sd_event_source_disable_unref(j->hash_source);
        sd_event_source_disable_unref(j->retry_source);
        sd_event_source_disable_unref(j->url_timer);
        /* A running installer is left to finish (it may be writing flash); the host forgets its unit. */
        ota_installer_free(j->installer);
        if (j->fd >= 0)
                (void) close(j->fd);
        digest_free(j->digest);
        free(j->hash_buf);
        free(j->part_path);
        free(j->image_path);
        alink_ota_firmware_done(&j->fw);
        free(j);
        return NULL;
}

static int on_release_downloader(sd_event_source *s, void *userdata)
{
        Ota *o = userdata;

        (void) s;
        o->release_source = sd_event_source_disable_unref(o->release_source);
        if (o->job && o->job->download)
                return 0; /* a transfer started again meanwhile */
        o->downloader = downloader_free(o->downloader);
        return 0;
}

/* No transfer runs now: free the Downloader (in a later dispatch: this may be called from its own
 * handlers). A retry or a new job makes another. */
static void ota_release_downloader(Ota *o)
{
        if (!o->downloader || o->release_source)
                return;
        if (sd_event_add_defer(o->event, &o->release_source, on_release_downloader, o) >= 0)
                (void) sd_event_source_set_description(o->release_source, "ota-release-downloader");
}

/* Ends the job for good: its files and the job file go. */
static void ota_job_end(Ota *o)
{
        OtaJob *j = o->job;

        if (!j)
                return;
        if (unlink(j->part_path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Cannot remove %s: %m", j->part_path);
        if (unlink(j->image_path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Cannot remove %s: %m", j->image_path);
        ota_remove_job_file(o);
        o->job = ota_job_free(j);
        ota_status_update(o);
        o->progress_timer = sd_event_source_disable_unref(o->progress_timer);
        ota_release_downloader(o);
}

static int ota_job_new(Ota *o, AlinkOtaFirmware *fw, OtaJob **ret)
{
        const char *dir = ota_conf(o)->download_dir;
        OtaJob *j;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->fd = -1;
        j->fw = *fw;
        *fw = (AlinkOtaFirmware){};
        if (asprintf(&j->part_path, "%s/" OTA_PART_FILE, dir) < 0 ||
                asprintf(&j->image_path, "%s/" OTA_IMAGE_FILE, dir) < 0 ||
                digest_new(&j->digest, j->fw.sign_method) < 0) {
                ota_job_free(j);
                return -ENOMEM;
        }
        *ret = j;
        return 0;
}

/* Free space for the bytes still to come; -2 when short. Returns true when there is enough. */
static bool ota_check_space(Ota *o, const char *dir, uint64_t need, const char *module)
{
        struct statvfs sv;
        uint64_t have;

        if (statvfs(dir, &sv) < 0) {
                ota_fail(o, -2, module, "cannot check the free space in %s: %s", dir, strerror(errno));
                return false;
        }
        have = (uint64_t) sv.f_bavail * (uint64_t) sv.f_frsize;
        if (have < need) {
                ota_fail(o, -2, module, "not enough space: need %" PRIu64 " bytes, have %" PRIu64, need,
                        have);
                return false;
        }
        return true;
}

/* The image is verified as it arrives and then handed to the installer by name: nobody else may be able to
 * replace it in between. So the download directory (made 0700 when missing) must be the daemon's own and
 * writable by nobody else. NULL, or why not (static text with the details in buf). */
static const char *download_dir_problem(const char *dir, char *buf, size_t size)
{
        struct stat st;
        int r;

        r = mkdir_parents_and_self(dir, 0700);
        if (r < 0 || lstat(dir, &st) < 0) {
                snprintf(buf, size, "cannot create %s: %s", dir, strerror(r < 0 ? -r : errno));
                return buf;
        }
        if (!S_ISDIR(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
                snprintf(buf, size,
                        "download_dir %s must be a directory owned by the daemon's user and writable by "
                        "nobody "
                        "else (it is mode %04o, owner %u): another user could replace the verified image",
                        dir, (unsigned) (st.st_mode & 07777), (unsigned) st.st_uid);
                return buf;
        }
        return NULL;
}

/* fdatasync the partial file and record its length: what a restart resumes from. */
static void ota_job_checkpoint(Ota *o)
{
        OtaJob *j = o->job;

        if (j->fd < 0 || j->checkpoint == j->bytes)
                return;
        if (fdatasync(j->fd) < 0) {
                log_warning_errno(errno, "Cannot sync %s: %m", j->part_path);
                return;
        }
        j->checkpoint = j->bytes;
        if (ota_job_save(o) >= 0)
                log_debug("OTA checkpoint: %" PRIu64 " of %" PRIu64 " bytes on disk", j->bytes, j->fw.size);
}

static int download_step(const OtaJob *j)
{
        return (int) MIN((uint64_t) 99, j->bytes * 100 / j->fw.size);
}

static int on_progress_timer(sd_event_source *s, uint64_t usec, void *userdata);

static void ota_progress_update(Ota *o)
{
        OtaJob *j = o->job;
        int step = download_step(j);
        uint64_t now = now_usec(o), due = o->last_step_usec + OTA_PROGRESS_INTERVAL_USEC;

        if (step == o->last_step)
                return;
        if (now >= due) {
                ota_progress(o, step, "downloading", j->fw.module, /* final= */ false);
                ota_job_checkpoint(o);
                return;
        }
        if (o->progress_timer) {
                /* Already due then: not reprogrammed for every chunk that arrives meanwhile. */
                if (!event_timer_armed(o->progress_timer))
                        (void) event_timer_arm(o->progress_timer, due);
        } else if (sd_event_add_time(
                           o->event, &o->progress_timer, CLOCK_MONOTONIC, due, 0, on_progress_timer, o) >= 0)
                (void) sd_event_source_set_description(o->progress_timer, "ota-progress");
}

static int on_progress_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Ota *o = userdata;

        (void) s;
        (void) usec;
        if (o->job && (o->job->phase == OTA_DOWNLOADING || o->job->phase == OTA_RETRY_WAIT))
                ota_progress_update(o);
        return 0;
}

/* ---- download handlers ---- */

/* Drop the bytes on disk and download from byte 0 again. */
static int ota_job_start_over(Ota *o)
{
        OtaJob *j = o->job;

        if (ftruncate(j->fd, 0) < 0)
                return -errno;
        j->bytes = j->checkpoint = j->attempt_start = 0;
        (void) ota_job_save(o);
        return digest_reset(j->digest);
}

static int on_download_begin(Download *d, uint64_t offset, void *userdata)
{
        Ota *o = userdata;
        OtaJob *j = o->job;
        int r;

        (void) d;
        if (offset == j->bytes)
                return 0;
        /* A 200 answering our range request: the server sends the whole file; start over. */
        log_info("The server sent the whole file instead of the range from byte %" PRIu64 "; starting over",
                j->bytes);
        r = ota_job_start_over(o);
        ota_status_update(o);
        return r;
}

static int on_download_data(Download *d, const void *buf, size_t len, void *userdata)
{
        Ota *o = userdata;
        OtaJob *j = o->job;
        size_t done = 0;
        int r;

        (void) d;
        while (done < len) {
                ssize_t n =
                        pwrite(j->fd, (const uint8_t *) buf + done, len - done, (off_t) (j->bytes + done));
                if (n < 0) {
                        r = -errno;
                        log_warning_errno(r, "Cannot write %s: %m", j->part_path);
                        return r;
                }
                done += (size_t) n;
        }
        r = digest_update(j->digest, buf, len);
        if (r < 0)
                return r;
        j->bytes += len;
        ota_progress_update(o);
        ota_status_update(o);
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        Ota *o = userdata;

        (void) s;
        (void) usec;
        o->job->retry_source = sd_event_source_disable_unref(o->job->retry_source);
        ota_job_download(o);
        ota_status_update(o);
        return 0;
}

/* progressed: this attempt brought bytes, so the next one starts at once and the failures count anew. */
static void ota_job_retry(Ota *o, const char *why, bool progressed)
{
        OtaJob *j = o->job;
        uint64_t delay = 0;
        int r;

        if (progressed)
                j->failures = 0; /* it moved: resume at once */
        else if (++j->failures >= OTA_MAX_FAILURES) {
                const char *module = j->fw.module;
                ota_fail(o, -2, module, "download failed after %u attempts: %s", j->failures, strna(why));
                ota_job_end(o);
                return;
        } else
                delay = MIN(OTA_RETRY_MAX_USEC, (ota_conf(o)->retry_base_usec ?: USEC_PER_SEC)
                                                        << (j->failures - 1));

        ota_job_checkpoint(o);
        log_warning("The firmware download stopped at byte %" PRIu64 " of %" PRIu64
                    " (%s); resuming in %" PRIu64 " s",
                j->bytes, j->fw.size, strna(why), delay / USEC_PER_SEC);
        j->phase = OTA_RETRY_WAIT;
        ota_status_update(o);
        r = sd_event_add_time_relative(o->event, &j->retry_source, CLOCK_MONOTONIC, delay, 0, on_retry, o);
        if (r < 0) {
                ota_fail(o, -1, j->fw.module, "internal error: %s", strerror(-r));
                ota_job_end(o);
        }
}

static void ota_job_verify(Ota *o)
{
        OtaJob *j = o->job;
        _cleanup_(freep) char *got = NULL;
        int r;

        r = digest_final_hex(j->digest, &got);
        if (r < 0) {
                ota_fail(o, -1, j->fw.module, "internal error: cannot compute the digest");
                ota_job_end(o);
                return;
        }
        if (strcasecmp(got, j->fw.sign) != 0) {
                ota_fail(o, -3, j->fw.module, "digest mismatch: %s expected %s, got %s",
                        digest_method_to_string(j->fw.sign_method), j->fw.sign, got);
                ota_job_end(o); /* the file goes: it is never handed to the hook */
                return;
        }
        log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Firmware %s downloaded, %s digest verified", j->fw.version,
                digest_method_to_string(j->fw.sign_method));

        if (fdatasync(j->fd) < 0 || rename(j->part_path, j->image_path) < 0 ||
                fsync_directory_of(j->image_path) < 0) {
                ota_fail(o, -2, j->fw.module, "cannot store the image in %s: %s", j->image_path,
                        strerror(errno));
                ota_job_end(o);
                return;
        }
        (void) close(j->fd);
        j->fd = -1;
        j->phase = OTA_INSTALLING;
        ota_status_update(o);
        j->checkpoint = j->bytes;
        (void) ota_job_save(o);
        ota_run_installer(o);
}

static void ota_download_finished(Ota *o, Download *d, int result, const char *message)
{
        OtaJob *j = o->job;
        long status = download_get_http_status(d);
        uint64_t elapsed = now_usec(o) - j->transfer_start_usec;
        uint64_t moved = j->bytes - j->attempt_start;
        const char *module = j->fw.module;
        int r;

        j->download = download_free(d);
        ota_release_downloader(o);
        log_info("Transfer ended after %" PRIu64 " bytes in %.1f s (%.1f MiB/s)", moved,
                (double) elapsed / 1e6,
                elapsed > 0 ? (double) moved / 1048576.0 / ((double) elapsed / 1e6) : 0.0);

        switch (result) {
        case 0:
                ota_job_verify(o);
                return;
        case DOWNLOAD_E_TRANSFER:
                ota_job_retry(o, message, j->bytes >= j->attempt_start + OTA_MIN_PROGRESS_BYTES);
                return;
        case DOWNLOAD_E_HTTP:
                if ((status == 403 || status == 410) && j->url_refreshes < OTA_MAX_URL_REFRESHES) {
                        /* Pre-signed URLs expire (about a day): ask for the package again, keep the bytes.
                         */
                        j->url_refreshes++;
                        ota_job_checkpoint(o);
                        log_warning("The download URL was refused (HTTP %ld), it may have expired; asking "
                                    "the cloud "
                                    "for a new one",
                                status);
                        j->phase = OTA_WAITING_URL;
                        ota_status_update(o);
                        ota_job_request_url(o);
                        return;
                }
                if (status == 416 && j->bytes > 0) {
                        log_warning("The server refused the range from byte %" PRIu64 "; starting over",
                                j->bytes);
                        r = ota_job_start_over(o);
                        if (r < 0)
                                log_warning_errno(r, "Cannot empty %s, ignoring: %m", j->part_path);
                        ota_job_retry(o, "HTTP 416", /* progressed= */ false);
                        return;
                }
                ota_fail(o, -2, module, "download failed: %s", strna(message));
                break;
        case DOWNLOAD_E_TLS:
                ota_fail(o, -2, module, "download failed: TLS: %s", strna(message));
                break;
        case DOWNLOAD_E_SIZE:
                ota_fail(o, -2, module, "download failed: %s", strna(message));
                break;
        case DOWNLOAD_E_URL:
                ota_fail(o, -2, module, "download failed: bad URL: %s", strna(message));
                break;
        case DOWNLOAD_E_ABORTED:
                ota_fail(
                        o, -2, module, "download failed: cannot write %s: %s", j->part_path, strna(message));
                break;
        default:
                ota_fail(o, -1, module, "internal error during the download: %s", strerror(-result));
        }
        ota_job_end(o);
}

static void on_download_finished(Download *d, int result, const char *message, void *userdata)
{
        Ota *o = userdata;

        ota_download_finished(o, d, result, message);
        ota_status_update(o);
}

static void ota_job_download(Ota *o)
{
        const OtaConfig *c = ota_conf(o);
        OtaJob *j = o->job;
        DownloadRequest req = {
                .url = j->fw.url,
                .ca_file = c->ca_file,
                .allow_http = c->allow_http,
                .offset = j->bytes,
                .size = j->fw.size,
                .connect_timeout_sec = c->connect_timeout,
                .stall_timeout_sec = c->stall_timeout,
                .user_agent = "ali-linkd/" PACKAGE_VERSION,
        };
        DownloadHandlers handlers = {
                .begin = on_download_begin,
                .data = on_download_data,
                .finished = on_download_finished,
        };
        int r;

        if (j->bytes == j->fw.size) {
                ota_job_verify(o);
                return;
        }
        if (j->bytes > 0)
                log_info("Resuming the download of firmware %s at byte %" PRIu64 " of %" PRIu64,
                        j->fw.version, j->bytes, j->fw.size);
        r = o->downloader ? 0 : downloader_new(&o->downloader, o->event);
        if (r >= 0)
                r = download_start(o->downloader, &req, &handlers, o, &j->download);
        if (r < 0) {
                ota_fail(o, -1, j->fw.module, "cannot start the download: %s", strerror(-r));
                ota_job_end(o);
                return;
        }
        j->phase = OTA_DOWNLOADING;
        ota_status_update(o);
        j->attempt_start = j->bytes;
        j->transfer_start_usec = now_usec(o);
}

/* Resume: digest the bytes already on disk, a chunk per loop iteration, at idle priority, then download. */
static int on_hash_chunk(sd_event_source *s, void *userdata)
{
        Ota *o = userdata;
        OtaJob *j = o->job;
        size_t want = (size_t) MIN((uint64_t) OTA_HASH_CHUNK, j->bytes - j->hashed);
        ssize_t n = want > 0 ? pread(j->fd, j->hash_buf, want, (off_t) j->hashed) : 0;

        (void) s;
        if (n > 0 && digest_update(j->digest, j->hash_buf, (size_t) n) >= 0)
                j->hashed += (uint64_t) n;
        else if (want > 0) {
                /* Unreadable or shorter than recorded: keep what was digested and fetch the rest. */
                log_warning(
                        "Cannot read %s at byte %" PRIu64 "; resuming from there", j->part_path, j->hashed);
                j->bytes = j->hashed;
                if (ftruncate(j->fd, (off_t) j->bytes) < 0)
                        log_warning_errno(errno, "Cannot cut %s back, ignoring: %m", j->part_path);
        }
        if (j->hashed < j->bytes)
                return 0;

        j->hash_source = sd_event_source_disable_unref(j->hash_source);
        j->hash_buf = mfree(j->hash_buf);
        log_debug("Digested the %" PRIu64 " bytes already on disk", j->bytes);
        ota_job_download(o);
        ota_status_update(o);
        return 0;
}

static void ota_job_resume_hashing(Ota *o)
{
        OtaJob *j = o->job;
        int r;

        j->phase = OTA_HASHING;
        ota_status_update(o);
        j->hash_buf = malloc(OTA_HASH_CHUNK);
        if (!j->hash_buf)
                goto fail;
        r = sd_event_add_defer(o->event, &j->hash_source, on_hash_chunk, o);
        if (r < 0)
                goto fail;
        (void) sd_event_source_set_priority(j->hash_source, SD_EVENT_PRIORITY_IDLE);
        (void) sd_event_source_set_enabled(j->hash_source, SD_EVENT_ON);
        (void) sd_event_source_set_description(j->hash_source, "ota-hash");
        return;
fail:
        ota_fail(o, -1, j->fw.module, "internal error: out of memory");
        ota_job_end(o);
}

/* A new job from a validated push: space check, empty partial file, job file, step 0, download. */
static void ota_start_job(Ota *o, AlinkOtaFirmware *fw)
{
        const char *dir = ota_conf(o)->download_dir, *problem;
        char why[512];
        OtaJob *j;
        int r;

        problem = download_dir_problem(dir, why, sizeof(why));
        if (problem) {
                ota_fail(o, -2, fw->module, "%s", problem);
                return;
        }
        if (!ota_check_space(o, dir, fw->size, fw->module))
                return;
        r = ota_job_new(o, fw, &o->job);
        if (r < 0)
                return (void) log_oom();
        j = o->job;
        /* A fresh file of our own: whatever had that name goes first. */
        if (unlink(j->part_path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Cannot remove %s: %m", j->part_path);
        j->fd = open(j->part_path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (j->fd < 0) {
                ota_fail(o, -2, j->fw.module, "cannot create %s: %s", j->part_path, strerror(errno));
                ota_job_end(o);
                return;
        }
        (void) unlink(j->image_path);
        j->phase = OTA_DOWNLOADING;
        ota_status_update(o);
        (void) ota_job_save(o);

        log_struct(LOG_INFO, ALI_MESSAGE_OTA,
                "Downloading firmware %s%s%s (%" PRIu64 " bytes, %s) from %.*s", j->fw.version,
                j->fw.module ? " of module " : "", strempty(j->fw.module), j->fw.size,
                digest_method_to_string(j->fw.sign_method), url_for_log(j->fw.url), j->fw.url);
        o->last_step = OTA_STEP_NONE;
        ota_progress(o, 0, "downloading", j->fw.module, /* final= */ false);
        ota_job_download(o);
}

/* ---- the installer ---- */

/* What the installer's exit status means (ali-linkd(8)): 0 installed, 100 installed with a reboot pending,
 * anything else (or failure set) failed. The same for the hook run here and for the root side's unit. */
static void on_installer_done(void *userdata, int exit_status, const char *failure)
{
        Ota *o = userdata;
        OtaJob *j = o->job;
        const char *module = j->fw.module;

        if (failure)
                ota_fail(o, -4, module, "%s", failure);
        else if (exit_status == 0) {
                log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Firmware %s installed", j->fw.version);
                ota_progress(o, 100, "installed", module, /* final= */ true);
                if (!module && free_and_strdup(&o->running_version, j->fw.version) < 0)
                        log_oom();
                ota_status_update(o);
                ota_inform(o, j->fw.version, module);
        } else if (exit_status == 100) {
                _cleanup_(freep) char *boot_id = boot_id_string();

                log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Firmware %s installed; it runs after the next reboot",
                        j->fw.version);
                /* Remembered across the reboot: the version is checked at the next start in a new boot. */
                if (ota_save(o, &j->fw, j->fw.size, "reboot", boot_id) >= 0) {
                        alink_ota_firmware_done(&o->reboot_target);
                        o->reboot_target = j->fw;
                        j->fw = (AlinkOtaFirmware){};
                        free(o->reboot_boot_id);
                        o->reboot_boot_id = TAKE_PTR(boot_id);
                }
                o->job = ota_job_free(j);
                ota_status_update(o);
                return;
        } else
                ota_fail(o, -4, module, "the installer exited with status %d", exit_status);
        ota_job_end(o);
        ota_status_update(o);
}

static void ota_run_installer(Ota *o)
{
        const OtaConfig *c = ota_conf(o);
        OtaJob *j = o->job;
        _cleanup_(freep) char *failure = NULL;
        OtaInstallRequest req = {
                .image_path = j->image_path,
                .fw = &j->fw,
                .installer = c->installer,
                .install_unit = c->install_unit,
                .state_directory = c->state_directory,
                .timeout_sec = c->installer_timeout,
        };
        int r;

        r = ota_installer_start(&j->installer, o->event, &req, &o->host, on_installer_done, o, &failure);
        if (r == 0)
                return;
        if (r == OTA_INSTALLER_E_FAILED)
                ota_fail(o, -4, j->fw.module, "%s", failure);
        else
                ota_fail(o, -1, j->fw.module, "internal error: %s", failure ?: strerror(-r));
        ota_job_end(o);
}

/* ---- pushes ---- */

static bool url_is_https(const char *url)
{
        return strncasecmp(url, "https://", 8) == 0;
}

static void ota_handle_firmware(Ota *o, AlinkOtaFirmware *fw)
{
        const OtaConfig *c = ota_conf(o);
        OtaJob *j = o->job;

        /* Policy first: an invalid push is answered with -1 whatever else is going on. */
        if (!c->installer && !c->install_unit)
                return ota_fail(
                        o, -1, fw->module, "invalid push: no installer hook is configured on this device");
        if (fw->is_diff && !c->applies_diff)
                return ota_fail(o, -1, fw->module,
                        "invalid push: firmware %s is a delta package (isDiff) and the installer does not "
                        "apply deltas ([ota] installer_applies_diff = no)",
                        fw->version);
        if (!url_is_https(fw->url) && !c->allow_http)
                return ota_fail(
                        o, -1, fw->module, "invalid push: the URL is not https:// (plain http is refused)");
        if (fw->size > c->max_size)
                return ota_fail(o, -1, fw->module,
                        "invalid push: the package of %" PRIu64 " bytes exceeds the limit of %" PRIu64
                        " bytes",
                        fw->size, c->max_size);

        if (!fw->module && o->running_version && streq(fw->version, o->running_version)) {
                log_info("Ignoring a push for firmware %s: it is the running version", fw->version);
                return;
        }
        if (o->reboot_target.version && streq(fw->version, o->reboot_target.version) &&
                streq_ptr(fw->module, o->reboot_target.module)) {
                log_info("Ignoring a push for firmware %s: it is installed and waits for a reboot",
                        fw->version);
                return;
        }
        if (j && streq(j->fw.version, fw->version) && streq_ptr(j->fw.module, fw->module) &&
                streq(j->fw.sign, fw->sign) && j->fw.size == fw->size) {
                /* The same package again (the platform re-pushes after a reconnect): keep going, with the
                 * fresher URL for the next attempt. */
                if (!streq(j->fw.url, fw->url) && j->phase != OTA_INSTALLING) {
                        free(j->fw.url);
                        j->fw.url = TAKE_PTR(fw->url);
                        (void) ota_job_save(o);
                }
                if (j->phase == OTA_WAITING_URL) {
                        log_info("Got a new URL for firmware %s", j->fw.version);
                        j->url_timer = sd_event_source_disable_unref(j->url_timer);
                        ota_job_download(o);
                } else
                        log_info("Ignoring a push for firmware %s: it is already being %s", fw->version,
                                j->phase == OTA_INSTALLING ? "installed" : "downloaded");
                return;
        }
        if (j && j->phase == OTA_INSTALLING)
                return ota_fail(o, -1, fw->module, "refused: the installer for firmware %s is running",
                        j->fw.version);
        if (j) {
                log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Cancelling the update to %s: superseded by %s",
                        j->fw.version, fw->version);
                /* The cloud hears how the old job ended before the new one starts. */
                ota_fail(o, -1, j->fw.module, "cancelled: superseded by firmware %s", fw->version);
                ota_job_end(o);
        }
        if (o->reboot_target.version) {
                /* A new package replaces the one waiting for a reboot. */
                alink_ota_firmware_done(&o->reboot_target);
                ota_remove_job_file(o);
        }
        ota_start_job(o, fw);
}

static void ota_handle_push(Ota *o, const void *payload, size_t len, bool reply)
{
        _cleanup_(alink_ota_firmware_done) AlinkOtaFirmware fw = {};
        _cleanup_(freep) char *error = NULL;
        int r;

        if (!o)
                return;
        if (!o->version_read) {
                /* The version is still being read (version_command): handle the latest push afterwards. */
                free(o->deferred_push);
                o->deferred_push = malloc(len ?: 1);
                if (o->deferred_push)
                        memcpy(o->deferred_push, payload, len);
                o->deferred_push_len = o->deferred_push ? len : 0;
                o->deferred_reply = reply;
                log_debug("Holding a firmware push until the running version is known");
                return;
        }

        r = alink_parse_ota_upgrade(payload, len, reply, &fw, &error);
        if (r < 0)
                return (void) log_oom();
        if (r == ALINK_E_NO_FIRMWARE) {
                log_info("The cloud has no pending firmware for this device");
                if (o->job && o->job->phase == OTA_WAITING_URL) {
                        ota_fail(o, -2, o->job->fw.module,
                                "download failed: the URL expired and the cloud offers "
                                "no package any more");
                        ota_job_end(o);
                }
                return;
        }
        if (r == ALINK_E_INVALID) {
                if (reply && error && strncmp(error, "code ", 5) == 0) {
                        log_warning("The cloud refused the firmware request: %s", error);
                        return;
                }
                ota_fail(o, -1, fw.module, "invalid push: %s", strna(error));
                return;
        }
        log_info("Firmware %s%s%s offered by the cloud (%s)", fw.version, fw.module ? " of module " : "",
                strempty(fw.module), reply ? "firmware/get reply" : "push");
        ota_handle_firmware(o, &fw);
}

void ota_handle_upgrade(Ota *o, const void *payload, size_t len, bool reply)
{
        if (!o)
                return;
        ota_handle_push(o, payload, len, reply);
        ota_status_update(o);
}

/* ---- the running version ---- */

static void ota_reboot_check(Ota *o)
{
        const AlinkOtaFirmware *t = &o->reboot_target;

        if (!t->version)
                return;
        if (t->module)
                log_info("Module %s was updated to %s before the restart", t->module, t->version);
        else if (o->running_version && streq(o->running_version, t->version))
                log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Firmware %s is running: the update succeeded",
                        t->version);
        else {
                if (boot_id_is_current(o->reboot_boot_id)) {
                        /* Only the daemon restarted: the reboot is still to come. */
                        log_info("Firmware %s is installed and waits for a reboot", t->version);
                        return;
                }
                /* Once: the job file goes now, so the next start does not report it again. */
                ota_fail(o, -4, NULL, "after the reboot the running version is %s, not %s",
                        strna(o->running_version), t->version);
        }
        ota_remove_job_file(o);
        alink_ota_firmware_done(&o->reboot_target);
        o->reboot_boot_id = mfree(o->reboot_boot_id);
}

static void ota_version_ready(Ota *o, char *version)
{
        free(o->running_version);
        o->running_version = version;
        o->version_read = true;
        ota_status_update(o);
        if (version)
                log_info("Running firmware version: %s", version);
        else
                log_warning(
                        "The running firmware version is unknown; it is not reported, and pushes are not "
                        "compared with it");

        ota_reboot_check(o);
        ota_inform(o, o->running_version, NULL);
        if (o->deferred_push) {
                _cleanup_(freep) void *p = TAKE_PTR(o->deferred_push);
                ota_handle_push(o, p, o->deferred_push_len, o->deferred_reply);
        }
}

static void on_version_known(void *userdata, char *version)
{
        Ota *o = userdata;

        o->version_command = ota_version_command_free(o->version_command);
        ota_version_ready(o, version);
        ota_status_update(o);
}

static void ota_read_version(Ota *o)
{
        const OtaConfig *c = ota_conf(o);

        if (c->version_file)
                return ota_version_ready(o, ota_version_read_file(c->version_file));
        if (!c->version_command)
                return ota_version_ready(o, NULL);
        if (ota_version_command_start(
                    &o->version_command, o->event, c->version_command, on_version_known, o) < 0)
                return ota_version_ready(o, NULL);
}

/* ---- start-up: resume what the last run left ---- */

static void ota_resume(Ota *o)
{
        _cleanup_(alink_ota_firmware_done) AlinkOtaFirmware fw = {};
        _cleanup_(freep) char *phase = NULL, *boot_id = NULL, *error = NULL;
        struct stat st;
        char why[512];
        uint64_t bytes = 0;
        OtaJob *j;
        int r;

        r = ota_job_file_load(o->job_path, &fw, &bytes, &phase, &boot_id, &error);
        if (r == -ENOENT)
                return;
        if (r < 0 && r != -ENOMEM) {
                log_warning_errno(r, "Cannot open %s: %s", o->job_path, state_file_strerror(r));
                return;
        }
        if (r != 0) {
                log_warning("Ignoring %s: %s", o->job_path, r < 0 ? "out of memory" : strna(error));
                ota_remove_job_file(o);
                return;
        }
        if (streq(phase, "reboot")) {
                o->reboot_target = fw;
                fw = (AlinkOtaFirmware){};
                o->reboot_boot_id = TAKE_PTR(boot_id);
                return; /* checked once the running version is known */
        }

        r = ota_job_new(o, &fw, &o->job);
        if (r < 0)
                return (void) log_oom();
        j = o->job;
        if (streq(phase, "install")) {
                (void) unlink(j->image_path);
                ota_fail(o, -4, j->fw.module, "the daemon stopped while the installer for %s was running",
                        j->fw.version);
                ota_job_end(o);
                return;
        }

        const char *problem = download_dir_problem(ota_conf(o)->download_dir, why, sizeof(why));
        if (problem) {
                ota_fail(o, -2, j->fw.module, "%s", problem);
                ota_job_end(o);
                return;
        }
        j->fd = open(j->part_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (j->fd < 0 || fstat(j->fd, &st) < 0) {
                ota_fail(o, -2, j->fw.module, "cannot open %s: %s", j->part_path, strerror(errno));
                ota_job_end(o);
                return;
        }
        /* Resumed only from a file of our own that nobody else could have written. */
        if (!S_ISREG(st.st_mode) || st.st_uid != geteuid() || (st.st_mode & (S_IWGRP | S_IWOTH))) {
                ota_fail(o, -2, j->fw.module, "%s is not a file of the daemon's own: not resuming from it",
                        j->part_path);
                ota_job_end(o);
                return;
        }
        /* Only what was synced and recorded is trusted; anything after it is fetched again. */
        j->bytes = j->checkpoint = MIN(bytes, (uint64_t) st.st_size);
        if (ftruncate(j->fd, (off_t) j->bytes) < 0)
                log_warning_errno(errno, "Cannot truncate %s: %m", j->part_path);
        log_struct(LOG_INFO, ALI_MESSAGE_OTA,
                "Resuming the update to firmware %s: %" PRIu64 " of %" PRIu64 " bytes on disk",
                j->fw.version, j->bytes, j->fw.size);
        if (!ota_check_space(o, ota_conf(o)->download_dir, j->fw.size - j->bytes, j->fw.module)) {
                ota_job_end(o);
                return;
        }
        o->last_step = download_step(j);
        if (j->bytes > 0)
                ota_job_resume_hashing(o);
        else
                ota_job_download(o);
}

/* ---- the object ---- */

int ota_new(Ota **ret, sd_event *event, const OtaConfig *config, const OtaHost *host)
{
        _cleanup_(ota_freep) Ota *o = NULL;

        if (!host || !host->publish || !host->new_message_id || !config || !config->state_directory ||
                !config->download_dir)
                return -EINVAL;
        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->event = sd_event_ref(event);
        o->host = *host;
        o->last_step = OTA_STEP_NONE;
        if (ota_settings_copy(&o->settings, config) < 0 ||
                asprintf(&o->job_path, "%s/" OTA_JOB_FILE, config->state_directory) < 0)
                return -ENOMEM;

        ota_resume(o);
        ota_read_version(o);
        ota_status_update(o);
        *ret = TAKE_PTR(o);
        return 0;
}

int ota_set_config(Ota *o, const OtaConfig *config)
{
        if (!o)
                return 0;
        if (!config->state_directory || !config->download_dir)
                return -EINVAL;
        /* The job file stays where this run started it: a job in progress must find it again. */
        return ota_settings_copy(&o->settings, config);
}

Ota *ota_free(Ota *o)
{
        if (!o)
                return NULL;
        if (o->job) {
                OtaJob *j = o->job;

                if (j->phase == OTA_DOWNLOADING || j->phase == OTA_RETRY_WAIT ||
                        j->phase == OTA_WAITING_URL) {
                        j->download = download_free(j->download);
                        ota_job_checkpoint(o);
                        log_info("Stopping the firmware download at byte %" PRIu64
                                 "; it resumes at the next start",
                                j->checkpoint);
                } else if (j->phase == OTA_INSTALLING && ota_installer_hook_pid(j->installer) > 0)
                        log_warning("Stopping while the installer (pid %d) runs; it is left to finish",
                                (int) ota_installer_hook_pid(j->installer));
                else if (ota_installer_unit_running(j->installer))
                        log_warning("Stopping while the installer unit runs; it is left to finish");
                ota_job_free(j); /* the host forgets the unit */
        }
        ota_version_command_free(o->version_command);
        sd_event_source_disable_unref(o->progress_timer);
        sd_event_source_disable_unref(o->release_source);
        downloader_free(o->downloader);
        sd_event_unref(o->event);
        free(o->running_version);
        free(o->deferred_push);
        alink_ota_firmware_done(&o->reboot_target);
        free(o->reboot_boot_id);
        free(o->job_path);
        free(o->told_version);
        ota_settings_done(&o->settings);
        free(o);
        return NULL;
}

void ota_on_connected(Ota *o)
{
        if (!o)
                return;
        if (o->version_read)
                ota_inform(o, o->running_version, NULL);
        if (!o->firmware_get_sent) {
                o->firmware_get_sent = true;
                ota_firmware_get(o);
        } else if (o->job && o->job->phase == OTA_WAITING_URL)
                ota_job_request_url(o);
}

int ota_request_firmware(Ota *o)
{
        if (!o)
                return -EOPNOTSUPP;
        if (!ota_online(o))
                return -ENOTCONN;
        ota_firmware_get(o);
        return 0;
}

void ota_get_status(Ota *o, OtaStatus *ret)
{
        static const char *const names[] = {
                [OTA_HASHING] = "verifying",
                [OTA_DOWNLOADING] = "downloading",
                [OTA_RETRY_WAIT] = "retrying",
                [OTA_WAITING_URL] = "waiting-for-url",
                [OTA_INSTALLING] = "installing",
        };

        *ret = (OtaStatus){.state = "idle"};
        if (!o)
                return;
        ret->firmware_version = o->running_version;
        if (o->job) {
                ret->state = names[o->job->phase];
                ret->progress = o->job->phase == OTA_INSTALLING ? 99 : download_step(o->job);
        } else if (o->reboot_target.version) {
                ret->state = "reboot-pending";
                ret->progress = 99;
        } else if (o->last_step != OTA_STEP_NONE)
                ret->progress = o->last_step;
}
