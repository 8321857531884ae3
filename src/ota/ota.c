/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ota.c: the OTA state machine. */
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <systemd/sd-event.h>

#include "alink.h"
#include "digest.h"
#include "download.h"
#include "event-util.h"
#include "fs-util.h"
#include "log.h"
#include "manager.h"
#include "ota-job.h"
#include "bus.h"
#include "ota.h"
#include "spawn.h"
#include "string-util.h"

#define OTA_PART_FILE "ota-image.part"
#define OTA_IMAGE_FILE "ota-image"
/* Bytes digested per loop iteration when resuming over the partial file. */
#define OTA_HASH_CHUNK (256u * 1024u)
/* Attempts in a row that fetch nothing before the download is given up (-2). */
#define OTA_MAX_FAILURES 6
#define OTA_RETRY_MAX_USEC (30 * USEC_PER_SEC)
/* How often an expired URL may be replaced through firmware/get before giving up. */
#define OTA_MAX_URL_REFRESHES 3
#define OTA_PROGRESS_INTERVAL_USEC USEC_PER_SEC
/* After SIGTERM at the timeout, the hook's process group gets SIGKILL this much later. */
#define OTA_KILL_GRACE_USEC (10 * USEC_PER_SEC)
#define OTA_VERSION_COMMAND_TIMEOUT_USEC (30 * USEC_PER_SEC)
#define OTA_VERSION_MAX_OUTPUT 256
#define OTA_CHILD_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef enum OtaPhase {
        OTA_HASHING,     /* resuming: digesting the bytes already on disk */
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
        uint8_t *hash_buf;
        pid_t hook_pid;
        sd_event_source *hook_source, *hook_timer;
        bool hook_terminated;
        char *request_dir; /* install_unit: the request handed to the root side */
        bool unit_running;
} OtaJob;

struct Ota {
        Manager *manager;
        sd_event *event;
        Downloader *downloader;          /* libcurl loaded: only while a job downloads */
        sd_event_source *release_source; /* frees it once no transfer runs, outside its handlers */
        char *job_path;

        /* The running firmware version. */
        char *running_version; /* NULL: unknown or unreadable */
        bool version_read;
        pid_t version_pid;
        int version_fd;
        sd_event_source *version_child, *version_io, *version_timer;
        char *version_output;
        size_t version_output_len;
        int version_status; /* -1 while the command runs */

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
};

static void ota_job_download(Ota *o);
static void ota_run_installer(Ota *o);

static bool ota_connected(Ota *o)
{
        return o->manager->state == MANAGER_CONNECTED;
}

static const Conf *ota_conf(Ota *o)
{
        return o->manager->conf;
}

static uint64_t now_usec(Ota *o)
{
        uint64_t t = 0;
        (void) sd_event_now(o->event, CLOCK_MONOTONIC, &t);
        return t;
}

static char *read_boot_id(void)
{
        _cleanup_(fclosep) FILE *f = fopen("/proc/sys/kernel/random/boot_id", "re");
        char buf[64] = {};

        if (!f || !fgets(buf, sizeof(buf), f))
                return NULL;
        buf[strcspn(buf, "\n")] = 0;
        return strdup(buf);
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

        if (!version || !ota_connected(o))
                return;
        id = manager_new_message_id(o->manager);
        if (!id || alink_build_ota_inform(id, version, module, &payload) < 0)
                return (void) log_oom();
        if (manager_publish(o->manager, o->manager->topics.ota_inform, payload, /* qos= */ 1) >= 0)
                log_info("Reported firmware version %s%s%s to the cloud", version, module ? " of module " : "",
                        strempty(module));
}

static void ota_firmware_get(Ota *o)
{
        _cleanup_(freep) char *id = NULL, *payload = NULL;

        if (!ota_connected(o))
                return;
        id = manager_new_message_id(o->manager);
        if (!id || alink_build_ota_firmware_get(id, /* module= */ NULL, &payload) < 0)
                return (void) log_oom();
        if (manager_publish(o->manager, o->manager->topics.ota_firmware_get, payload, /* qos= */ 1) >= 0)
                log_info("Asked the cloud for pending firmware (message %s)", id);
}

/* Progress "0".."100" or a failure step. Every step goes through the outbox (QoS 1), so a result reached
 * while offline, or before a restart, is still reported; intermediate steps are throttled by the caller. */
static void ota_progress(Ota *o, int step, const char *desc, const char *module, bool final)
{
        _cleanup_(freep) char *id = NULL, *payload = NULL;

        id = manager_new_message_id(o->manager);
        if (!id || alink_build_ota_progress(id, step, desc, module, &payload) < 0)
                return (void) log_oom();
        o->last_step = step;
        o->last_step_usec = now_usec(o);
        if (manager_publish(o->manager, o->manager->topics.ota_progress, payload, /* qos= */ 1) < 0)
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
        [OTA_HASHING] = "download",   [OTA_DOWNLOADING] = "download", [OTA_RETRY_WAIT] = "download",
        [OTA_WAITING_URL] = "download", [OTA_INSTALLING] = "install",
};

