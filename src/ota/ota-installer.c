/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ota-installer.c: the installer hook as a child, or the installer unit through the host. */
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "digest.h"
#include "event-util.h"
#include "fs-util.h"
#include "log.h"
#include "ota-installer.h"
#include "ota-version.h"
#include "spawn.h"
#include "string-util.h"

struct OtaInstaller {
        const OtaHost *host;
        char *image_path;
        unsigned timeout_sec;
        OtaInstallerDoneFn done;
        void *userdata;

        /* The hook. */
        pid_t hook_pid;
        sd_event_source *hook_source;
        bool hook_terminated;

        /* The unit: the request handed to the root side. */
        char *request_dir;
        bool unit_running;

        sd_event_source *timer;
};

OtaInstaller *ota_installer_free(OtaInstaller *i)
{
        if (!i)
                return NULL;
        /* A running hook is not killed: it may be writing flash. Its exit goes unobserved. */
        sd_event_source_disable_unref(i->hook_source);
        sd_event_source_disable_unref(i->timer);
        /* A running unit is not stopped either; its request stays for it. */
        if (i->unit_running && i->host->forget_unit)
                i->host->forget_unit(i->host->userdata);
        free(i->request_dir);
        free(i->image_path);
        free(i);
        return NULL;
}

pid_t ota_installer_hook_pid(const OtaInstaller *i)
{
        return i ? i->hook_pid : 0;
}

bool ota_installer_unit_running(const OtaInstaller *i)
{
        return i && i->unit_running;
}

static int failed(char **ret_failure, const char *format, ...) _printf_(2, 3);
static int failed(char **ret_failure, const char *format, ...)
{
        va_list ap;

        va_start(ap, format);
        if (vasprintf(ret_failure, format, ap) < 0)
                *ret_failure = NULL;
        va_end(ap);
        return *ret_failure ? OTA_INSTALLER_E_FAILED : -ENOMEM;
}

/* ---- the hook ---- */

static int on_hook_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        OtaInstaller *i = userdata;
        _cleanup_(freep) char *failure = NULL;
        int r = 0;

        (void) s;
        i->timer = sd_event_source_disable_unref(i->timer);
        i->hook_source = sd_event_source_disable_unref(i->hook_source);
        i->hook_pid = 0;
        /* The image is the hook's to copy while it runs; it goes afterwards whatever happened. */
        if (unlink(i->image_path) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Cannot remove %s: %m", i->image_path);

        if (i->hook_terminated)
                r = asprintf(
                        &failure, "the installer did not finish within %u s and was killed", i->timeout_sec);
        else if (si->si_code != CLD_EXITED)
                r = asprintf(&failure, "the installer was killed by signal %s", strsignal(si->si_status));
        if (r < 0)
                failure = NULL;
        i->done(i->userdata, si->si_code == CLD_EXITED && !failure ? si->si_status : -1,
                failure ?: (r < 0 ? "out of memory" : NULL));
        return 0;
}

static int on_hook_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        OtaInstaller *i = userdata;

        (void) usec;
        if (!i->hook_terminated) {
                log_warning("The installer (pid %d) did not finish within %u s; terminating it",
                        (int) i->hook_pid, i->timeout_sec);
                i->hook_terminated = true;
                (void) kill(-i->hook_pid, SIGTERM);
                (void) event_timer_arm_relative(s, OTA_KILL_GRACE_USEC);
        } else {
                log_warning("The installer (pid %d) ignored SIGTERM; killing it", (int) i->hook_pid);
                (void) kill(-i->hook_pid, SIGKILL);
        }
        return 0;
}

