/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysfs-util.h: reading and writing sysfs attributes (one value per file).
 *
 * Each call opens, reads or writes, and closes the attribute: sysfs acts on each write(2), and a file kept
 * open would hide a device that went away. Writes use O_TRUNC so the same code works on a prepared tree of
 * plain files in the tests. Values are bounded (SYSFS_VALUE_MAX); nothing here logs, errors are negative
 * errno for the caller to report. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Large enough for every attribute we read (numbers, multi_index, multi_intensity). */
#define SYSFS_VALUE_MAX 4096

/* Writes value (no newline needed) to path in one write(2). Returns 0 or negative errno. */
int sysfs_write(const char *path, const char *value);
int sysfs_write_u64(const char *path, uint64_t value);
/* Reads path; *ret is a malloc'ed string without the trailing newline. -EFBIG when longer than
 * SYSFS_VALUE_MAX. */
int sysfs_read(const char *path, char **ret);
/* Reads a decimal number; -EBADMSG when the file holds something else. */
int sysfs_read_u64(const char *path, uint64_t *ret);
/* Splits a space-separated list of numbers ("255 0 128") into values; at most n of them. Returns the
 * count, or -EBADMSG. */
int sysfs_parse_u64_list(const char *s, uint64_t *values, size_t n);