static int ota_save(Ota *o, const AlinkOtaFirmware *fw, uint64_t bytes, const char *phase, const char *boot_id)
{
        _cleanup_(freep) char *json = NULL;
        int r;

        r = ota_job_file_build(fw, bytes, phase, boot_id, &json);
        if (r < 0)
                return log_oom();
        r = write_file_atomic(o->job_path, json, 0600);
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
        /* A running hook is not killed: it may be writing flash. Its exit goes unobserved. */
        sd_event_source_disable_unref(j->hook_source);
        sd_event_source_disable_unref(j->hook_timer);
        if (j->fd >= 0)
                (void) close(j->fd);
        digest_free(j->digest);
        free(j->hash_buf);
        free(j->part_path);
        free(j->image_path);
        /* A running installer unit is not stopped either (it may be writing flash); its request stays for
         * it. The Ota forgets the bus wait before freeing the job (ota_job_end, ota_free). */
        free(j->request_dir);
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
        log_debug("Unloaded libcurl: no download runs");
        return 0;
}

/* No transfer runs now: unload libcurl (in a later dispatch: this may be called from the Downloader's own
 * handlers). A retry or a new job loads it again. */
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
        if (j->unit_running)
                bus_forget_unit(o->manager->bus);
        ota_remove_job_file(o);
        o->job = ota_job_free(j);
        o->progress_timer = sd_event_source_disable_unref(o->progress_timer);
        ota_release_downloader(o);
}

static int ota_job_new(Ota *o, AlinkOtaFirmware *fw, OtaJob **ret)
{
        const char *dir = ota_conf(o)->ota.download_dir;
        OtaJob *j;

        j = calloc(1, sizeof(*j));
        if (!j)
                return -ENOMEM;
        j->fd = -1;
        j->fw = *fw;
        *fw = (AlinkOtaFirmware) {};
        if (asprintf(&j->part_path, "%s/" OTA_PART_FILE, dir) < 0 ||
            asprintf(&j->image_path, "%s/" OTA_IMAGE_FILE, dir) < 0 || digest_new(&j->digest, j->fw.sign_method) < 0) {
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
                ota_fail(o, -2, module, "not enough space: need %" PRIu64 " bytes, have %" PRIu64, need, have);
                return false;
        }
        return true;
}

static int ensure_directory(const char *dir)
{
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return -errno;
        return 0;
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
        } else if (sd_event_add_time(o->event, &o->progress_timer, CLOCK_MONOTONIC, due, 0, on_progress_timer, o) >= 0)
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

        (void) d;
        if (offset == j->bytes)
                return 0;
        /* A 200 answering our range request: the server sends the whole file; start over. */
        log_info("The server sent the whole file instead of the range from byte %" PRIu64 "; starting over", j->bytes);
        return ota_job_start_over(o);
}

