/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* download.c: one download helper per transfer, watched from the loop. The pattern is systemd-importd's
 * (importd.c runs systemd-pull as a child, reads its output on an io source and its exit on a child
 * source); the frames are fetch-protocol.h's. Nothing here blocks: the request fits in the pipe before the
 * helper starts, the body is read as it comes, the helper's exit is reaped by sd-event. */
#include <fcntl.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "download.h"
#include "fetch-protocol.h"
#include "log.h"
#include "spawn.h"
#include "string-util.h"

/* The pipe the body comes through: large enough that the helper rarely waits for the daemon's loop. */
#define DOWNLOAD_PIPE_SIZE (1024 * 1024)
/* Reads per io event: the body must not starve MQTT keepalive and property sets. */
#define DOWNLOAD_READS_PER_EVENT 8

struct Downloader {
        sd_event *event;
        char *fetch_path;
};

struct Download {
        Downloader *downloader;
        DownloadHandlers handlers;
        void *userdata;
        uint64_t offset, size; /* as requested */
        uint64_t base;         /* where the body starts: offset after a 206, 0 after a 200 */
        uint64_t received;
        long http_status;

        pid_t pid;
        sd_event_source *child_source, *io_source, *watchdog;
        int fd; /* the helper's stdout */
        uint64_t watchdog_usec, last_activity;
        bool begun, ended, eof, exited;
        siginfo_t exit_info;

        /* The frame parser. */
        FetchFrameHeader header;
        size_t header_have;
        uint32_t frame_left;                                     /* DATA bytes still to come */
        uint8_t small[sizeof(FetchEnd) + FETCH_MAX_MESSAGE + 1]; /* a BEGIN or END frame */
        size_t small_have;
        uint8_t *buf;

        /* The outcome. */
        int end_result; /* what the helper said */
        char *end_message;
        int failure; /* what the daemon saw go wrong; wins over end_result */
        char *failure_message;
};

int downloader_new(Downloader **ret, sd_event *event)
{
        const char *path = secure_getenv("ALI_LINKD_FETCH") ?: DOWNLOAD_FETCH_PATH;
        Downloader *dl;

        if (path[0] != '/')
                return log_error_errno(EINVAL, "The download helper %s is not an absolute path", path);
        if (access(path, X_OK) < 0)
                return log_error_errno(errno, "Cannot run the download helper %s: %m", path);
        dl = calloc(1, sizeof(*dl));
        if (!dl)
                return -ENOMEM;
        dl->fetch_path = strdup(path);
        if (!dl->fetch_path) {
                free(dl);
                return -ENOMEM;
        }
        dl->event = sd_event_ref(event);
        *ret = dl;
        return 0;
}

Downloader *downloader_free(Downloader *dl)
{
        if (!dl)
                return NULL;
        sd_event_unref(dl->event);
        free(dl->fetch_path);
        free(dl);
        return NULL;
}

/* ---- the outcome ---- */

static void download_kill(Download *d)
{
        if (d->child_source && !d->exited)
                (void) sd_event_source_send_child_signal(d->child_source, SIGKILL, NULL, 0);
}

static void download_stop_reading(Download *d)
{
        d->io_source = sd_event_source_disable_unref(d->io_source);
        if (d->fd >= 0)
                (void) close(d->fd);
        d->fd = -1;
        d->eof = true;
}

/* The daemon saw the transfer go wrong: the first reason counts, the helper goes. */
static void download_fail(Download *d, int result, const char *format, ...) _printf_(3, 4);
static void download_fail(Download *d, int result, const char *format, ...)
{
        va_list ap;

        if (d->failure == 0) {
                d->failure = result;
                va_start(ap, format);
                if (vasprintf(&d->failure_message, format, ap) < 0)
                        d->failure_message = NULL;
                va_end(ap);
        }
        download_stop_reading(d);
        download_kill(d);
}

static void download_maybe_finish(Download *d)
{
        _cleanup_(freep) char *message = NULL;
        int result;

        if (!d->eof || !d->exited)
                return;
        d->watchdog = sd_event_source_disable_unref(d->watchdog);

        if (d->failure != 0) {
                result = d->failure;
                message = TAKE_PTR(d->failure_message);
        } else if (!d->ended) {
                result = DOWNLOAD_E_TRANSFER;
                if (d->exit_info.si_code == CLD_EXITED) {
                        if (asprintf(&message, "the download helper exited with status %d without a result",
                                    d->exit_info.si_status) < 0)
                                message = NULL;
                } else if (asprintf(&message, "the download helper was killed by signal %s",
                                   strsignal(d->exit_info.si_status)) < 0)
                        message = NULL;
        } else if (d->end_result == 0 && d->base + d->received < d->size) {
                result = DOWNLOAD_E_TRANSFER;
                if (asprintf(&message, "the transfer ended at byte %" PRIu64 " of %" PRIu64,
                            d->base + d->received, d->size) < 0)
                        message = NULL;
        } else {
                result = d->end_result;
                message = TAKE_PTR(d->end_message);
        }
        if (!message && result != 0)
                message = strdup("out of memory");
        if (d->handlers.finished)
                d->handlers.finished(d, result, message, d->userdata); /* may free d */
}

