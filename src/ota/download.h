/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* download.h: HTTP(S) downloads on the daemon's sd-event loop, each run by the download helper
 * ali-linkd-fetch (src/fetch/), a child process that is the only program linking libcurl. The daemon itself
 * never loads libcurl and never parses HTTP or TLS from the download server.
 *
 * A Downloader knows where the helper is (DOWNLOAD_FETCH_PATH, or $ALI_LINKD_FETCH where the daemon runs
 * from a build tree). A Download is one transfer of one URL, from a byte offset (Range) to the expected
 * size: one helper started with spawn.h's clean slate (no inherited descriptor, an environment of
 * JOURNAL_STREAM alone), the request written to its stdin (the URL never appears in argv), the body read
 * from its stdout as length-checked frames (fetch-protocol.h) on an io source, its exit watched with
 * sd_event_add_child(). A Download does not own a file: the body goes to the caller's data handler chunk by
 * chunk (at most DOWNLOAD_CHUNK bytes each), so memory stays flat whatever the size; the helper's writes
 * block while the daemon has not read, which is the flow control.
 *
 * Policy it enforces (the helper checks the same, the daemon trusts none of it): TLS peer and host-name
 * verification always on (trust: the system store, or ca_file); only https (and http when allowed), for
 * redirects too; connect and stall timeouts; a 206 must start at the requested offset, a 200 restarts at
 * byte 0 (begin handler says so); the server's idea of the size must match the expected one, and no byte
 * beyond it is accepted. A helper that sends nothing for connect + stall timeout + DOWNLOAD_GRACE_SEC is
 * killed. A helper that crashes, is killed, or breaks the protocol ends the transfer with
 * DOWNLOAD_E_TRANSFER: the caller resumes it like a cut connection.
 *
 * Results (finished handler): 0 when every byte up to size arrived, a positive DOWNLOAD_E_* for expected
 * failures (with a message naming the cause), or a negative errno. Handlers run from the loop; the finished
 * handler may free the Download and start another one. Freeing a running Download kills its helper
 * (SIGKILL) and reaps it. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

#ifndef DOWNLOAD_FETCH_PATH
#define DOWNLOAD_FETCH_PATH PKGLIBEXECDIR "/ali-linkd-fetch"
#endif
/* The largest chunk the data handler gets. */
#define DOWNLOAD_CHUNK (128u * 1024u)
/* Slack over connect + stall timeout before a silent helper is killed: libcurl enforces those itself. */
#define DOWNLOAD_GRACE_SEC 15

typedef struct Downloader Downloader;
typedef struct Download Download;

enum {
        DOWNLOAD_E_HTTP = 1, /* the server answered with an error status: download_get_http_status() */
        DOWNLOAD_E_TRANSFER, /* no connection, connection cut, stalled, or short: worth resuming later */
        DOWNLOAD_E_TLS,      /* the server's certificate or the TLS handshake was refused */
        DOWNLOAD_E_SIZE,     /* the server's size differs from the expected one, or it sent too much */
        DOWNLOAD_E_URL,      /* the URL is malformed or uses a protocol that is not allowed */
        DOWNLOAD_E_ABORTED,  /* a handler refused the data (its negative errno is in the message) */
};

typedef struct DownloadRequest {
        const char *url;
        const char *ca_file; /* PEM bundle; NULL: the system trust store */
        bool allow_http;
        uint64_t offset; /* resume from this byte (Range: bytes=offset-) */
        uint64_t size;   /* the expected size of the whole file, > offset */
        unsigned connect_timeout_sec;
        unsigned stall_timeout_sec; /* abort when under 1 KiB/s for this long */
        const char *user_agent;
} DownloadRequest;

typedef struct DownloadHandlers {
        /* The body is about to arrive and starts at byte offset: the requested one (206), or 0 when the
         * server sent the whole file (200). Negative errno aborts the transfer. */
        int (*begin)(Download *d, uint64_t offset, void *userdata);
        /* The next chunk. Negative errno aborts the transfer. */
        int (*data)(Download *d, const void *buf, size_t len, void *userdata);
        /* The transfer ended: 0, DOWNLOAD_E_*, or negative errno; message says why (NULL on success). */
        void (*finished)(Download *d, int result, const char *message, void *userdata);
} DownloadHandlers;

/* No helper is started yet; -ENOENT when the helper is not an executable file. */
int downloader_new(Downloader **ret, sd_event *event);
/* The Downloads must be freed first. */
Downloader *downloader_free(Downloader *dl);
DEFINE_TRIVIAL_CLEANUP_FUNC(Downloader *, downloader_free);

/* Starts a transfer; *ret is owned by the caller (download_free). */
int download_start(Downloader *dl, const DownloadRequest *req, const DownloadHandlers *handlers,
        void *userdata, Download **ret);
/* Cancels a running transfer (no handler is called) and frees it. Accepts NULL. */
Download *download_free(Download *d);
DEFINE_TRIVIAL_CLEANUP_FUNC(Download *, download_free);

/* The HTTP status of the last response, 0 before one arrived. */
long download_get_http_status(const Download *d);