static int on_download_data(Download *d, const void *buf, size_t len, void *userdata)
{
        Ota *o = userdata;
        OtaJob *j = o->job;
        size_t done = 0;
        int r;

        (void) d;
        while (done < len) {
                ssize_t n = pwrite(j->fd, (const uint8_t *) buf + done, len - done, (off_t) (j->bytes + done));
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
        return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
        Ota *o = userdata;

        (void) s;
        (void) usec;
        o->job->retry_source = sd_event_source_disable_unref(o->job->retry_source);
        ota_job_download(o);
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
                delay = MIN(OTA_RETRY_MAX_USEC, USEC_PER_SEC << (j->failures - 1));

        ota_job_checkpoint(o);
        log_warning("The firmware download stopped at byte %" PRIu64 " of %" PRIu64 " (%s); resuming in %" PRIu64 " s",
                j->bytes, j->fw.size, strna(why), delay / USEC_PER_SEC);
        j->phase = OTA_RETRY_WAIT;
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

        if (fdatasync(j->fd) < 0 || rename(j->part_path, j->image_path) < 0 || fsync_directory_of(j->image_path) < 0) {
                ota_fail(o, -2, j->fw.module, "cannot store the image in %s: %s", j->image_path, strerror(errno));
                ota_job_end(o);
                return;
        }
        (void) close(j->fd);
        j->fd = -1;
        j->phase = OTA_INSTALLING;
        j->checkpoint = j->bytes;
        (void) ota_job_save(o);
        ota_run_installer(o);
}

static void on_download_finished(Download *d, int result, const char *message, void *userdata)
{
        Ota *o = userdata;
        OtaJob *j = o->job;
        long status = download_get_http_status(d);
        uint64_t elapsed = now_usec(o) - j->transfer_start_usec;
        uint64_t moved = j->bytes - j->attempt_start;
        const char *module = j->fw.module;
        int r;

        j->download = download_free(d);
        ota_release_downloader(o);
        log_info("Transfer ended after %" PRIu64 " bytes in %.1f s (%.1f MiB/s)", moved, (double) elapsed / 1e6,
                elapsed > 0 ? (double) moved / 1048576.0 / ((double) elapsed / 1e6) : 0.0);

        switch (result) {
        case 0:
                ota_job_verify(o);
                return;
        case DOWNLOAD_E_TRANSFER:
                ota_job_retry(o, message, j->bytes > j->attempt_start);
                return;
        case DOWNLOAD_E_HTTP:
                if ((status == 403 || status == 410) && j->url_refreshes < OTA_MAX_URL_REFRESHES) {
                        /* Pre-signed URLs expire (about a day): ask for the package again, keep the bytes. */
                        j->url_refreshes++;
                        ota_job_checkpoint(o);
                        log_warning("The download URL was refused (HTTP %ld), it may have expired; asking the cloud "
                                    "for a new one",
                                status);
                        j->phase = OTA_WAITING_URL;
                        ota_firmware_get(o);
                        return;
                }
                if (status == 416 && j->bytes > 0) {
                        log_warning("The server refused the range from byte %" PRIu64 "; starting over", j->bytes);
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
                ota_fail(o, -2, module, "download failed: cannot write %s: %s", j->part_path, strna(message));
                break;
        default:
                ota_fail(o, -1, module, "internal error during the download: %s", strerror(-result));
        }
        ota_job_end(o);
}

static void ota_job_download(Ota *o)
{
        const Conf *c = ota_conf(o);
        OtaJob *j = o->job;
        DownloadRequest req = {
                .url = j->fw.url,
                .ca_file = c->ota.ca_file,
                .allow_http = c->ota.allow_http,
                .offset = j->bytes,
                .size = j->fw.size,
                .connect_timeout_sec = c->ota.connect_timeout,
                .stall_timeout_sec = c->ota.stall_timeout,
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
                log_info("Resuming the download of firmware %s at byte %" PRIu64 " of %" PRIu64, j->fw.version, j->bytes,
                        j->fw.size);
        r = o->downloader ? 0 : downloader_new(&o->downloader, o->event);
        if (r >= 0)
                r = download_start(o->downloader, &req, &handlers, o, &j->download);
        if (r < 0) {
                ota_fail(o, -1, j->fw.module, "cannot start the download: %s", strerror(-r));
                ota_job_end(o);
                return;
        }
        j->phase = OTA_DOWNLOADING;
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
                log_warning("Cannot read %s at byte %" PRIu64 "; resuming from there", j->part_path, j->hashed);
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
        return 0;
}

static void ota_job_resume_hashing(Ota *o)
{
        OtaJob *j = o->job;
        int r;

        j->phase = OTA_HASHING;
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
        const char *dir = ota_conf(o)->ota.download_dir;
        OtaJob *j;
        int r;

        r = ensure_directory(dir);
        if (r < 0) {
                ota_fail(o, -2, fw->module, "cannot create %s: %s", dir, strerror(-r));
                return;
        }
        if (!ota_check_space(o, dir, fw->size, fw->module))
                return;
        r = ota_job_new(o, fw, &o->job);
        if (r < 0)
                return (void) log_oom();
        j = o->job;
        j->fd = open(j->part_path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (j->fd < 0) {
                ota_fail(o, -2, j->fw.module, "cannot create %s: %s", j->part_path, strerror(errno));
                ota_job_end(o);
                return;
        }
        (void) unlink(j->image_path);
        j->phase = OTA_DOWNLOADING;
        (void) ota_job_save(o);

        log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Downloading firmware %s%s%s (%" PRIu64 " bytes, %s) from %.*s",
                j->fw.version, j->fw.module ? " of module " : "", strempty(j->fw.module), j->fw.size,
                digest_method_to_string(j->fw.sign_method), url_for_log(j->fw.url), j->fw.url);
        o->last_step = -100;
        ota_progress(o, 0, "downloading", j->fw.module, /* final= */ false);
        ota_job_download(o);
}

/* ---- the installer hook ---- */

/* What the installer's exit status means (ali-linkd(8)): 0 installed, 100 installed with a reboot pending,
 * anything else (or failure set) failed. The same for the hook run here and for the root side's unit. */
static void ota_installer_result(Ota *o, int exit_status, const char *failure)
{
        OtaJob *j = o->job;
        const char *module = j->fw.module;

        if (failure)
                ota_fail(o, -4, module, "%s", failure);
        else if (exit_status == 0) {
                log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Firmware %s installed", j->fw.version);
                ota_progress(o, 100, "installed", module, /* final= */ true);
                if (!module && free_and_strdup(&o->running_version, j->fw.version) < 0)
                        log_oom();
                ota_inform(o, j->fw.version, module);
        } else if (exit_status == 100) {
                _cleanup_(freep) char *boot_id = read_boot_id();

                log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Firmware %s installed; it runs after the next reboot",
                        j->fw.version);
                /* Remembered across the reboot: the version is checked at the next start in a new boot. */
                if (ota_save(o, &j->fw, j->fw.size, "reboot", boot_id) >= 0) {
                        alink_ota_firmware_done(&o->reboot_target);
                        o->reboot_target = j->fw;
                        j->fw = (AlinkOtaFirmware) {};
                        free(o->reboot_boot_id);
                        o->reboot_boot_id = TAKE_PTR(boot_id);
                }
                o->job = ota_job_free(j);
                return;
        } else
                ota_fail(o, -4, module, "the installer exited with status %d", exit_status);
        ota_job_end(o);
}

static void ota_installer_done(Ota *o, const siginfo_t *si)
{
        OtaJob *j = o->job;
        _cleanup_(freep) char *failure = NULL;
        int r = 0;

        j->hook_timer = sd_event_source_disable_unref(j->hook_timer);
        j->hook_source = sd_event_source_disable_unref(j->hook_source);
        j->hook_pid = 0;
        /* The image is the hook's to copy while it runs; it goes afterwards whatever happened. */
        if (unlink(j->image_path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Cannot remove %s: %m", j->image_path);

        if (j->hook_terminated)
                r = asprintf(&failure, "the installer did not finish within %u s and was killed",
                        ota_conf(o)->ota.installer_timeout);
        else if (si->si_code != CLD_EXITED)
                r = asprintf(&failure, "the installer was killed by signal %s", strsignal(si->si_status));
        if (r < 0)
                return (void) log_oom();
        ota_installer_result(o, si->si_code == CLD_EXITED ? si->si_status : -1, failure);
}

static int on_installer_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        (void) s;
        ota_installer_done(userdata, si);
        return 0;
}

static int on_installer_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Ota *o = userdata;
        OtaJob *j = o->job;

        (void) usec;
        if (!j->hook_terminated) {
                log_warning("The installer (pid %d) did not finish within %u s; terminating it", (int) j->hook_pid,
                        ota_conf(o)->ota.installer_timeout);
                j->hook_terminated = true;
                (void) kill(-j->hook_pid, SIGTERM);
                (void) event_timer_arm_relative(s, OTA_KILL_GRACE_USEC);
        } else {
                log_warning("The installer (pid %d) ignored SIGTERM; killing it", (int) j->hook_pid);
                (void) kill(-j->hook_pid, SIGKILL);
        }
        return 0;
}

/* ---- the root side: <install_unit>@ID.service (ali-linkd(8), FIRMWARE INSTALLATION) ---- */

static bool manifest_value_ok(const char *v)
{
        return !isempty(v) && alnum_or_chars(v, "_.:+~-");
}

static void remove_request(OtaJob *j)
{
        static const char *const names[] = { "image", "manifest" };

        if (!j->request_dir)
                return;
        for (size_t i = 0; i < ELEMENTSOF(names); i++) {
                _cleanup_(freep) char *p = NULL;
                if (asprintf(&p, "%s/%s", j->request_dir, names[i]) >= 0 && unlink(p) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "Cannot remove %s: %m", p);
        }
        if (rmdir(j->request_dir) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Cannot remove %s: %m", j->request_dir);
        j->request_dir = mfree(j->request_dir);
}

static void ota_installer_result(Ota *o, int exit_status, const char *failure);

static void on_install_unit_done(void *userdata, int error, const char *result, int exit_status, const char *message)
{
        Ota *o = userdata;
        OtaJob *j = o->job;
        _cleanup_(freep) char *failure = NULL;

        if (!j)
                return;
        j->unit_running = false;
        j->hook_timer = sd_event_source_disable_unref(j->hook_timer);
        remove_request(j);
        if (error < 0)
                failure = strdup(message ?: strerror(-error));
        else if (!streq_ptr(result, "done") && exit_status <= 0 && asprintf(&failure, "the installer unit ended with "
                                                                                      "\"%s\"%s%s",
                                                                        strna(result), message ? ": " : "",
                                                                        strempty(message)) < 0)
                failure = NULL;
        log_debug("The installer unit finished: %s, exit status %d", strna(result), exit_status);
        ota_installer_result(o, error < 0 || failure ? -1 : exit_status, failure);
}

static int on_install_unit_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Ota *o = userdata;
        OtaJob *j = o->job;
        _cleanup_(freep) char *why = NULL;

        (void) s;
        (void) usec;
        /* The unit has its own TimeoutStartSec=; we only stop waiting (polkit lets us start it, not stop it). */
        bus_forget_unit(o->manager->bus);
        j->unit_running = false;
        remove_request(j);
        if (asprintf(&why, "the installer unit did not finish within %u s", ota_conf(o)->ota.installer_timeout) < 0)
                why = NULL;
        ota_installer_result(o, -1, why ?: "timeout");
        return 0;
}

/* Leave the verified image and a manifest in the state directory and ask systemd (over D-Bus, allowed by
 * the polkit rule to the daemon's user for these units only) to start <install_unit>@ID.service, which
 * checks them again and runs the administrator's hook as root. */
static void ota_hand_off(Ota *o)
{
        const Conf *c = ota_conf(o);
        OtaJob *j = o->job;
        _cleanup_(freep) char *base = NULL, *id = NULL, *image = NULL, *manifest = NULL, *unit = NULL, *text = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        const char *method = digest_method_to_string(j->fw.sign_method), *module = j->fw.module ?: "default";
        int r;

        if (!manifest_value_ok(j->fw.version) || !manifest_value_ok(module) || !manifest_value_ok(j->fw.sign))
                return ota_installer_result(o, -1, "the version or module has characters the installer does not take "
                                                   "(A-Z a-z 0-9 _ . : + ~ -)");

        /* An id of the version and the time: a fresh unit instance for every request. */
        if (asprintf(&id, "fw-%s-%llu", j->fw.version, (unsigned long long) time(NULL)) < 0)
                return (void) log_oom();
        for (char *p = id; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *p))
                        *p = '_';
        if (asprintf(&base, "%s/install", c->state_directory) < 0 || asprintf(&j->request_dir, "%s/%s", base, id) < 0 ||
            asprintf(&image, "%s/image", j->request_dir) < 0 || asprintf(&manifest, "%s/manifest", j->request_dir) < 0 ||
            asprintf(&unit, "%s@%s.service", c->ota.install_unit, id) < 0)
                return (void) log_oom();
        if ((mkdir(base, 0750) < 0 && errno != EEXIST) || mkdir(j->request_dir, 0750) < 0) {
                _cleanup_(freep) char *why = NULL;
                r = asprintf(&why, "cannot make %s: %s", j->request_dir, strerror(errno));
                j->request_dir = mfree(j->request_dir);
                return ota_installer_result(o, -1, r < 0 ? "cannot make the request directory" : why);
        }
        /* Same file system as the download (the state directory by default): a rename, no copy. */
        if (rename(j->image_path, image) < 0) {
                _cleanup_(freep) char *why = NULL;
                r = asprintf(&why, "cannot move the image to %s: %s%s", image, strerror(errno),
                        errno == EXDEV ? " (download_dir must be on the state directory's file system)" : "");
                remove_request(j);
                return ota_installer_result(o, -1, r < 0 ? "cannot move the image" : why);
        }
        if (asprintf(&text, "ALI_LINKD_OTA_VERSION=%s\nALI_LINKD_OTA_MODULE=%s\nALI_LINKD_OTA_SIZE=%" PRIu64
                            "\nALI_LINKD_OTA_SIGN_METHOD=%s\nALI_LINKD_OTA_SIGN=%s\n",
                    j->fw.version, module, j->fw.size, method, j->fw.sign) < 0)
                return (void) log_oom();
        f = fopen(manifest, "wxe");
        if (!f || fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) < 0 || fsync_directory_of(manifest) < 0) {
                _cleanup_(freep) char *why = NULL;
                r = asprintf(&why, "cannot write %s: %s", manifest, strerror(errno));
                remove_request(j);
                return ota_installer_result(o, -1, r < 0 ? "cannot write the manifest" : why);
        }

        r = bus_start_unit(o->manager->bus, unit, on_install_unit_done, o);
        if (r < 0) {
                remove_request(j);
                return ota_installer_result(o, -1, r == -ENOTCONN ? "no system bus to reach systemd on"
                                                                     : "cannot ask systemd to start the installer");
        }
        j->unit_running = true;
        log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Handing firmware %s to %s (timeout %u s)", j->fw.version, unit,
                c->ota.installer_timeout);
        r = sd_event_add_time_relative(o->event, &j->hook_timer, CLOCK_MONOTONIC,
                (uint64_t) c->ota.installer_timeout * USEC_PER_SEC, 0, on_install_unit_timeout, o);
        if (r < 0)
                log_warning_errno(r, "Cannot arm the installer timeout, ignoring: %m");
}

