/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* download.h: HTTP(S) downloads with the libcurl multi interface on the daemon's sd-event loop. The only
 * user of curl/curl.h.
 *
 * A Downloader owns the curl multi handle, one io source per socket curl asks us to watch
 * (CURLMOPT_SOCKETFUNCTION) and one one-shot timer (CURLMOPT_TIMERFUNCTION); completions are collected with
 * curl_multi_info_read() after every socket action. No thread, no curl_easy_perform(), nothing blocks: name
 * resolution runs in libcurl's resolver. A Download is one transfer of one URL, from a byte offset (Range)
 * to the expected size; it does not own a file: the body goes to the caller's data handler chunk by chunk
 * (at most CURL_MAX_WRITE_SIZE bytes each), so memory stays flat whatever the size.
 *
 * A Downloader loads libcurl (dlopen) when it is made and unloads it when it is freed, so that a daemon
 * that is not downloading does not carry libcurl and its dependencies: make one for the downloads of an
 * update and free it afterwards (never from inside one of its handlers), after its Downloads. Without
 * libcurl on the system downloader_new() fails with -EOPNOTSUPP.
 *
 * Policy it enforces: TLS peer and host-name verification always on (trust: the system store, or ca_file);
 * only https (and http when allowed), for redirects too; connect and stall timeouts; a 206 must start at
 * the requested offset, a 200 restarts at byte 0 (begin handler says so); the server's idea of the size
 * must match the expected one, and no byte beyond it is accepted.
 *
 * Results (finished handler): 0 when every byte up to size arrived, a positive DOWNLOAD_E_* for expected
 * failures (with a message naming the cause), or a negative errno. Handlers run from the loop, never while
 * the Downloader is inside curl in a way that forbids freeing: the finished handler may free the Download
 * and start another one. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <systemd/sd-event.h>

#include "macro.h"

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

int downloader_new(Downloader **ret, sd_event *event);
/* Stops every running transfer without calling its handlers. The Downloads must be freed first. */
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
