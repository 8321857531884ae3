/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ota-version.h: the running firmware version, as the administrator tells it: the first line of [ota]
 * version_file, or what [ota] version_command prints.
 *
 * The command runs as a child on the loop (spawn.h: no inherited environment but PATH, its own process
 * group), with its output read through a pipe, at most OTA_VERSION_MAX_OUTPUT bytes kept, and killed after
 * OTA_VERSION_COMMAND_TIMEOUT_USEC. An OtaVersionCommand owns the child, the pipe and their event sources
 * until it reports; freeing it earlier kills the child. Problems are logged as warnings (the daemon runs on
 * with an unknown version); nothing is published from here. */
#pragma once

#include <stddef.h>
#include <systemd/sd-event.h>

#include "macro.h"

#define OTA_VERSION_MAX_OUTPUT 256
#define OTA_VERSION_COMMAND_TIMEOUT_USEC (30 * USEC_PER_SEC)
/* The only variable a helper the daemon runs gets besides its own ALI_LINKD_* ones. */
#define OTA_CHILD_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

typedef struct OtaVersionCommand OtaVersionCommand;

/* The version is known: a malloc'ed string the callee takes, or NULL when it is unknown (logged). */
typedef void (*OtaVersionDoneFn)(void *userdata, char *version);

/* The first line of text, trimmed; printable, 1..ALINK_OTA_MAX_VERSION characters; else NULL (a warning
 * naming source is logged). Caller frees. */
char *ota_version_from_text(const char *text, size_t len, const char *source);
/* The version in path (read now: a small local file). NULL when unreadable or invalid (logged). */
char *ota_version_read_file(const char *path);
/* Runs command (an absolute path and arguments, split at blanks, no shell) and calls done once, from the
 * loop, with what it printed. Negative errno when it cannot be started (logged): done is not called. */
int ota_version_command_start(OtaVersionCommand **ret, sd_event *event, const char *command,
        OtaVersionDoneFn done, void *userdata);
/* Kills the command if it still runs; done is not called. Accepts NULL. */
OtaVersionCommand *ota_version_command_free(OtaVersionCommand *c);
DEFINE_TRIVIAL_CLEANUP_FUNC(OtaVersionCommand *, ota_version_command_free);
