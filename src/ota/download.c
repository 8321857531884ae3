/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* download.c: libcurl multi socket API on sd-event. The pattern is systemd's curl-util.c: curl tells which
 * sockets to watch and when to wake it; every event is handed back with curl_multi_socket_action(), and
 * finished transfers are collected with curl_multi_info_read(). */
#include <curl/curl.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <stdio.h>
#include <strings.h>
#include <time.h>

#include "download.h"
#include "event-util.h"
#include "log.h"
#include "string-util.h"

/* libcurl is not linked: each Downloader loads it with dlopen() and unloads it when freed. Debian's libcurl
 * brings two dozen libraries with it (GnuTLS through librtmp, Kerberos, LDAP, SSH, IDN, ...); mapped and
 * relocated at every start they would cost a daemon that downloads only when an update comes megabytes
 * of resident memory and most of its start-up time (measured in bench/bounds.md). The SONAME has been
 * libcurl.so.4 since 2006. The functions are called through this table, never by name: the names are
 * macros in curl.h's type checks. */
#define LIBCURL_SONAME "libcurl.so.4"
/* clang-format off */
#define CURL_FUNCTIONS(X) \
        X(global_init) X(global_cleanup) \
        X(multi_init) X(multi_cleanup) X(multi_setopt) X(multi_socket_action) X(multi_assign) \
        X(multi_add_handle) X(multi_remove_handle) X(multi_info_read) \
        X(easy_init) X(easy_cleanup) X(easy_setopt) X(easy_getinfo) X(easy_strerror)
/* clang-format on */

typedef struct CurlApi {
        void *handle;
#define CURL_FIELD(f) typeof(curl_##f) *f;
        CURL_FUNCTIONS(CURL_FIELD)
#undef CURL_FIELD
} CurlApi;