static void ota_run_installer(Ota *o)
{
        const Conf *c = ota_conf(o);
        OtaJob *j = o->job;
        _cleanup_(freep) char *e_file = NULL, *e_version = NULL, *e_method = NULL, *e_sign = NULL, *e_size = NULL,
                              *e_module = NULL;
        int r;

        if (c->ota.install_unit)
                return ota_hand_off(o);
        if (!c->ota.installer) {
                ota_fail(o, -4, j->fw.module, "no installer is configured ([ota] installer)");
                ota_job_end(o);
                return;
        }
        /* Built from scratch: the daemon's environment may name CREDENTIALS_DIRECTORY and the like. */
        if (asprintf(&e_file, "ALI_LINKD_OTA_FILE=%s", j->image_path) < 0 ||
            asprintf(&e_version, "ALI_LINKD_OTA_VERSION=%s", j->fw.version) < 0 ||
            asprintf(&e_method, "ALI_LINKD_OTA_SIGN_METHOD=%s", digest_method_to_string(j->fw.sign_method)) < 0 ||
            asprintf(&e_sign, "ALI_LINKD_OTA_SIGN=%s", j->fw.sign) < 0 ||
            asprintf(&e_size, "ALI_LINKD_OTA_SIZE=%" PRIu64, j->fw.size) < 0 ||
            asprintf(&e_module, "ALI_LINKD_OTA_MODULE=%s", j->fw.module ?: "default") < 0)
                return (void) log_oom();
        char *argv[] = { c->ota.installer, j->image_path, NULL };
        char *envp[] = { (char *) OTA_CHILD_PATH, e_file, e_version, e_method, e_sign, e_size, e_module, NULL };

        r = spawn_child(argv, envp, /* stdout_fd= */ -1, &j->hook_pid);
        if (r < 0) {
                ota_fail(o, -4, j->fw.module, "cannot start the installer %s: %s", c->ota.installer, strerror(-r));
                ota_job_end(o);
                return;
        }
        log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Running the installer %s %s (pid %d, timeout %u s)", c->ota.installer,
                j->image_path, (int) j->hook_pid, c->ota.installer_timeout);
        r = sd_event_add_child(o->event, &j->hook_source, j->hook_pid, WEXITED, on_installer_exit, o);
        if (r >= 0)
                r = sd_event_add_time_relative(o->event, &j->hook_timer, CLOCK_MONOTONIC,
                        (uint64_t) c->ota.installer_timeout * USEC_PER_SEC, 0, on_installer_timeout, o);
        if (r < 0) {
                log_error_errno(r, "Cannot watch the installer: %m");
                (void) kill(-j->hook_pid, SIGKILL);
                ota_fail(o, -1, j->fw.module, "internal error: cannot watch the installer");
                ota_job_end(o);
        }
}

