/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ali-linkd-fetch: the daemon's download helper. One HTTP(S) transfer per run, with libcurl: the request on
 * stdin, the body and the outcome as frames on stdout (src/ota/fetch-protocol.h), nothing else.
 *
 * It is the only program of the project that links libcurl, and the only one that parses what the download
 * server sends (HTTP, TLS, redirects). It holds no secret (the daemon gives it the URL, the CA file's name
 * and the sizes; its environment is empty but for JOURNAL_STREAM), has no file system access it needs
 * beyond reading the trust store, and may be killed at any time: the daemon writes the file, computes the
 * digest, and resumes a transfer that ended without a result. The privilege separation is OpenBSD's and
 * systemd-importd's (its systemd-pull workers): the process that parses the network's bytes can lose
 * nothing.
 *
 * It runs one transfer and has nothing else to serve, so it uses curl_easy_perform(): the blocking writes
 * into the pipe are the flow control (the daemon reads at the pace it writes and hashes, and TCP slows the
 * server down), and the daemon's own loop never waits on it.
 *
 * The sandbox it puts itself in before reading the request (the daemon's unit adds its own around both):
 * no new privileges (PR_SET_NO_NEW_PRIVS), not dumpable, killed with its parent, umask 077, no core files,
 * no file it may create or grow (RLIMIT_FSIZE 0, unless its stderr is a file), a cap on its address space
 * and on open descriptors. */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <strings.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "download.h"
#include "fetch-protocol.h"
#include "log.h"
#include "macro.h"
#include "string-util.h"

/* The address space: libcurl with its TLS and resolver libraries maps some 100 MiB of virtual memory, its
 * resolver thread a stack and a malloc arena; nothing it does needs more. */
#define FETCH_RLIMIT_AS (512ULL * 1024 * 1024)
#define FETCH_RLIMIT_NOFILE 64
/* Read from the socket in large blocks: fewer callbacks and frames per byte. */
#define FETCH_BUFFER_SIZE (256L * 1024)

DEFINE_TRIVIAL_CLEANUP_FUNC(json_object *, json_object_put);

typedef struct Fetch {
        CURL *easy;
        uint64_t offset, size; /* as requested */
        uint64_t base;         /* where the body starts: offset after a 206, 0 after a 200 */
        uint64_t received;
        bool begun;
        int abort_result; /* why a callback stopped the transfer */
        char *abort_message;
        char *content_range; /* the response's Content-Range header, if any */
        char error[CURL_ERROR_SIZE];
} Fetch;

static int sandbox(void)
{
        static const struct {
                int resource;
                rlim_t limit;
        } limits[] = {
                {RLIMIT_AS, FETCH_RLIMIT_AS},
                {RLIMIT_FSIZE, 0},
                {RLIMIT_CORE, 0},
                {RLIMIT_NOFILE, FETCH_RLIMIT_NOFILE},
        };

        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                return log_error_errno(errno, "Cannot set no_new_privs: %m");
        /* The daemon gone, nobody reads the body: no reason to go on. */
        if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
                return log_error_errno(errno, "Cannot ask to die with the daemon: %m");
        if (getppid() == 1)
                return log_error_errno(ESRCH, "The daemon is gone");
        if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
                return log_error_errno(errno, "Cannot make the process non-dumpable: %m");
        struct stat st;

        for (size_t i = 0; i < ELEMENTSOF(limits); i++) {
                struct rlimit rl = {limits[i].limit, limits[i].limit};
#if defined(__SANITIZE_ADDRESS__)
                /* AddressSanitizer reserves terabytes of address space for its shadow memory and maps more
                 * as the program runs: in a sanitizer build (configure --enable-sanitizers) the address
                 * space stays unlimited. */
                if (limits[i].resource == RLIMIT_AS)
                        continue;
#endif
                /* The daemon's stderr may be a file (run by hand, or by the tests): it is written to. */
                if (limits[i].resource == RLIMIT_FSIZE && fstat(STDERR_FILENO, &st) >= 0 &&
                        S_ISREG(st.st_mode))
                        continue;
                if (setrlimit(limits[i].resource, &rl) < 0)
                        return log_error_errno(
                                errno, "Cannot set resource limit %d: %m", limits[i].resource);
        }
        (void) umask(0077);
        if (chdir("/") < 0)
                return log_error_errno(errno, "Cannot change to /: %m");
        return 0;
}

/* ---- frames to the daemon ---- */

static void write_frame(uint32_t type, const void *a, size_t alen, const void *b, size_t blen)
{
        FetchFrameHeader h = {.type = type, .length = (uint32_t) (alen + blen)};
        struct iovec iov[3] = {
                {&h, sizeof(h)},
                {(void *) a, alen},
                {(void *) b, blen},
        };
        size_t n = 0;
        int k = 0;

        while (k < 3) {
                ssize_t w = writev(STDOUT_FILENO, iov + k, 3 - k);
                if (w < 0) {
                        if (errno == EINTR)
                                continue;
                        /* The daemon stopped reading: it has given up on this transfer. */
                        _exit(EXIT_FAILURE);
                }
                n += (size_t) w;
                while (k < 3 && (size_t) w >= iov[k].iov_len) {
                        w -= (ssize_t) iov[k].iov_len;
                        k++;
                }
                if (k < 3) {
                        iov[k].iov_base = (uint8_t *) iov[k].iov_base + w;
                        iov[k].iov_len -= (size_t) w;
                }
        }
        (void) n;
}

static void send_end(int result, long status, const char *message)
{
        FetchEnd e = {.result = result, .http_status = status > 0 ? (uint32_t) status : 0};
        size_t len = message ? MIN(strlen(message), (size_t) FETCH_MAX_MESSAGE) : 0;

        write_frame(FETCH_FRAME_END, &e, sizeof(e), message, len);
}

/* ---- libcurl callbacks ---- */

static size_t abort_with(Fetch *f, int result, const char *format, ...) _printf_(3, 4);
static size_t abort_with(Fetch *f, int result, const char *format, ...)
{
        va_list ap;

        f->abort_result = result;
        free(f->abort_message);
        va_start(ap, format);
        if (vasprintf(&f->abort_message, format, ap) < 0)
                f->abort_message = NULL;
        va_end(ap);
#ifdef CURL_WRITEFUNC_ERROR
        return CURL_WRITEFUNC_ERROR;
#else
        return 0xFFFFFFFF;
#endif
}

static size_t on_header(char *buf, size_t size, size_t n, void *userdata)
{
        Fetch *f = userdata;
        size_t len = size * n;
        const char *name = "content-range:";
        size_t nl = strlen(name);

        /* A new response (after a redirect) starts over. */
        if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0)
                f->content_range = mfree(f->content_range);
        else if (len > nl && strncasecmp(buf, name, nl) == 0) {
                const char *v = buf + nl;
                size_t vl = len - nl;
                while (vl > 0 && (*v == ' ' || *v == '\t'))
                        v++, vl--;
                while (vl > 0 && strchr(" \t\r\n", v[vl - 1]))
                        vl--;
                free(f->content_range);
                f->content_range = strndup(v, MIN(vl, (size_t) 256));
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
static size_t fetch_begin(Fetch *f)
{
        long status = 0;
        curl_off_t length = -1;

        (void) curl_easy_getinfo(f->easy, CURLINFO_RESPONSE_CODE, &status);
        (void) curl_easy_getinfo(f->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);

        if (status == 206) {
                uint64_t start, end, total;

                if (parse_content_range(f->content_range, &start, &end, &total) < 0)
                        return abort_with(f, DOWNLOAD_E_SIZE,
                                "206 response with an unreadable Content-Range \"%s\"",
                                strna(f->content_range));
                if (start != f->offset)
                        return abort_with(f, DOWNLOAD_E_SIZE,
                                "asked for bytes from %" PRIu64 ", got %" PRIu64, f->offset, start);
                if ((total != UINT64_MAX && total != f->size) || end >= f->size)
                        return abort_with(f, DOWNLOAD_E_SIZE,
                                "the server's file has %s bytes, expected %" PRIu64, f->content_range,
                                f->size);
                f->base = f->offset;
        } else if (status == 200) {
                if (length >= 0 && (uint64_t) length != f->size)
                        return abort_with(f, DOWNLOAD_E_SIZE,
                                "the server's file has %" PRId64 " bytes, expected %" PRIu64,
                                (int64_t) length, f->size);
                f->base = 0;
                if (f->offset > 0)
                        log_debug("The server ignored the range request and sends the whole file");
        } else
                return abort_with(f, DOWNLOAD_E_HTTP, "unexpected HTTP status %ld", status);

        f->begun = true;
        FetchBegin b = {.offset = f->base, .http_status = (uint32_t) status};
        write_frame(FETCH_FRAME_BEGIN, &b, sizeof(b), NULL, 0);
        return 0;
}

static size_t on_write(char *buf, size_t size, size_t n, void *userdata)
{
        Fetch *f = userdata;
        size_t len = size * n, r;

        if (!f->begun) {
                r = fetch_begin(f);
                if (r != 0)
                        return r;
        }
        if (f->base + f->received + len > f->size)
                return abort_with(f, DOWNLOAD_E_SIZE,
                        "the server sent more than the expected %" PRIu64 " bytes", f->size);
        for (size_t done = 0; done < len;) {
                size_t k = MIN(len - done, (size_t) FETCH_MAX_DATA);
                write_frame(FETCH_FRAME_DATA, buf + done, k, NULL, 0);
                done += k;
        }
        f->received += len;
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
                /* The request: its first line (without the query, which carries the URL's signature) and
                 * the Range header, which is what matters here. */
                const char *range = NULL;
                for (size_t i = 0; i + 6 < size; i++)
                        if ((i == 0 || data[i - 1] == '\n') && strncasecmp(data + i, "Range:", 6) == 0) {
                                range = data + i;
                                break;
                        }
                log_debug("curl: > %.*s%s%.*s", (int) strcspn(data, "?\r\n"), data, range ? ", " : "",
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

/* ---- the request ---- */

typedef struct Request {
        const char *url, *ca_file, *user_agent;
        bool allow_http, debug;
        uint64_t offset, size;
        long connect_timeout, stall_timeout;
} Request;

static int read_request(json_object **ret)
{
        _cleanup_(freep) char *buf = malloc(FETCH_MAX_REQUEST + 1);
        size_t have = 0;

        if (!buf)
                return log_oom();
        for (;;) {
                ssize_t n = read(STDIN_FILENO, buf + have, FETCH_MAX_REQUEST + 1 - have);
                if (n < 0) {
                        if (errno == EINTR)
                                continue;
                        return log_error_errno(errno, "Cannot read the request: %m");
                }
                if (n == 0)
                        break;
                have += (size_t) n;
                if (have > FETCH_MAX_REQUEST)
                        return log_error_errno(
                                E2BIG, "The request is longer than %u bytes", FETCH_MAX_REQUEST);
        }
        buf[have] = 0;
        *ret = json_tokener_parse(buf);
        if (!*ret || !json_object_is_type(*ret, json_type_object))
                return log_error_errno(EBADMSG, "The request is not a JSON object");
        return 0;
}

static const char *get_string(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_string)
                       ? json_object_get_string(v)
                       : NULL;
}

static int64_t get_int(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_int)
                       ? json_object_get_int64(v)
                       : -1;
}

static bool get_bool(json_object *o, const char *key)
{
        json_object *v;

        return json_object_object_get_ex(o, key, &v) && json_object_get_boolean(v);
}

static int parse_request(json_object *o, Request *r)
{
        int64_t offset = get_int(o, "offset"), size = get_int(o, "size");

        *r = (Request){
                .url = get_string(o, "url"),
                .ca_file = get_string(o, "ca_file"),
                .user_agent = get_string(o, "user_agent"),
                .allow_http = get_bool(o, "allow_http"),
                .debug = get_bool(o, "debug"),
                .connect_timeout = (long) get_int(o, "connect_timeout"),
                .stall_timeout = (long) get_int(o, "stall_timeout"),
        };
        if (!r->url || offset < 0 || size <= 0 || offset >= size || r->connect_timeout <= 0 ||
                r->stall_timeout <= 0)
                return log_error_errno(EINVAL, "The request lacks a member or has one out of range");
        r->offset = (uint64_t) offset;
        r->size = (uint64_t) size;
        return 0;
}

static int fetch_setup(Fetch *f, const Request *req)
{
        const char *protocols = req->allow_http ? "http,https" : "https";
        char range[64];
        CURL *e = f->easy;

#define SET(opt, val)                                                                                       \
        do {                                                                                                \
                if (curl_easy_setopt(e, opt, val) != CURLE_OK)                                              \
                        return -EIO;                                                                        \
        } while (0)

        SET(CURLOPT_URL, req->url);
        SET(CURLOPT_NOSIGNAL, 1L);
        SET(CURLOPT_ERRORBUFFER, f->error);
        SET(CURLOPT_WRITEFUNCTION, on_write);
        SET(CURLOPT_WRITEDATA, f);
        SET(CURLOPT_HEADERFUNCTION, on_header);
        SET(CURLOPT_HEADERDATA, f);
        SET(CURLOPT_BUFFERSIZE, FETCH_BUFFER_SIZE);
        if (req->debug) {
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
        /* No proxy from anywhere: the environment is empty anyway, and the daemon has no proxy setting. */
        SET(CURLOPT_PROXY, "");

        SET(CURLOPT_CONNECTTIMEOUT, req->connect_timeout);
        SET(CURLOPT_LOW_SPEED_LIMIT, 1024L);
        SET(CURLOPT_LOW_SPEED_TIME, req->stall_timeout);
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

/* What curl's result means for the daemon (download.h's DOWNLOAD_E_*), with a message. */
static int fetch_result(Fetch *f, CURLcode c, long status, char **ret_message)
{
        int result;

        *ret_message = NULL;
        switch (c) {
        case CURLE_OK:
                if (status != 200 && status != 206) {
                        result = DOWNLOAD_E_HTTP;
                        if (asprintf(ret_message, "unexpected HTTP status %ld", status) < 0)
                                *ret_message = NULL;
                } else if (f->base + f->received < f->size) {
                        result = DOWNLOAD_E_TRANSFER;
                        if (asprintf(ret_message, "the transfer ended at byte %" PRIu64 " of %" PRIu64,
                                    f->base + f->received, f->size) < 0)
                                *ret_message = NULL;
                } else
                        result = 0;
                break;
        case CURLE_WRITE_ERROR:
                result = f->abort_result ?: DOWNLOAD_E_ABORTED;
                *ret_message = TAKE_PTR(f->abort_message);
                break;
        case CURLE_HTTP_RETURNED_ERROR:
                result = DOWNLOAD_E_HTTP;
                if (asprintf(ret_message, "HTTP %ld", status) < 0)
                        *ret_message = NULL;
                break;
        case CURLE_FILESIZE_EXCEEDED:
                result = DOWNLOAD_E_SIZE;
                if (asprintf(ret_message, "the server's file is larger than the expected %" PRIu64 " bytes",
                            f->size) < 0)
                        *ret_message = NULL;
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
        default:
                /* Could not resolve or connect, connection cut (PARTIAL_FILE, RECV_ERROR, GOT_NOTHING),
                 * stalled (OPERATION_TIMEDOUT), out of memory: the next attempt resumes where this one
                 * stopped. */
                result = DOWNLOAD_E_TRANSFER;
        }
        if (!*ret_message && result != 0)
                if (asprintf(ret_message, "%s", f->error[0] ? f->error : curl_easy_strerror(c)) < 0)
                        *ret_message = NULL;
        return result;
}

static int run(void)
{
        _cleanup_(json_object_putp) json_object *o = NULL;
        _cleanup_(freep) char *message = NULL;
        Fetch f = {};
        Request req;
        long status = 0;
        CURLcode c;
        int r, result;

        log_set_prefix("ali-linkd-fetch");
        r = sandbox();
        if (r < 0)
                return r;
        r = read_request(&o);
        if (r < 0)
                return r;
        r = parse_request(o, &req);
        if (r < 0)
                return r;
        log_set_max_level(req.debug ? LOG_DEBUG : LOG_INFO);
        f.offset = req.offset;
        f.size = req.size;

        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
                return log_error_errno(EIO, "Cannot initialise libcurl");
        f.easy = curl_easy_init();
        if (!f.easy)
                return log_oom();
        r = fetch_setup(&f, &req);
        if (r < 0) {
                send_end(DOWNLOAD_E_URL, 0, "libcurl refused an option of the request");
                return 0;
        }
        c = curl_easy_perform(f.easy);
        (void) curl_easy_getinfo(f.easy, CURLINFO_RESPONSE_CODE, &status);
        result = fetch_result(&f, c, status, &message);
        send_end(result, status, message);
        curl_easy_cleanup(f.easy);
        curl_global_cleanup();
        free(f.abort_message);
        free(f.content_range);
        return 0;
}

int main(int argc, char **argv)
{
        (void) argv;
        if (argc != 1) {
                fprintf(stderr, "ali-linkd-fetch: the daemon's download helper takes no arguments\n");
                return 2;
        }
        return run() < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