static int curl_api_load(CurlApi *api)
{
        void *h = dlopen(LIBCURL_SONAME, RTLD_NOW | RTLD_LOCAL);

        if (!h)
                return log_error_errno(
                        EOPNOTSUPP, "Cannot load %s for downloads: %s", LIBCURL_SONAME, dlerror());
#define CURL_RESOLVE(f)                                                                                     \
        if (!(api->f = (typeof(curl_##f) *) dlsym(h, "curl_" #f))) {                                        \
                log_error("Cannot load %s for downloads: it has no curl_" #f "()", LIBCURL_SONAME);         \
                (void) dlclose(h);                                                                          \
                return -EOPNOTSUPP;                                                                         \
        }
        CURL_FUNCTIONS(CURL_RESOLVE)
#undef CURL_RESOLVE
        api->handle = h;
        return 0;
}

/* One watched socket; kept in a list so the Downloader can release what curl did not remove. */
typedef struct DownloadSocket {
        sd_event_source *source;
        struct DownloadSocket *next;
} DownloadSocket;

struct Downloader {
        CurlApi api;
        bool global_init;
        sd_event *event;
        CURLM *multi;
        sd_event_source *timer;
        DownloadSocket *sockets;
};

struct Download {
        Downloader *downloader;
        const CurlApi *api; /* the Downloader's, which outlives its Downloads */
        CURL *easy;
        DownloadHandlers handlers;
        void *userdata;
        uint64_t offset, size; /* as requested */
        uint64_t base;         /* where the body starts: offset after a 206, 0 after a 200 */
        uint64_t received;
        bool begun;
        int abort_result; /* why a callback stopped the transfer */
        char *abort_message;
        char *content_range; /* the response's Content-Range header, if any */
        char error[CURL_ERROR_SIZE];
};

/* ---- the glue ---- */

static void downloader_check_finished(Downloader *dl);

static int on_socket_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
        Downloader *dl = userdata;
        int action = 0, running = 0;

        (void) s;
        if (revents & (EPOLLIN | EPOLLPRI | EPOLLHUP))
                action |= CURL_CSELECT_IN;
        if (revents & EPOLLOUT)
                action |= CURL_CSELECT_OUT;
        if (revents & EPOLLERR)
                action |= CURL_CSELECT_ERR;
        if (dl->api.multi_socket_action(dl->multi, fd, action, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed on fd %d", fd);
        downloader_check_finished(dl);
        return 0;
}

static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userdata, void *socketp)
{
        Downloader *dl = userdata;
        DownloadSocket *ds = socketp;
        uint32_t events = 0;
        int r;

        (void) easy;
        if (what == CURL_POLL_REMOVE) {
                if (!ds)
                        return 0;
                for (DownloadSocket **p = &dl->sockets; *p; p = &(*p)->next)
                        if (*p == ds) {
                                *p = ds->next;
                                break;
                        }
                sd_event_source_disable_unref(ds->source);
                free(ds);
                (void) dl->api.multi_assign(dl->multi, fd, NULL);
                return 0;
        }

        if (what == CURL_POLL_IN || what == CURL_POLL_INOUT)
                events |= EPOLLIN;
        if (what == CURL_POLL_OUT || what == CURL_POLL_INOUT)
                events |= EPOLLOUT;

        if (ds)
                return sd_event_source_set_io_events(ds->source, events) < 0 ? -1 : 0;

        ds = calloc(1, sizeof(*ds));
        if (!ds)
                return -1;
        r = sd_event_add_io(dl->event, &ds->source, fd, events, on_socket_io, dl);
        if (r < 0) {
                free(ds);
                return -1;
        }
        (void) sd_event_source_set_description(ds->source, "download-socket");
        ds->next = dl->sockets;
        dl->sockets = ds;
        if (dl->api.multi_assign(dl->multi, fd, ds) != CURLM_OK)
                return -1;
        return 0;
}

static int on_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
        Downloader *dl = userdata;
        int running = 0;

        (void) s;
        (void) usec;
        if (dl->api.multi_socket_action(dl->multi, CURL_SOCKET_TIMEOUT, 0, &running) != CURLM_OK)
                log_debug("curl_multi_socket_action() failed on the timer");
        downloader_check_finished(dl);
        return 0;
}

static int on_curl_timer(CURLM *multi, long timeout_ms, void *userdata)
{
        Downloader *dl = userdata;
        uint64_t now = 0, when;

        (void) multi;
        if (timeout_ms < 0)
                return sd_event_source_set_enabled(dl->timer, SD_EVENT_OFF) < 0 ? -1 : 0;
        if (sd_event_now(dl->event, CLOCK_MONOTONIC, &now) < 0)
                return -1;
        /* Round up, so curl is not woken a hair early and asks again. */
        when = now + (uint64_t) timeout_ms * USEC_PER_MSEC + USEC_PER_MSEC - 1;
        return event_timer_arm(dl->timer, when) < 0 ? -1 : 0;
}

int downloader_new(Downloader **ret, sd_event *event)
{
        _cleanup_(downloader_freep) Downloader *dl = NULL;
        int r;

        dl = calloc(1, sizeof(*dl));
        if (!dl)
                return -ENOMEM;
        dl->event = sd_event_ref(event);
        r = curl_api_load(&dl->api);
        if (r < 0)
                return r;
        if (dl->api.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return -EIO;
        dl->global_init = true;
        dl->multi = dl->api.multi_init();
        if (!dl->multi)
                return -ENOMEM;
        r = sd_event_add_time(event, &dl->timer, CLOCK_MONOTONIC, UINT64_MAX, 0, on_timer, dl);
        if (r < 0)
                return r;
        (void) sd_event_source_set_enabled(dl->timer, SD_EVENT_OFF);
        (void) sd_event_source_set_description(dl->timer, "download-timer");

        if (dl->api.multi_setopt(dl->multi, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
                dl->api.multi_setopt(dl->multi, CURLMOPT_SOCKETDATA, dl) != CURLM_OK ||
                dl->api.multi_setopt(dl->multi, CURLMOPT_TIMERFUNCTION, on_curl_timer) != CURLM_OK ||
                dl->api.multi_setopt(dl->multi, CURLMOPT_TIMERDATA, dl) != CURLM_OK)
                return -EIO;
        *ret = TAKE_PTR(dl);
        return 0;
}

Downloader *downloader_free(Downloader *dl)
{
        if (!dl)
                return NULL;
        if (dl->multi)
                dl->api.multi_cleanup(dl->multi);
        while (dl->sockets) {
                DownloadSocket *ds = dl->sockets;
                dl->sockets = ds->next;
                sd_event_source_disable_unref(ds->source);
                free(ds);
        }
        sd_event_source_disable_unref(dl->timer);
        sd_event_unref(dl->event);
        if (dl->global_init)
                dl->api.global_cleanup();
        if (dl->api.handle)
                (void) dlclose(dl->api.handle);
        free(dl);
        return NULL;
}

/* ---- one transfer ---- */

static size_t abort_with(Download *d, int result, const char *format, ...) _printf_(3, 4);
static size_t abort_with(Download *d, int result, const char *format, ...)
{
        va_list ap;

        d->abort_result = result;
        free(d->abort_message);
        va_start(ap, format);
        if (vasprintf(&d->abort_message, format, ap) < 0)
                d->abort_message = NULL;
        va_end(ap);
#ifdef CURL_WRITEFUNC_ERROR
        return CURL_WRITEFUNC_ERROR;
#else
        return 0xFFFFFFFF;
#endif
}

static size_t on_header(char *buf, size_t size, size_t n, void *userdata)
{
        Download *d = userdata;
        size_t len = size * n;
        const char *name = "content-range:";
        size_t nl = strlen(name);

        /* A new response (after a redirect) starts over. */
        if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0)
                d->content_range = mfree(d->content_range);
        else if (len > nl && strncasecmp(buf, name, nl) == 0) {
                const char *v = buf + nl;
                size_t vl = len - nl;
                while (vl > 0 && (*v == ' ' || *v == '\t'))
                        v++, vl--;
                while (vl > 0 && strchr(" \t\r\n", v[vl - 1]))
                        vl--;
                free(d->content_range);
                d->content_range = strndup(v, MIN(vl, (size_t) 256));
        }
        return len;
}

/* "bytes START-END/TOTAL" (RFC 9110 §14.4); TOTAL may be "*". */
static int parse_content_range(const char *s, uint64_t *ret_start, uint64_t *ret_end, uint64_t *ret_total)
{
        unsigned long long a, b;
        char total[32];

        if (!s || sscanf(s, "bytes %llu-%llu/%31s", &a, &b, total) != 3 || b < a)
                return -EINVAL;
        *ret_start = a;
        *ret_end = b;
        if (streq(total, "*"))
                *ret_total = UINT64_MAX;
        else if (safe_atou64_range(total, 1, UINT64_MAX, ret_total) < 0)
                return -EINVAL;
        return 0;
}

/* The first body bytes: decide where they start and check the server's idea of the size. */
static size_t download_begin(Download *d)
{
        long status = 0;
        curl_off_t length = -1;
        int r;

        (void) d->api->easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
        (void) d->api->easy_getinfo(d->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);

        if (status == 206) {
                uint64_t start, end, total;

                if (parse_content_range(d->content_range, &start, &end, &total) < 0)
                        return abort_with(d, DOWNLOAD_E_SIZE,
                                "206 response with an unreadable Content-Range \"%s\"",
                                strna(d->content_range));
                if (start != d->offset)
                        return abort_with(d, DOWNLOAD_E_SIZE,
                                "asked for bytes from %" PRIu64 ", got %" PRIu64, d->offset, start);
                if ((total != UINT64_MAX && total != d->size) || end >= d->size)
                        return abort_with(d, DOWNLOAD_E_SIZE,
                                "the server's file has %s bytes, expected %" PRIu64, d->content_range,
                                d->size);
                d->base = d->offset;
        } else if (status == 200) {
                if (length >= 0 && (uint64_t) length != d->size)
                        return abort_with(d, DOWNLOAD_E_SIZE,
                                "the server's file has %" PRId64 " bytes, expected %" PRIu64,
                                (int64_t) length, d->size);
                d->base = 0;
                if (d->offset > 0)
                        log_debug("The server ignored the range request and sends the whole file");
        } else
                return abort_with(d, DOWNLOAD_E_HTTP, "unexpected HTTP status %ld", status);

        d->begun = true;
        if (d->handlers.begin) {
                r = d->handlers.begin(d, d->base, d->userdata);
                if (r < 0)
                        return abort_with(d, DOWNLOAD_E_ABORTED, "%s", strerror(-r));
        }
        return 0;
}

static size_t on_write(char *buf, size_t size, size_t n, void *userdata)
{
        Download *d = userdata;
        size_t len = size * n, r;
        int k;

        if (!d->begun) {
                r = download_begin(d);
                if (r != 0)
                        return r;
        }
        if (d->base + d->received + len > d->size)
                return abort_with(d, DOWNLOAD_E_SIZE,
                        "the server sent more than the expected %" PRIu64 " bytes", d->size);
        if (d->handlers.data) {
                k = d->handlers.data(d, buf, len, d->userdata);
                if (k < 0)
                        return abort_with(d, DOWNLOAD_E_ABORTED, "%s", strerror(-k));
        }
        d->received += len;
        return len;
}

static int on_debug(CURL *easy, curl_infotype type, char *data, size_t size, void *userdata)
{
        (void) easy;
        (void) userdata;
        /* Text and headers only, never the body; trailing newlines trimmed. */
        if (type != CURLINFO_TEXT && type != CURLINFO_HEADER_IN && type != CURLINFO_HEADER_OUT)
                return 0;
        if (type == CURLINFO_HEADER_OUT) {
                /* The request: log its first line and the Range header, which is what matters here. */
                const char *range = NULL;
                for (size_t i = 0; i + 6 < size; i++)
                        if ((i == 0 || data[i - 1] == '\n') && strncasecmp(data + i, "Range:", 6) == 0) {
                                range = data + i;
                                break;
                        }
                log_debug("curl: > %.*s%s%.*s", (int) strcspn(data, "\r\n"), data, range ? ", " : "",
                        range ? (int) strcspn(range, "\r\n") : 0, range ? range : "");
                return 0;
        }
        while (size > 0 && (data[size - 1] == '\n' || data[size - 1] == '\r'))
                size--;
        if (size > 0)
                log_debug("curl: %s%.*s", type == CURLINFO_HEADER_IN ? "< " : "",
                        (int) MIN(size, (size_t) 512), data);
        return 0;
}

static int download_setup(Download *d, const DownloadRequest *req)
{
        const char *protocols = req->allow_http ? "http,https" : "https";
        char range[64];
        CURL *e = d->easy;

#define SET(opt, val)                                                                                       \
        do {                                                                                                \
                if (d->api->easy_setopt(e, opt, val) != CURLE_OK)                                           \
                        return -EIO;                                                                        \
        } while (0)

        SET(CURLOPT_URL, req->url);
        SET(CURLOPT_PRIVATE, d);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_ERRORBUFFER, d->error);
        SET(CURLOPT_WRITEFUNCTION, on_write);
        SET(CURLOPT_WRITEDATA, d);
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_HEADERDATA, d);
        if (log_get_max_level() >= LOG_DEBUG) {
                SET(CURLOPT_DEBUGFUNCTION, on_debug);
                SET(CURLOPT_VERBOSE, 1L);
        }
        SET(CURLOPT_USERAGENT, req->user_agent ?: "ali-linkd");

        /* TLS: always verify the peer and its name. */
        SET(CURLOPT_SSL_VERIFYPEER, 1L);
        SET(CURLOPT_SSL_VERIFYHOST, 2L);
        if (req->ca_file)
                SET(CURLOPT_CAINFO, req->ca_file);

#if LIBCURL_VERSION_NUM >= 0x075500
        SET(CURLOPT_PROTOCOLS_STR, protocols);
        SET(CURLOPT_REDIR_PROTOCOLS_STR, protocols);
#else
        SET(CURLOPT_PROTOCOLS,
                req->allow_http ? (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS) : (long) CURLPROTO_HTTPS);
        SET(CURLOPT_REDIR_PROTOCOLS,
                req->allow_http ? (long) (CURLPROTO_HTTP | CURLPROTO_HTTPS) : (long) CURLPROTO_HTTPS);
        (void) protocols;
#endif
        SET(CURLOPT_FOLLOWLOCATION, 1L);
        SET(CURLOPT_MAXREDIRS, 5L);
        SET(CURLOPT_FAILONERROR, 1L);

        SET(CURLOPT_CONNECTTIMEOUT, (long) (req->connect_timeout_sec ?: 30));
        SET(CURLOPT_LOW_SPEED_LIMIT, 1024L);
        SET(CURLOPT_LOW_SPEED_TIME, (long) (req->stall_timeout_sec ?: 60));
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t) req->size);
        /* The image is binary: no content decoding, so the bytes hashed are the bytes served. */
        SET(CURLOPT_HTTP_CONTENT_DECODING, 0L);

        if (req->offset > 0) {
                (void) snprintf(range, sizeof(range), "%" PRIu64 "-", req->offset);
                SET(CURLOPT_RANGE, range);
        }
#undef SET
        return 0;
}