/* ---- pushes ---- */

static bool url_is_https(const char *url)
{
        return strncasecmp(url, "https://", 8) == 0;
}

static void ota_handle_firmware(Ota *o, AlinkOtaFirmware *fw)
{
        const Conf *c = ota_conf(o);
        OtaJob *j = o->job;

        /* Policy first: an invalid push is answered with -1 whatever else is going on. */
        if (!c->ota.installer && !c->ota.install_unit)
                return ota_fail(o, -1, fw->module, "invalid push: no installer hook is configured on this device");
        if (!url_is_https(fw->url) && !c->ota.allow_http)
                return ota_fail(o, -1, fw->module, "invalid push: the URL is not https:// (plain http is refused)");
        if (fw->size > c->ota.max_size)
                return ota_fail(o, -1, fw->module,
                        "invalid push: the package of %" PRIu64 " bytes exceeds the limit of %" PRIu64 " bytes",
                        fw->size, c->ota.max_size);

        if (!fw->module && o->running_version && streq(fw->version, o->running_version)) {
                log_info("Ignoring a push for firmware %s: it is the running version", fw->version);
                return;
        }
        if (o->reboot_target.version && streq(fw->version, o->reboot_target.version) &&
            streq_ptr(fw->module, o->reboot_target.module)) {
                log_info("Ignoring a push for firmware %s: it is installed and waits for a reboot", fw->version);
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
                        ota_job_download(o);
                } else
                        log_info("Ignoring a push for firmware %s: it is already being %s", fw->version,
                                j->phase == OTA_INSTALLING ? "installed" : "downloaded");
                return;
        }
        if (j && j->phase == OTA_INSTALLING)
                return ota_fail(o, -1, fw->module, "refused: the installer for firmware %s is running", j->fw.version);
        if (j) {
                log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Cancelling the update to %s: superseded by %s", j->fw.version,
                        fw->version);
                ota_job_end(o);
        }
        if (o->reboot_target.version) {
                /* A new package replaces the one waiting for a reboot. */
                alink_ota_firmware_done(&o->reboot_target);
                ota_remove_job_file(o);
        }
        ota_start_job(o, fw);
}

