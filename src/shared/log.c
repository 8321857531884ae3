/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* log.c: stderr or journal logging. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <systemd/sd-journal.h>

#include "log.h"

static int max_level = LOG_INFO;
static int journal = -1; /* -1: not yet checked */
static const char *prefix;

static const char *const level_names[] = {
        [LOG_EMERG] = "emerg", [LOG_ALERT] = "alert",   [LOG_CRIT] = "crit",  [LOG_ERR] = "err",
        [LOG_WARNING] = "warning", [LOG_NOTICE] = "notice", [LOG_INFO] = "info", [LOG_DEBUG] = "debug",
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

int log_level_from_string(const char *s)
{
        if (!s)
                return -EINVAL;
        if (streq(s, "error"))
                return LOG_ERR;
        for (size_t i = 0; i < ELEMENTSOF(level_names); i++)
                if (streq(s, level_names[i]))
                        return (int) i;
        return -EINVAL;
}

const char *log_level_to_string(int level)
{
        if (level < 0 || (size_t) level >= ELEMENTSOF(level_names))
                return NULL;
        return level_names[level];
}

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

        if (stderr_is_journal()) {
                if (message_id)
                        r = sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", level, "MESSAGE_ID=%s", message_id,
                                "SYSLOG_IDENTIFIER=%s", program_invocation_short_name, NULL);
                else
                        r = sd_journal_send("MESSAGE=%s", msg, "PRIORITY=%i", level, "SYSLOG_IDENTIFIER=%s",
                                program_invocation_short_name, NULL);
                if (r >= 0)
                        goto done;
                /* The journal socket is gone: fall back to the stream, with a priority prefix. */
                fprintf(stderr, "<%i>%s\n", level, msg);
                goto done;
        }

        if (prefix)
                fprintf(stderr, "%s: %s\n", prefix, msg);
        else
                fprintf(stderr, "%s\n", msg);
done:
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
