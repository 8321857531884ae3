/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ota-version.c: reading the running firmware version from a file or a command. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alink.h"
#include "log.h"
#include "ota-version.h"
#include "spawn.h"
#include "string-util.h"

struct OtaVersionCommand {
        char *command;
        pid_t pid;
        int fd;
        sd_event_source *child, *io, *timer;
        char *output;
        size_t output_len;
        int status; /* -1 while the command runs */
        OtaVersionDoneFn done;
        void *userdata;
};

char *ota_version_from_text(const char *text, size_t len, const char *source)
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

char *ota_version_read_file(const char *path)
{
        _cleanup_(closep) int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        char buf[OTA_VERSION_MAX_OUTPUT];
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof(buf)) : -1;

        if (n < 0) {
                log_warning_errno(errno, "Cannot read the firmware version from %s: %m", path);
                return NULL;
        }
        return ota_version_from_text(buf, (size_t) n, path);
}

OtaVersionCommand *ota_version_command_free(OtaVersionCommand *c)
{
        if (!c)
                return NULL;
        if (c->pid > 0)
                (void) kill(-c->pid, SIGKILL);
        sd_event_source_disable_unref(c->child);
        sd_event_source_disable_unref(c->io);
        sd_event_source_disable_unref(c->timer);
        if (c->fd >= 0)
                (void) close(c->fd);
        free(c->output);
        free(c->command);
        free(c);
        return NULL;
}

static void version_command_finish(OtaVersionCommand *c)
{
        _cleanup_(freep) char *source = NULL;
        char *v = NULL;

        /* Both the exit and the end of the output are needed. */
        if (c->status < 0 || c->io)
                return;
        c->timer = sd_event_source_disable_unref(c->timer);
        if (asprintf(&source, "[ota] version_command %s", c->command) < 0)
                source = NULL;
        if (c->status != 0)
                log_warning("%s failed (status %d)", strna(source), c->status);
        else
                v = ota_version_from_text(c->output, c->output_len, strna(source));
        c->output = mfree(c->output);
        c->done(c->userdata, v);
}

static int on_version_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        OtaVersionCommand *c = userdata;
        char buf[OTA_VERSION_MAX_OUTPUT];
        ssize_t n;

        (void) s;
        (void) revents;
        n = read(fd, buf, sizeof(buf));
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
                return 0;
        if (n > 0) {
                /* Keep the first OTA_VERSION_MAX_OUTPUT bytes; drain the rest. */
                size_t take = MIN((size_t) n, OTA_VERSION_MAX_OUTPUT - c->output_len);
                memcpy(c->output + c->output_len, buf, take);
                c->output_len += take;
                return 0;
        }
        c->io = sd_event_source_disable_unref(c->io);
        (void) close(c->fd);
        c->fd = -1;
        version_command_finish(c);
        return 0;
}

static int on_version_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        OtaVersionCommand *c = userdata;

        (void) s;
        c->child = sd_event_source_disable_unref(c->child);
        c->pid = 0;
        c->status = si->si_code == CLD_EXITED ? si->si_status : 128 + si->si_status;
        version_command_finish(c);
        return 0;
}

static int on_version_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
        OtaVersionCommand *c = userdata;

        (void) s;
        (void) usec;
        log_warning("[ota] version_command did not finish within %" PRIu64 " s; killing it",
                OTA_VERSION_COMMAND_TIMEOUT_USEC / USEC_PER_SEC);
        if (c->pid > 0)
                (void) kill(-c->pid, SIGKILL);
        return 0;
}

int ota_version_command_start(
        OtaVersionCommand **ret, sd_event *event, const char *command, OtaVersionDoneFn done, void *userdata)
{
        _cleanup_(ota_version_command_freep) OtaVersionCommand *c = NULL;
        _cleanup_(strv_freep) char **argv = NULL;
        int pipefd[2] = {-1, -1}, r;

        c = calloc(1, sizeof(*c));
        if (!c)
                return log_oom();
        c->fd = -1;
        c->status = -1;
        c->done = done;
        c->userdata = userdata;
        if (!(c->command = strdup(command)) || strv_split(command, " \t", &argv) < 0 ||
                !(c->output = malloc(OTA_VERSION_MAX_OUTPUT)))
                return log_oom();
        if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
                return log_warning_errno(errno, "Cannot run [ota] version_command: %m");
        char *envp[] = {(char *) OTA_CHILD_PATH, NULL};
        r = spawn_child(argv, envp, pipefd[1], &c->pid);
        (void) close(pipefd[1]);
        c->fd = pipefd[0];
        if (r >= 0)
                r = sd_event_add_child(event, &c->child, c->pid, WEXITED, on_version_exit, c);
        if (r >= 0)
                r = sd_event_add_io(event, &c->io, c->fd, EPOLLIN, on_version_output, c);
        if (r >= 0)
                r = sd_event_add_time_relative(event, &c->timer, CLOCK_MONOTONIC,
                        OTA_VERSION_COMMAND_TIMEOUT_USEC, 0, on_version_timeout, c);
        if (r < 0)
                return log_warning_errno(r, "Cannot run [ota] version_command: %m");
        log_debug("Running [ota] version_command (pid %d)", (int) c->pid);
        *ret = TAKE_PTR(c);
        return 0;
}