void ota_handle_upgrade(Ota *o, const void *payload, size_t len, bool reply)
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
                        ota_fail(o, -2, o->job->fw.module, "download failed: the URL expired and the cloud offers "
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

/* ---- the running version ---- */

/* First line, trimmed; printable, 1..ALINK_OTA_MAX_VERSION characters; else NULL. */
static char *version_from_text(const char *text, size_t len, const char *source)
{
        size_t start = 0, end;
        char *v;

        while (start < len && strchr(" \t\r\n", text[start]))
                start++;
        end = start;
        while (end < len && text[end] != '\n' && text[end] != '\r')
                end++;
        while (end > start && strchr(" \t", text[end - 1]))
                end--;
        if (end == start || end - start > ALINK_OTA_MAX_VERSION) {
                log_warning("%s: expected a version of 1..%d characters", source, ALINK_OTA_MAX_VERSION);
                return NULL;
        }
        for (size_t i = start; i < end; i++)
                if ((unsigned char) text[i] < 0x20 || text[i] == 0x7f) {
                        log_warning("%s: the version contains control characters", source);
                        return NULL;
                }
        v = strndup(text + start, end - start);
        if (!v)
                log_oom();
        return v;
}

static void ota_reboot_check(Ota *o)
{
        _cleanup_(freep) char *boot_id = NULL;
        const AlinkOtaFirmware *t = &o->reboot_target;

        if (!t->version)
                return;
        if (t->module)
                log_info("Module %s was updated to %s before the restart", t->module, t->version);
        else if (o->running_version && streq(o->running_version, t->version))
                log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Firmware %s is running: the update succeeded", t->version);
        else {
                boot_id = read_boot_id();
                if (o->reboot_boot_id && boot_id && streq(o->reboot_boot_id, boot_id)) {
                        /* Only the daemon restarted: the reboot is still to come. */
                        log_info("Firmware %s is installed and waits for a reboot", t->version);
                        return;
                }
                /* Once: the job file goes now, so the next start does not report it again. */
                ota_fail(o, -4, NULL, "after the reboot the running version is %s, not %s", strna(o->running_version),
                        t->version);
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
        if (version)
                log_info("Running firmware version: %s", version);
        else
                log_warning("The running firmware version is unknown; it is not reported, and pushes are not "
                            "compared with it");

        ota_reboot_check(o);
        ota_inform(o, o->running_version, NULL);
        if (o->deferred_push) {
                _cleanup_(freep) void *p = TAKE_PTR(o->deferred_push);
                ota_handle_upgrade(o, p, o->deferred_push_len, o->deferred_reply);
        }
}

static void ota_version_command_finish(Ota *o)
{
        char *v = NULL;
        _cleanup_(freep) char *source = NULL;

        /* Both the exit and the end of the output are needed. */
        if (o->version_status < 0 || o->version_io)
                return;
        o->version_timer = sd_event_source_disable_unref(o->version_timer);
        if (asprintf(&source, "[ota] version_command %s", ota_conf(o)->ota.version_command) < 0)
                source = NULL;
        if (o->version_status != 0)
                log_warning("%s failed (status %d)", strna(source), o->version_status);
        else
                v = version_from_text(o->version_output, o->version_output_len, strna(source));
        o->version_output = mfree(o->version_output);
        ota_version_ready(o, v);
}

static int on_version_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Ota *o = userdata;
        char buf[OTA_VERSION_MAX_OUTPUT];
        ssize_t n;

        (void) s;
        (void) revents;
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n > 0) {
                /* Keep the first OTA_VERSION_MAX_OUTPUT bytes; drain the rest. */
                size_t take = MIN((size_t) n, OTA_VERSION_MAX_OUTPUT - o->version_output_len);
                memcpy(o->version_output + o->version_output_len, buf, take);
                o->version_output_len += take;
                return 0;
        }
        o->version_io = sd_event_source_disable_unref(o->version_io);
        (void) close(o->version_fd);
        o->version_fd = -1;
        ota_version_command_finish(o);
        return 0;
}