/* ---- frames ---- */

static void on_begin(Download *d, const FetchBegin *b)
{
        int r;

        if (d->begun)
                return download_fail(d, DOWNLOAD_E_TRANSFER, "the download helper began twice");
        if (b->offset != d->offset && b->offset != 0)
                return download_fail(d, DOWNLOAD_E_TRANSFER,
                        "the download helper began at byte %" PRIu64 ", not %" PRIu64 " or 0", b->offset,
                        d->offset);
        d->begun = true;
        d->base = b->offset;
        d->http_status = b->http_status;
        if (d->handlers.begin) {
                r = d->handlers.begin(d, d->base, d->userdata);
                if (r < 0)
                        return download_fail(d, DOWNLOAD_E_ABORTED, "%s", strerror(-r));
        }
}

static void on_end(Download *d, const FetchEnd *e, const char *message, size_t len)
{
        d->ended = true;
        d->http_status = e->http_status;
        /* Anything but the results download.h defines is a transfer that failed. */
        d->end_result = e->result >= 0 && e->result <= DOWNLOAD_E_ABORTED ? e->result : DOWNLOAD_E_TRANSFER;
        free(d->end_message);
        d->end_message = len > 0 ? strndup(message, len) : NULL;
        if (d->end_message)
                for (char *p = d->end_message; *p; p++)
                        if ((unsigned char) *p < ' ')
                                *p = ' ';
}

static void on_data(Download *d, const uint8_t *p, size_t n)
{
        int r;

        if (!d->begun)
                return download_fail(
                        d, DOWNLOAD_E_TRANSFER, "the download helper sent data before it began");
        if (d->base + d->received + n > d->size)
                return download_fail(d, DOWNLOAD_E_SIZE,
                        "the server sent more than the expected %" PRIu64 " bytes", d->size);
        if (d->handlers.data) {
                r = d->handlers.data(d, p, n, d->userdata);
                if (r < 0)
                        return download_fail(d, DOWNLOAD_E_ABORTED, "%s", strerror(-r));
        }
        d->received += n;
}

/* A header is complete: check it. */
static void on_header(Download *d)
{
        FetchFrameHeader *h = &d->header;

        switch (h->type) {
        case FETCH_FRAME_BEGIN:
                if (h->length != sizeof(FetchBegin))
                        break;
                d->small_have = 0;
                return;
        case FETCH_FRAME_DATA:
                if (h->length == 0 || h->length > FETCH_MAX_DATA)
                        break;
                d->frame_left = h->length;
                return;
        case FETCH_FRAME_END:
                if (h->length < sizeof(FetchEnd) || h->length > sizeof(FetchEnd) + FETCH_MAX_MESSAGE)
                        break;
                d->small_have = 0;
                return;
        }
        download_fail(d, DOWNLOAD_E_TRANSFER,
                "the download helper sent a bad frame (type %" PRIu32 ", %" PRIu32 " bytes)", h->type,
                h->length);
}

/* Feeds n bytes from the helper through the parser. */
static void download_parse(Download *d, const uint8_t *p, size_t n)
{
        while (n > 0 && d->fd >= 0) {
                if (d->ended)
                        return download_fail(
                                d, DOWNLOAD_E_TRANSFER, "the download helper sent more after its result");
                if (d->header_have < sizeof(d->header)) {
                        size_t k = MIN(n, sizeof(d->header) - d->header_have);
                        memcpy((uint8_t *) &d->header + d->header_have, p, k);
                        d->header_have += k;
                        p += k;
                        n -= k;
                        if (d->header_have == sizeof(d->header))
                                on_header(d);
                        continue;
                }
                if (d->header.type == FETCH_FRAME_DATA) {
                        size_t k = MIN(n, (size_t) d->frame_left);
                        on_data(d, p, k);
                        p += k;
                        n -= k;
                        d->frame_left -= (uint32_t) k;
                        if (d->frame_left == 0)
                                d->header_have = 0;
                        continue;
                }
                size_t k = MIN(n, d->header.length - d->small_have);
                memcpy(d->small + d->small_have, p, k);
                d->small_have += k;
                p += k;
                n -= k;
                if (d->small_have < d->header.length)
                        continue;
                d->header_have = 0;
                if (d->header.type == FETCH_FRAME_BEGIN) {
                        FetchBegin b;
                        memcpy(&b, d->small, sizeof(b));
                        on_begin(d, &b);
                } else {
                        FetchEnd e;
                        memcpy(&e, d->small, sizeof(e));
                        on_end(d, &e, (const char *) d->small + sizeof(e), d->small_have - sizeof(e));
                }
        }
}

