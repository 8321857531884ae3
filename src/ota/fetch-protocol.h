/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fetch-protocol.h: what the daemon (download.c) and its download helper (ali-linkd-fetch) say to each
 * other. Both sides include it; nothing else does.
 *
 * The helper is started once per transfer, with no argument but its name. The request comes on its stdin,
 * a pipe the daemon filled and closed before the start: one JSON object (json-c) of at most
 * FETCH_MAX_REQUEST bytes with the members of FetchRequest below. The URL travels there, never in argv or
 * the environment: a pre-signed URL carries its signature in the query, and argv is readable by every user
 * of the machine in /proc.
 *
 * The answer comes on its stdout, a pipe the daemon reads on its loop: a sequence of frames, each a
 * FetchFrameHeader (host byte order: both ends run on one machine) followed by length bytes:
 * - FETCH_FRAME_BEGIN, a FetchBegin: the body is about to come and starts at byte offset (the requested
 *   one after a 206, 0 after a 200). Exactly once, before any DATA.
 * - FETCH_FRAME_DATA: the next bytes of the body, 1..FETCH_MAX_DATA of them.
 * - FETCH_FRAME_END, a FetchEnd and then a message of up to FETCH_MAX_MESSAGE bytes (no NUL): the result as
 *   download.h defines it (0 or a DOWNLOAD_E_*) and the last HTTP status. The last frame.
 * The daemon trusts none of it: a frame of unknown type or over its limit, a DATA before BEGIN or beyond the
 * expected size, a BEGIN at another offset, or an END claiming success short of the size is a failed
 * transfer (the helper is killed), and the bytes counted are the bytes that came. Without an END (the helper
 * crashed or was killed) the transfer failed and is resumed like a cut connection. */
#pragma once

#include <stdint.h>

/* FetchRequest members: "url", "ca_file" (absent: the system store), "allow_http", "offset", "size",
 * "connect_timeout", "stall_timeout" (seconds), "user_agent", "debug" (log libcurl's exchange at debug
 * level). */
#define FETCH_MAX_REQUEST (16u * 1024u)
#define FETCH_MAX_DATA (1024u * 1024u)
#define FETCH_MAX_MESSAGE 1024u

enum {
        FETCH_FRAME_BEGIN = 1,
        FETCH_FRAME_DATA = 2,
        FETCH_FRAME_END = 3,
};

typedef struct FetchFrameHeader {
        uint32_t type;
        uint32_t length;
} FetchFrameHeader;

typedef struct FetchBegin {
        uint64_t offset;
        uint32_t http_status;
        uint32_t reserved;
} FetchBegin;

typedef struct FetchEnd {
        int32_t result;
        uint32_t http_status;
} FetchEnd;
