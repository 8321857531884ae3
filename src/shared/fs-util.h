/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fs-util.h: durable file replacement. Pure, no logging: callers say what failed. */
#pragma once

#include <stdio.h>
#include <sys/types.h>

/* fsync() the directory that holds path, so a rename or a new file in it survives a power loss. Returns 0
 * or negative errno. */
int fsync_directory_of(const char *path);
/* Replace path with content atomically and durably: path.tmp written (mode, never following a link),
 * fsync()ed, renamed over path, the directory fsync()ed. On failure path is untouched and path.tmp gone.
 * Returns 0 or negative errno. */
int write_file_atomic(const char *path, const char *content, mode_t mode);
/* Open one of the daemon's own state files (journal, saved state, job record): never through a symbolic
 * link (-ELOOP), and only a regular file (-EBADFD for a FIFO, device or directory, which would hang or make
 * no sense). flags as for open(2); O_CLOEXEC, O_NOCTTY and O_NOFOLLOW are added. Returns the fd (blocking)
 * or negative errno. */
int open_state_file(const char *path, int flags, mode_t mode);
/* The same, read-only, as a stdio stream: 0 with *ret, or negative errno. */
int fopen_state_file(const char *path, FILE **ret);
/* What open_state_file()'s error means, for a log line. */
const char *state_file_strerror(int error);
/* Create the directory path and its missing parents with mode (an existing one is left as it is). Returns 0
 * or negative errno. */
int mkdir_parents_and_self(const char *path, mode_t mode);