static int on_version_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        Ota *o = userdata;

        (void) s;
        o->version_child = sd_event_source_disable_unref(o->version_child);
        o->version_pid = 0;
        o->version_status = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
        ota_version_command_finish(o);
        return 0;
}

static int on_version_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        Ota *o = userdata;

        (void) s;
        (void) usec;
        log_warning("[ota] version_command did not finish within %" PRIu64 " s; killing it",
                OTA_VERSION_COMMAND_TIMEOUT_USEC / USEC_PER_SEC);
        if (o->version_pid > 0)
                (void) kill(-o->version_pid, SIGKILL);
        return 0;
}

/* Kills a version command that still runs and lets go of everything it had. */
static void ota_version_command_stop(Ota *o)
{
        if (o->version_pid > 0)
                (void) kill(-o->version_pid, SIGKILL);
        o->version_pid = 0;
        o->version_child = sd_event_source_disable_unref(o->version_child);
        o->version_io = sd_event_source_disable_unref(o->version_io);
        o->version_timer = sd_event_source_disable_unref(o->version_timer);
        if (o->version_fd >= 0)
                (void) close(o->version_fd);
        o->version_fd = -1;
        o->version_output = mfree(o->version_output);
}

static void ota_read_version(Ota *o)
{
        const Conf *c = ota_conf(o);
        _cleanup_(strv_freep) char **argv = NULL;
        int pipefd[2] = { -1, -1 }, r;

        if (c->ota.version_file) {
                _cleanup_(closep) int fd = open(c->ota.version_file, O_RDONLY | O_CLOEXEC | O_NOCTTY);
                char buf[OTA_VERSION_MAX_OUTPUT];
                ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

                if (n < 0) {
                        log_warning_errno(errno, "Cannot read the firmware version from %s: %m", c->ota.version_file);
                        return ota_version_ready(o, NULL);
                }
                return ota_version_ready(o, version_from_text(buf, (size_t) n, c->ota.version_file));
        }

        if (strv_split(c->ota.version_command, " \t", &argv) < 0 || !(o->version_output = malloc(OTA_VERSION_MAX_OUTPUT)))
                return (void) log_oom();
        o->version_output_len = 0;
        o->version_status = -1;
        if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0) {
                log_warning_errno(errno, "Cannot run [ota] version_command: %m");
                return ota_version_ready(o, NULL);
        }
        char *envp[] = { (char *) OTA_CHILD_PATH, NULL };
        r = spawn_child(argv, envp, pipefd[1], &o->version_pid);
        (void) close(pipefd[1]);
        o->version_fd = pipefd[0];
        if (r >= 0)
                r = sd_event_add_child(o->event, &o->version_child, o->version_pid, WEXITED, on_version_exit, o);
        if (r >= 0)
                r = sd_event_add_io(o->event, &o->version_io, o->version_fd, EPOLLIN, on_version_output, o);
        if (r >= 0)
                r = sd_event_add_time_relative(o->event, &o->version_timer, CLOCK_MONOTONIC,
                        OTA_VERSION_COMMAND_TIMEOUT_USEC, 0, on_version_timeout, o);
        if (r < 0) {
                log_warning_errno(r, "Cannot run [ota] version_command: %m");
                ota_version_command_stop(o);
                return ota_version_ready(o, NULL);
        }
        log_debug("Running [ota] version_command (pid %d)", (int) o->version_pid);
}

