/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log.h: the daemon's and the CLI's tiny logging API.
 *
 * Owns the process-wide log level and target (the only globals besides parsed argv). Writes to the journal
 * when stderr is connected to it (JOURNAL_STREAM), otherwise one plain line per message to stderr. It
 * never floods: identical consecutive messages are counted and summarised ("... repeated 120 more times"),
 * and more than 200 messages above debug level in 10 s are counted instead of written (catalogued events,
 * log_struct() with a MESSAGE_ID, are always written). Code in
 * src/shared never logs above debug; the calling layer logs once. Never pass payloads or credentials at
 * info or higher, and never pass the device secret or the MQTT password at all. */
#pragma once

#include <stdarg.h>
#include <syslog.h>

#include "macro.h"

/* MESSAGE_IDs for the events an operator may want to find in the journal (journalctl MESSAGE_ID=...). */
#define ALI_MESSAGE_CLOUD_CONNECTED "6a1f3e0c9b5d4c7e8f2a1b3c4d5e6f70"
#define ALI_MESSAGE_CLOUD_DISCONNECTED "6a1f3e0c9b5d4c7e8f2a1b3c4d5e6f71"
#define ALI_MESSAGE_OTA "6a1f3e0c9b5d4c7e8f2a1b3c4d5e6f72"

void log_set_max_level(int level);
int log_get_max_level(void);
/* Returns a syslog level for "debug", "info", "notice", "warning", "err"/"error", "crit", or -EINVAL. */
int log_level_from_string(const char *s);
const char *log_level_to_string(int level);
/* Prefix plain stderr lines with the program name (the CLI does this; the daemon does not). */
void log_set_prefix(const char *prefix);

/* Write out pending "... repeated N times" and "N log messages suppressed" summaries (call at exit). */
void log_flush(void);
/* Forget the repeat and burst state (tests start each case from a clean slate). */
void log_reset(void);

/* Logs and returns -abs(error) when error != 0, else 0. %m in format prints strerror(error). */
int log_internal(int level, int error, const char *message_id, const char *format, ...) _printf_(4, 5);
int log_internalv(int level, int error, const char *message_id, const char *format, va_list ap)
        _printf_(4, 0);

#define log_full_errno(level, error, ...)                                                                   \
        ({                                                                                                  \
                int _l_ = (level), _e_ = (error);                                                           \
                (log_get_max_level() >= _l_) ? log_internal(_l_, _e_, NULL, __VA_ARGS__)                    \
                                             : -(_e_ < 0 ? -_e_ : _e_);                                     \
        })
#define log_full(level, ...) (void) log_full_errno(level, 0, __VA_ARGS__)

#define log_debug(...) log_full(LOG_DEBUG, __VA_ARGS__)
#define log_info(...) log_full(LOG_INFO, __VA_ARGS__)
#define log_notice(...) log_full(LOG_NOTICE, __VA_ARGS__)
#define log_warning(...) log_full(LOG_WARNING, __VA_ARGS__)
#define log_error(...) log_full(LOG_ERR, __VA_ARGS__)

#define log_debug_errno(error, ...) log_full_errno(LOG_DEBUG, error, __VA_ARGS__)
#define log_info_errno(error, ...) log_full_errno(LOG_INFO, error, __VA_ARGS__)
#define log_warning_errno(error, ...) log_full_errno(LOG_WARNING, error, __VA_ARGS__)
#define log_error_errno(error, ...) log_full_errno(LOG_ERR, error, __VA_ARGS__)

/* A message with a MESSAGE_ID (journal) at the given level. */
#define log_struct(level, message_id, ...)                                                                  \
        (void) (log_get_max_level() >= (level) ? log_internal(level, 0, message_id, __VA_ARGS__) : 0)

#define log_oom() log_error_errno(ENOMEM, "Out of memory.")
