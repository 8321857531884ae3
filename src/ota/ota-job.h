/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* ota-job.h: the OTA job record and its file, "ota-job.json" in the state directory.
 *
 * The record is what a restarted daemon needs to carry on: the package as the cloud described it (url,
 * size, version, signMethod, sign, module: the member names of the push's data object, see
 * https://help.aliyun.com/en/iot/user-guide/ota-update), the bytes of the partial file known to be synced,
 * the phase ("download", "install" or "reboot") and, optionally, the boot it was recorded in. This module
 * owns the file's format only; when to write it is ota.c's business. The file is ours, but it is read back
 * as untrusted input: a damaged one is refused with a message, never trusted. Nothing here logs. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "alink.h"

#define OTA_JOB_FILE "ota-job.json"

/* The record as JSON; *ret is malloc'ed, the caller frees it. boot_id NULL leaves it out. */
int ota_job_file_build(
        const AlinkOtaFirmware *f, uint64_t bytes, const char *phase, const char *boot_id, char **ret);
/* Reads a record: 0 with everything set (the caller owns f's strings, *ret_phase and *ret_boot_id, which
 * is NULL when the record has none; ret_boot_id may be NULL), ALINK_E_INVALID with *ret_error (when
 * ret_error is not NULL) saying what is wrong, or negative errno. f is left empty on failure. */
int ota_job_file_parse(const void *payload, size_t len, AlinkOtaFirmware *f, uint64_t *ret_bytes,
        char **ret_phase, char **ret_boot_id, char **ret_error);

/* Writes the record to path atomically (a temporary file renamed over it, synced), mode 0600. */
int ota_job_file_save(
        const char *path, const AlinkOtaFirmware *f, uint64_t bytes, const char *phase, const char *boot_id);
/* Reads path: as ota_job_file_parse(), and -ENOENT when there is no file. */
int ota_job_file_load(const char *path, AlinkOtaFirmware *f, uint64_t *ret_bytes, char **ret_phase,
        char **ret_boot_id, char **ret_error);