/* ---- start-up: resume what the last run left ---- */

static void ota_resume(Ota *o)
{
        _cleanup_(alink_ota_firmware_done) AlinkOtaFirmware fw = {};
        _cleanup_(freep) char *json = NULL, *phase = NULL, *boot_id = NULL, *error = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        struct stat st;
        uint64_t bytes = 0;
        size_t size = 0;
        OtaJob *j;
        int r;

        f = fopen(o->job_path, "re");
        if (!f) {
                if (errno != ENOENT)
                        log_warning_errno(errno, "Cannot open %s: %m", o->job_path);
                return;
        }
        json = calloc(1, ALINK_MAX_PAYLOAD + 1);
        if (!json)
                return (void) log_oom();
        size = fread(json, 1, ALINK_MAX_PAYLOAD, f);
        r = ota_job_file_parse(json, size, &fw, &bytes, &phase, &boot_id, &error);
        if (r != 0) {
                log_warning("Ignoring %s: %s", o->job_path, r < 0 ? "out of memory" : strna(error));
                ota_remove_job_file(o);
                return;
        }

        if (streq(phase, "reboot")) {
                o->reboot_target = fw;
                fw = (AlinkOtaFirmware) {};
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

        j->fd = open(j->part_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (j->fd < 0 || fstat(j->fd, &st) < 0) {
                ota_fail(o, -2, j->fw.module, "cannot open %s: %s", j->part_path, strerror(errno));
                ota_job_end(o);
                return;
        }
        /* Only what was synced and recorded is trusted; anything after it is fetched again. */
        j->bytes = j->checkpoint = MIN(bytes, (uint64_t) st.st_size);
        if (ftruncate(j->fd, (off_t) j->bytes) < 0)
                log_warning_errno(errno, "Cannot truncate %s: %m", j->part_path);
        log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Resuming the update to firmware %s: %" PRIu64 " of %" PRIu64
                                              " bytes on disk",
                j->fw.version, j->bytes, j->fw.size);
        if (!ota_check_space(o, ota_conf(o)->ota.download_dir, j->fw.size - j->bytes, j->fw.module)) {
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

int ota_new(Ota **ret, Manager *m)
{
        _cleanup_(ota_freep) Ota *o = NULL;

        o = calloc(1, sizeof(*o));
        if (!o)
                return -ENOMEM;
        o->manager = m;
        o->event = sd_event_ref(m->event);
        o->version_fd = -1;
        o->last_step = -100;
        if (asprintf(&o->job_path, "%s/" OTA_JOB_FILE, m->conf->state_directory) < 0)
                return -ENOMEM;

        ota_resume(o);
        ota_read_version(o);
        *ret = TAKE_PTR(o);
        return 0;
}

Ota *ota_free(Ota *o)
{
        if (!o)
                return NULL;
        if (o->job) {
                OtaJob *j = o->job;

                if (j->phase == OTA_DOWNLOADING || j->phase == OTA_RETRY_WAIT || j->phase == OTA_WAITING_URL) {
                        j->download = download_free(j->download);
                        ota_job_checkpoint(o);
                        log_info("Stopping the firmware download at byte %" PRIu64 "; it resumes at the next start",
                                j->checkpoint);
                } else if (j->phase == OTA_INSTALLING && j->hook_pid > 0)
                        log_warning("Stopping while the installer (pid %d) runs; it is left to finish", (int) j->hook_pid);
                else if (j->unit_running) {
                        log_warning("Stopping while the installer unit runs; it is left to finish");
                        bus_forget_unit(o->manager->bus);
                }
                ota_job_free(j);
        }
        ota_version_command_stop(o);
        sd_event_source_disable_unref(o->progress_timer);
        sd_event_source_disable_unref(o->release_source);
        downloader_free(o->downloader);
        sd_event_unref(o->event);
        free(o->running_version);
        free(o->deferred_push);
        alink_ota_firmware_done(&o->reboot_target);
        free(o->reboot_boot_id);
        free(o->job_path);
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
                ota_firmware_get(o);
}

int ota_request_firmware(Ota *o)
{
        if (!o)
                return -EOPNOTSUPP;
        if (!ota_connected(o))
                return -ENOTCONN;
        ota_firmware_get(o);
        return 0;
}

void ota_get_status(Ota *o, OtaStatus *ret)
{
        static const char *const names[] = {
                [OTA_HASHING] = "verifying",         [OTA_DOWNLOADING] = "downloading", [OTA_RETRY_WAIT] = "retrying",
                [OTA_WAITING_URL] = "waiting-for-url", [OTA_INSTALLING] = "installing",
        };

        *ret = (OtaStatus) { .state = "idle" };
        if (!o)
                return;
        ret->firmware_version = o->running_version;
        if (o->job) {
                ret->state = names[o->job->phase];
                ret->progress = o->job->phase == OTA_INSTALLING ? 99 : download_step(o->job);
        } else if (o->reboot_target.version) {
                ret->state = "reboot-pending";
                ret->progress = 99;
        } else if (o->last_step != -100)
                ret->progress = o->last_step;
}