int download_start(Downloader *dl, const DownloadRequest *req, const DownloadHandlers *handlers,
        void *userdata, Download **ret)
{
        _cleanup_(download_freep) Download *d = NULL;
        int r;

        if (!req->url || req->size == 0 || req->offset >= req->size)
                return -EINVAL;
        d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->handlers = *handlers;
        d->userdata = userdata;
        d->offset = req->offset;
        d->size = req->size;
        d->api = &dl->api;
        d->easy = dl->api.easy_init();
        if (!d->easy)
                return -ENOMEM;
        r = download_setup(d, req);
        if (r < 0)
                return r;
        if (dl->api.multi_add_handle(dl->multi, d->easy) != CURLM_OK)
                return -EIO;
        d->downloader = dl;
        *ret = TAKE_PTR(d);
        return 0;
}

Download *download_free(Download *d)
{
        if (!d)
                return NULL;
        if (d->downloader) {
                (void) d->api->multi_remove_handle(d->downloader->multi, d->easy);
        }
        if (d->easy)
                d->api->easy_cleanup(d->easy);
        free(d->abort_message);
        free(d->content_range);
        free(d);
        return NULL;
}

long download_get_http_status(const Download *d)
{
        long status = 0;

        (void) d->api->easy_getinfo(d->easy, CURLINFO_RESPONSE_CODE, &status);
        return status;
}