static int on_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Download *d = userdata;

        (void) s;
        (void) revents;
        for (int i = 0; i < DOWNLOAD_READS_PER_EVENT && d->fd >= 0; i++) {
                ssize_t n = read(fd, d->buf, DOWNLOAD_CHUNK);
                if (n < 0) {
                        if (errno == EAGAIN || errno == EINTR)
                                break;
                        download_fail(d, DOWNLOAD_E_TRANSFER, "cannot read from the download helper: %s",
                                strerror(errno));
                        break;
                }
                if (n == 0) {
                        if (d->header_have > 0 && !d->ended)
                                log_debug("The download helper's output ends inside a frame");
                        download_stop_reading(d);
                        break;
                }
                (void) sd_event_now(d->downloader->event, CLOCK_MONOTONIC, &d->last_activity);
                download_parse(d, d->buf, (size_t) n);
        }
        download_maybe_finish(d); /* may free d */
        return 0;
}

static int on_child_exit(sd_event_source *s, const siginfo_t *si, void *userdata)
{
        Download *d = userdata;

        (void) s;
        d->exited = true;
        d->exit_info = *si;
        log_debug("The download helper (pid %d) %s %d", (int) d->pid,
                si->si_code == CLD_EXITED ? "exited with status" : "was killed by signal", si->si_status);
        download_maybe_finish(d); /* may free d */
        return 0;
}

static int on_watchdog(sd_event_source *s, uint64_t usec, void *userdata)
{
        Download *d = userdata;

        if (usec < d->last_activity + d->watchdog_usec) {
                (void) sd_event_source_set_time(s, d->last_activity + d->watchdog_usec);
                (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
                return 0;
        }
        if (d->exited) {
                /* Exited, but someone else holds its stdout open: stop waiting for the end of it. */
                download_stop_reading(d);
                download_maybe_finish(d); /* may free d */
                return 0;
        }
        log_warning("The download helper (pid %d) sent nothing for %" PRIu64 " s; killing it", (int) d->pid,
                d->watchdog_usec / USEC_PER_SEC);
        download_fail(d, DOWNLOAD_E_TRANSFER, "the download helper sent nothing for %" PRIu64 " s",
                d->watchdog_usec / USEC_PER_SEC);
        (void) sd_event_source_set_time_relative(s, d->watchdog_usec);
        (void) sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
        return 0;
}

/* ---- starting one ---- */

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

static int request_json(const DownloadRequest *req, char **ret)
{
        _cleanup_(json_object_putp) json_object *o = json_object_new_object();
        const char *s;

        if (!o)
                return -ENOMEM;
#define ADD(k, v)                                                                                           \
        do {                                                                                                \
                json_object *_v_ = (v);                                                                     \
                if (!_v_ || json_object_object_add(o, k, _v_) < 0)                                          \
                        return -ENOMEM;                                                                     \
        } while (0)
        ADD("url", json_object_new_string(req->url));
        if (req->ca_file)
                ADD("ca_file", json_object_new_string(req->ca_file));
        ADD("allow_http", json_object_new_boolean(req->allow_http));
        ADD("offset", json_object_new_int64((int64_t) req->offset));
        ADD("size", json_object_new_int64((int64_t) req->size));
        ADD("connect_timeout", json_object_new_int64(req->connect_timeout_sec ?: 30));
        ADD("stall_timeout", json_object_new_int64(req->stall_timeout_sec ?: 60));
        ADD("user_agent", json_object_new_string(req->user_agent ?: "ali-linkd"));
        ADD("debug", json_object_new_boolean(log_get_max_level() >= LOG_DEBUG));
#undef ADD
        s = json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN);
        if (!s || !(*ret = strdup(s)))
                return -ENOMEM;
        return 0;
}

/* The request in a pipe, written whole before the helper starts (it is far smaller than a pipe's buffer:
 * the write cannot block); the read end for the helper's stdin. */
