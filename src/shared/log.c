/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log.c: stderr or journal logging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <systemd/sd-journal.h>

#include "log.h"
#include "string-table.h"
#include "time-util.h"

static int max_level = LOG_INFO;
static int journal = -1; /* -1: not yet checked */
static const char *prefix;

/* Flood protection. Identical consecutive messages are said once and then counted; a summary follows
 * when another message comes, or every LOG_REPEAT_USEC while the repeats go on. And no more than
 * LOG_BURST messages above debug level per LOG_INTERVAL_USEC: the rest are counted and summarised.
 * Catalogued events (a MESSAGE_ID: connected, disconnected, OTA) are never held back by the burst cap: a
 * flood of other messages must not hide that the link came back. */
#define LOG_REPEAT_USEC (30 * USEC_PER_SEC)
#define LOG_INTERVAL_USEC (10 * USEC_PER_SEC)
#define LOG_BURST 200

static struct {
        char *msg;
        int level;
        unsigned repeats;
        uint64_t since;
} last;

static struct {
        uint64_t begin;
        unsigned count, suppressed;
} burst;

static const char *const log_level_table[] = {
        [LOG_EMERG] = "emerg",
        [LOG_ALERT] = "alert",
        [LOG_CRIT] = "crit",
        [LOG_ERR] = "err",
        [LOG_WARNING] = "warning",
        [LOG_NOTICE] = "notice",
        [LOG_INFO] = "info",
        [LOG_DEBUG] = "debug",
};

void log_set_max_level(int level)
{
        max_level = level;
}

int log_get_max_level(void)
{
        return max_level;
}

void log_set_prefix(const char *p)
{
        prefix = p;
}

#define log_level_name_table log_level_table
static _DEFINE_STRING_TABLE_FROM_STRING(log_level_name, int, strcmp);

int log_level_from_string(const char *s)
{
        if (!s)
                return -EINVAL;
        if (streq_ptr(s, "error")) /* the name people type for "err" */
                return LOG_ERR;
        return log_level_name_from_string(s);
}

DEFINE_STRING_TABLE_TO_STRING(log_level, int);

/* Is stderr the journal's stream? systemd sets JOURNAL_STREAM=dev:ino for exactly that fd. */
static bool stderr_is_journal(void)
{
        const char *e;
        unsigned long long dev, ino;
        struct stat st;

        if (journal >= 0)
                return journal;
        journal = 0;
        e = getenv("JOURNAL_STREAM");
        if (e && sscanf(e, "%llu:%llu", &dev, &ino) == 2 && fstat(STDERR_FILENO, &st) >= 0 &&
                (unsigned long long) st.st_dev == dev && (unsigned long long) st.st_ino == ino)
                journal = 1;
        return journal;
}

static void write_line(int level, const char *message_id, const char *msg)
{
        int saved = errno, r;

        if (stderr_is_journal()) {
                if (message_id)
                        r = sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", level, "MESSAGE_ID=%s",
                                message_id, "SYSLOG_IDENTIFIER=%s", program_invocation_short_name, NULL);
                else
                        r = sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", level, "SYSLOG_IDENTIFIER=%s",
                                program_invocation_short_name, NULL);
                /* The journal socket is gone: fall back to the stream, with a priority prefix. */
                if (r < 0)
                        fprintf(stderr, "<%i>%s\n", level, msg);
        } else if (prefix)
                fprintf(stderr, "%s: %s\n", prefix, msg);
        else
                fprintf(stderr, "%s\n", msg);
        errno = saved;
}

static void flush_repeats(void)
{
        _cleanup_(freep) char *summary = NULL;

        if (last.repeats == 0)
                return;
        if (asprintf(&summary, "... repeated %u more time%s: %s", last.repeats, last.repeats == 1 ? "" : "s",
                    last.msg) >= 0)
                write_line(last.level, NULL, summary);
        last.repeats = 0;
}

void log_flush(void)
{
        _cleanup_(freep) char *summary = NULL;

        flush_repeats();
        if (burst.suppressed > 0 &&
                asprintf(&summary, "%u log messages suppressed (more than %u in %llu s)", burst.suppressed,
                        LOG_BURST, (unsigned long long) (LOG_INTERVAL_USEC / USEC_PER_SEC)) >= 0)
                write_line(LOG_WARNING, NULL, summary);
        burst.suppressed = 0;
}

void log_reset(void)
{
        last.msg = mfree(last.msg);
        last.repeats = 0;
        burst = (typeof(burst)){};
}

/* Returns true when msg is to be written now. */
static bool admit(int level, const char *message_id, const char *msg)
{
        uint64_t now = now_usec(CLOCK_MONOTONIC);

        if (last.msg && level == last.level && streq(msg, last.msg)) {
                last.repeats++;
                if (now - last.since < LOG_REPEAT_USEC)
                        return false;
                flush_repeats();
                last.since = now;
                return false;
        }
        flush_repeats();
        free(last.msg);
        last.msg = strdup(msg);
        last.level = level;
        last.since = now;

        if (level >= LOG_DEBUG || message_id)
                return true;
        if (now - burst.begin >= LOG_INTERVAL_USEC) {
                if (burst.suppressed > 0)
                        log_flush();
                burst.begin = now;
                burst.count = 0;
        }
        if (++burst.count > LOG_BURST) {
                burst.suppressed++;
                return false;
        }
        return true;
}

int log_internalv(int level, int error, const char *message_id, const char *format, va_list ap)
{
        _cleanup_(freep) char *msg = NULL;
        int saved = errno, r;

        if (error < 0)
                error = -error;
        /* %m prints the error we were given, not whatever errno happens to hold. */
        errno = error;
        r = vasprintf(&msg, format, ap);
        errno = saved;
        if (r < 0)
                return error ? -error : -ENOMEM;

        if (admit(level, message_id, msg))
                write_line(level, message_id, msg);
        errno = saved;
        return error ? -error : 0;
}

int log_internal(int level, int error, const char *message_id, const char *format, ...)
{
        va_list ap;
        int r;

        va_start(ap, format);
        r = log_internalv(level, error, message_id, format, ap);
        va_end(ap);
        return r;
}