static int run_hook(OtaInstaller *i, sd_event *event, const OtaInstallRequest *req, char **ret_failure)
{
        const AlinkOtaFirmware *fw = req->fw;
        _cleanup_(freep) char *e_file = NULL, *e_version = NULL, *e_method = NULL, *e_sign = NULL,
                              *e_size = NULL, *e_module = NULL, *e_diff = NULL, *e_extra = NULL;
        int r;

        if (!req->installer)
                return failed(ret_failure, "no installer is configured ([ota] installer)");
        /* Built from scratch: the daemon's environment may name CREDENTIALS_DIRECTORY and the like. */
        if (asprintf(&e_file, "ALI_LINKD_OTA_FILE=%s", req->image_path) < 0 ||
                asprintf(&e_version, "ALI_LINKD_OTA_VERSION=%s", fw->version) < 0 ||
                asprintf(&e_method, "ALI_LINKD_OTA_SIGN_METHOD=%s",
                        digest_method_to_string(fw->sign_method)) < 0 ||
                asprintf(&e_sign, "ALI_LINKD_OTA_SIGN=%s", fw->sign) < 0 ||
                asprintf(&e_size, "ALI_LINKD_OTA_SIZE=%" PRIu64, fw->size) < 0 ||
                asprintf(&e_module, "ALI_LINKD_OTA_MODULE=%s", fw->module ?: "default") < 0 ||
                asprintf(&e_diff, "ALI_LINKD_OTA_DIFF=%d", fw->is_diff) < 0 ||
                (fw->extra && asprintf(&e_extra, "ALI_LINKD_OTA_EXTRA=%s", fw->extra) < 0))
                return log_oom();
        char *argv[] = {(char *) req->installer, i->image_path, NULL};
        char *envp[] = {(char *) OTA_CHILD_PATH, e_file, e_version, e_method, e_sign, e_size, e_module,
                e_diff, e_extra, NULL};

        r = spawn_child(argv, envp, /* stdout_fd= */ -1, &i->hook_pid);
        if (r < 0)
                return failed(
                        ret_failure, "cannot start the installer %s: %s", req->installer, strerror(-r));
        log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Running the installer %s %s (pid %d, timeout %u s)",
                req->installer, i->image_path, (int) i->hook_pid, i->timeout_sec);
        r = sd_event_add_child(event, &i->hook_source, i->hook_pid, WEXITED, on_hook_exit, i);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &i->timer, CLOCK_MONOTONIC,
                        (uint64_t) i->timeout_sec * USEC_PER_SEC, 0, on_hook_timeout, i);
        if (r < 0) {
                log_error_errno(r, "Cannot watch the installer: %m");
                (void) kill(-i->hook_pid, SIGKILL);
                i->hook_pid = 0;
                *ret_failure = strdup("cannot watch the installer");
                return r;
        }
        return 0;
}

/* ---- the root side: <install_unit>@ID.service (ali-linkd(8), FIRMWARE INSTALLATION) ---- */

static bool manifest_value_ok(const char *v)
{
        return !isempty(v) && alnum_or_chars(v, "_.:+~-");
}

static void remove_request(OtaInstaller *i)
{
        static const char *const names[] = {"image", "manifest"};

        if (!i->request_dir)
                return;
        for (size_t k = 0; k < ELEMENTSOF(names); k++) {
                _cleanup_(freep) char *p = NULL;
                if (asprintf(&p, "%s/%s", i->request_dir, names[k]) >= 0 && unlink(p) < 0 && errno != ENOENT)
                        log_warning_errno(errno, "Cannot remove %s: %m", p);
        }
        if (rmdir(i->request_dir) < 0 && errno != ENOENT)
                log_warning_errno(errno, "Cannot remove %s: %m", i->request_dir);
        i->request_dir = mfree(i->request_dir);
}

static void on_unit_done(void *userdata, int error, const char *result, int exit_status, const char *message)
{
        OtaInstaller *i = userdata;
        _cleanup_(freep) char *failure = NULL;

        i->unit_running = false;
        i->timer = sd_event_source_disable_unref(i->timer);
        remove_request(i);
        if (error < 0)
                failure = strdup(message ?: strerror(-error));
        else if (!streq_ptr(result, "done") && exit_status <= 0 &&
                 asprintf(&failure, "the installer unit ended with \"%s\"%s%s", strna(result),
                         message ? ": " : "", strempty(message)) < 0)
                failure = NULL;
        log_debug("The installer unit finished: %s, exit status %d", strna(result), exit_status);
        i->done(i->userdata, error < 0 || failure ? -1 : exit_status, failure);
}

static int on_unit_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        OtaInstaller *i = userdata;
        _cleanup_(freep) char *why = NULL;

        (void) s;
        (void) usec;
        /* The unit has its own TimeoutStartSec=; we only stop waiting (polkit lets us start it, not stop
         * it). */
        if (i->host->forget_unit)
                i->host->forget_unit(i->host->userdata);
        i->unit_running = false;
        remove_request(i);
        if (asprintf(&why, "the installer unit did not finish within %u s", i->timeout_sec) < 0)
                why = NULL;
        i->done(i->userdata, -1, why ?: "timeout");
        return 0;
}

/* Leave the verified image and a manifest in the state directory and ask systemd (through the host: over
 * D-Bus, allowed by the polkit rule to the daemon's user for these units only) to start
 * <install_unit>@ID.service, which checks them again and runs the administrator's hook as root. */