static int request_pipe(const DownloadRequest *req, int *ret_fd)
{
        _cleanup_(freep) char *text = NULL;
        int p[2], r;
        size_t len;

        r = request_json(req, &text);
        if (r < 0)
                return r;
        len = strlen(text);
        if (len > FETCH_MAX_REQUEST)
                return -E2BIG;
        if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0)
                return -errno;
        if (write(p[1], text, len) != (ssize_t) len) {
                r = errno ? -errno : -EIO;
                (void) close(p[0]);
                (void) close(p[1]);
                return r;
        }
        (void) close(p[1]);
        /* The helper reads its stdin blocking. */
        (void) fcntl(p[0], F_SETFL, 0);
        *ret_fd = p[0];
        return 0;
}

int download_start(Downloader *dl, const DownloadRequest *req, const DownloadHandlers *handlers,
        void *userdata, Download **ret)
{
        _cleanup_(download_freep) Download *d = NULL;
        _cleanup_(closep) int in_fd = -1, out_fd = -1;
        _cleanup_(freep) char *journal = NULL;
        const char *js = getenv("JOURNAL_STREAM");
        int p[2], r;

        if (!req->url || req->size == 0 || req->offset >= req->size)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->fd = -1;
        d->downloader = dl;
        d->handlers = *handlers;
        d->userdata = userdata;
        d->offset = req->offset;
        d->size = req->size;
        d->watchdog_usec = ((uint64_t) (req->connect_timeout_sec ?: 30) + (req->stall_timeout_sec ?: 60) +
                                   DOWNLOAD_GRACE_SEC) *
                           USEC_PER_SEC;
        d->buf = malloc(DOWNLOAD_CHUNK);
        if (!d->buf)
                return -ENOMEM;

        r = request_pipe(req, &in_fd);
        if (r < 0)
                return r;
        if (pipe2(p, O_CLOEXEC) < 0)
                return -errno;
        d->fd = p[0];
        out_fd = p[1];
        (void) fcntl(d->fd, F_SETFL, O_NONBLOCK);
        (void) fcntl(d->fd, F_SETPIPE_SZ, DOWNLOAD_PIPE_SIZE);

        /* The helper's stderr is the daemon's: it logs to the same place, the journal when that is where
         * stderr goes (log.c looks for JOURNAL_STREAM). Nothing else is passed on. */
        if (js && asprintf(&journal, "JOURNAL_STREAM=%s", js) < 0)
                return -ENOMEM;
        char *argv[] = {dl->fetch_path, NULL};
        char *envp[] = {journal, NULL};
        r = spawn_child_stdio(argv, envp, in_fd, out_fd, &d->pid);
        if (r < 0)
                return r;
        /* The helper holds them now; the pipe's end of file is its exit (or its closing stdout). */
        (void) close(TAKE_FD(in_fd));
        (void) close(TAKE_FD(out_fd));

        r = sd_event_add_child(dl->event, &d->child_source, d->pid, WEXITED, on_child_exit, d);
        if (r < 0) {
                (void) kill(d->pid, SIGKILL);
                (void) waitpid(d->pid, NULL, 0);
                return r;
        }
        /* Freeing the source kills the helper and reaps it: nothing of it outlives its Download. */
        (void) sd_event_source_set_child_process_own(d->child_source, true);
        (void) sd_event_source_set_description(d->child_source, "download-helper");
        (void) sd_event_source_set_priority(d->child_source, SD_EVENT_PRIORITY_NORMAL + 1);

        r = sd_event_add_io(dl->event, &d->io_source, d->fd, EPOLLIN, on_io, d);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(d->io_source, "download-pipe");
        (void) sd_event_now(dl->event, CLOCK_MONOTONIC, &d->last_activity);
        r = sd_event_add_time(dl->event, &d->watchdog, CLOCK_MONOTONIC, d->last_activity + d->watchdog_usec,
                USEC_PER_SEC, on_watchdog, d);
        if (r < 0)
                return r;
        (void) sd_event_source_set_description(d->watchdog, "download-watchdog");
        log_debug("Started the download helper %s (pid %d) from byte %" PRIu64, dl->fetch_path, (int) d->pid,
                req->offset);
        *ret = TAKE_PTR(d);
        return 0;
}

Download *download_free(Download *d)
{
        if (!d)
                return NULL;
        sd_event_source_disable_unref(d->io_source);
        sd_event_source_disable_unref(d->watchdog);
        /* Kills a helper still running and reaps it (set_child_process_own). */
        sd_event_source_disable_unref(d->child_source);
        if (d->fd >= 0)
                (void) close(d->fd);
        free(d->buf);
        free(d->end_message);
        free(d->failure_message);
        free(d);
        return NULL;
}

long download_get_http_status(const Download *d)
{
        return d->http_status;
}