static void download_done(Download *d, CURLcode c)
{
        _cleanup_(freep) char *message = NULL;
        long status = download_get_http_status(d);
        int result;

        /* Out of the multi handle first: the handler may free d or start another transfer. */
        (void) d->api->multi_remove_handle(d->downloader->multi, d->easy);
        d->downloader = NULL;

        switch (c) {
        case CURLE_OK:
                if (status != 200 && status != 206) {
                        result = DOWNLOAD_E_HTTP;
                        if (asprintf(&message, "unexpected HTTP status %ld", status) < 0)
                                message = NULL;
                } else if (d->base + d->received < d->size) {
                        result = DOWNLOAD_E_TRANSFER;
                        if (asprintf(&message, "the transfer ended at byte %" PRIu64 " of %" PRIu64,
                                    d->base + d->received, d->size) < 0)
                                message = NULL;
                } else
                        result = 0;
                break;
        case CURLE_WRITE_ERROR:
                result = d->abort_result ?: DOWNLOAD_E_ABORTED;
                message = TAKE_PTR(d->abort_message);
                break;
        case CURLE_HTTP_RETURNED_ERROR:
                result = DOWNLOAD_E_HTTP;
                if (asprintf(&message, "HTTP %ld", status) < 0)
                        message = NULL;
                break;
        case CURLE_FILESIZE_EXCEEDED:
                result = DOWNLOAD_E_SIZE;
                if (asprintf(&message, "the server's file is larger than the expected %" PRIu64 " bytes",
                            d->size) < 0)
                        message = NULL;
                break;
        case CURLE_UNSUPPORTED_PROTOCOL:
        case CURLE_URL_MALFORMAT:
        case CURLE_TOO_MANY_REDIRECTS:
                result = DOWNLOAD_E_URL;
                break;
        case CURLE_PEER_FAILED_VERIFICATION:
        case CURLE_SSL_CONNECT_ERROR:
        case CURLE_SSL_CERTPROBLEM:
        case CURLE_SSL_CIPHER:
        case CURLE_SSL_CACERT_BADFILE:
        case CURLE_SSL_ISSUER_ERROR:
        case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
        case CURLE_SSL_INVALIDCERTSTATUS:
                result = DOWNLOAD_E_TLS;
                break;
        case CURLE_OUT_OF_MEMORY:
                result = -ENOMEM;
                break;
        default:
                /* Could not resolve or connect, connection cut (PARTIAL_FILE, RECV_ERROR, GOT_NOTHING),
                 * stalled (OPERATION_TIMEDOUT): the next attempt resumes where this one stopped. */
                result = DOWNLOAD_E_TRANSFER;
        }
        if (!message && result != 0)
                if (asprintf(&message, "%s", d->error[0] ? d->error : d->api->easy_strerror(c)) < 0)
                        message = NULL;

        if (d->handlers.finished)
                d->handlers.finished(d, result, message, d->userdata);
}

static void downloader_check_finished(Downloader *dl)
{
        CURLMsg *msg;
        int left = 0;

        while ((msg = dl->api.multi_info_read(dl->multi, &left))) {
                Download *d = NULL;

                if (msg->msg != CURLMSG_DONE)
                        continue;
                if (dl->api.easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **) &d) != CURLE_OK || !d)
                        continue;
                download_done(d, msg->data.result);
        }
}