static int hand_off(OtaInstaller *i, sd_event *event, const OtaInstallRequest *req, char **ret_failure)
{
        const AlinkOtaFirmware *fw = req->fw;
        _cleanup_(freep) char *base = NULL, *id = NULL, *image = NULL, *manifest = NULL, *unit = NULL,
                              *text = NULL;
        _cleanup_(fclosep) FILE *f = NULL;
        const char *method = digest_method_to_string(fw->sign_method), *module = fw->module ?: "default";
        int r;

        if (!manifest_value_ok(fw->version) || !manifest_value_ok(module) || !manifest_value_ok(fw->sign))
                return failed(ret_failure,
                        "the version or module has characters the installer does not take "
                        "(A-Z a-z 0-9 _ . : + ~ -)");

        /* An id of the version and the time: a fresh unit instance for every request. */
        if (asprintf(&id, "fw-%s-%llu", fw->version, (unsigned long long) time(NULL)) < 0)
                return log_oom();
        for (char *p = id; *p; p++)
                if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-", *p))
                        *p = '_';
        if (asprintf(&base, "%s/install", req->state_directory) < 0 ||
                asprintf(&i->request_dir, "%s/%s", base, id) < 0 ||
                asprintf(&image, "%s/image", i->request_dir) < 0 ||
                asprintf(&manifest, "%s/manifest", i->request_dir) < 0 ||
                asprintf(&unit, "%s@%s.service", req->install_unit, id) < 0)
                return log_oom();
        if ((mkdir(base, 0750) < 0 && errno != EEXIST) || mkdir(i->request_dir, 0750) < 0) {
                r = failed(ret_failure, "cannot make %s: %s", i->request_dir, strerror(errno));
                i->request_dir = mfree(i->request_dir);
                return r;
        }
        /* Same file system as the download (the state directory by default): a rename, no copy. */
        if (rename(req->image_path, image) < 0) {
                r = failed(ret_failure, "cannot move the image to %s: %s%s", image, strerror(errno),
                        errno == EXDEV ? " (download_dir must be on the state directory's file system)"
                                       : "");
                remove_request(i);
                return r;
        }
        if (asprintf(&text,
                    "ALI_LINKD_OTA_VERSION=%s\nALI_LINKD_OTA_MODULE=%s\nALI_LINKD_OTA_SIZE=%" PRIu64
                    "\nALI_LINKD_OTA_SIGN_METHOD=%s\nALI_LINKD_OTA_SIGN=%s\nALI_LINKD_OTA_DIFF=%d\n",
                    fw->version, module, fw->size, method, fw->sign, fw->is_diff) < 0)
                return log_oom();
        f = fopen(manifest, "wxe");
        if (!f || fputs(text, f) < 0 || fflush(f) != 0 || fsync(fileno(f)) < 0 ||
                fsync_directory_of(manifest) < 0) {
                r = failed(ret_failure, "cannot write %s: %s", manifest, strerror(errno));
                remove_request(i);
                return r;
        }

        r = i->host->start_unit ? i->host->start_unit(i->host->userdata, unit, on_unit_done, i) : -ENOTCONN;
        if (r < 0) {
                remove_request(i);
                return failed(ret_failure, "%s",
                        r == -ENOTCONN ? "no system bus to reach systemd on"
                                       : "cannot ask systemd to start the installer");
        }
        i->unit_running = true;
        log_struct(LOG_INFO, ALI_MESSAGE_OTA, "Handing firmware %s to %s (timeout %u s)", fw->version, unit,
                i->timeout_sec);
        r = sd_event_add_time_relative(event, &i->timer, CLOCK_MONOTONIC,
                (uint64_t) i->timeout_sec * USEC_PER_SEC, 0, on_unit_timeout, i);
        if (r < 0)
                log_warning_errno(r, "Cannot arm the installer timeout, ignoring: %m");
        return 0;
}

int ota_installer_start(OtaInstaller **ret, sd_event *event, const OtaInstallRequest *req,
        const OtaHost *host, OtaInstallerDoneFn done, void *userdata, char **ret_failure)
{
        _cleanup_(ota_installer_freep) OtaInstaller *i = NULL;
        int r;

        *ret_failure = NULL;
        i = calloc(1, sizeof(*i));
        if (!i)
                return -ENOMEM;
        i->host = host;
        i->timeout_sec = req->timeout_sec;
        i->done = done;
        i->userdata = userdata;
        i->image_path = strdup(req->image_path);
        if (!i->image_path)
                return -ENOMEM;

        r = req->install_unit ? hand_off(i, event, req, ret_failure) : run_hook(i, event, req, ret_failure);
        if (r != 0)
                return r;
        *ret = TAKE_PTR(i);
        return 0;
}
