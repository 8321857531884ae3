/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test-log.c: logging never floods: repeats are summarised, bursts are capped and counted. */
#include <sys/mman.h>
#include <unistd.h>

#include "log.h"
#include "test.h"

/* Run fn with stderr captured; return what it wrote. */
static char *capture(void (*fn)(void))
{
        int fd = memfd_create("log", MFD_CLOEXEC), saved = dup(STDERR_FILENO);
        off_t size;
        char *text;

        CHECK(fd >= 0 && saved >= 0);
        log_reset();
        fflush(stderr);
        CHECK(dup2(fd, STDERR_FILENO) >= 0);
        fn();
        fflush(stderr);
        CHECK(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        size = lseek(fd, 0, SEEK_END);
        text = calloc(1, (size_t) size + 1);
        CHECK(text && pread(fd, text, (size_t) size, 0) == size);
        close(fd);
        return text;
}

static size_t count_lines(const char *s)
{
        size_t n = 0;
        for (; *s; s++)
                n += *s == '\n';
        return n;
}

static void repeats(void)
{
        for (int i = 0; i < 120; i++)
                log_warning("Connection lost: %s", "broken pipe");
        log_info("Connected again");
        log_flush();
}

static void burst(void)
{
        for (int i = 0; i < 250; i++)
                log_warning("Rejected property set %d: bad JSON", i);
        /* An event an operator looks for is not lost in the flood. */
        log_struct(LOG_INFO, ALI_MESSAGE_CLOUD_CONNECTED, "Connected to %s", "example.invalid:443");
        log_flush();
}

static void errno_kept(void)
{
        errno = EAGAIN;
        CHECK(log_error_errno(ENOENT, "open: %m") == -ENOENT);
        CHECK(errno == EAGAIN);
        CHECK(log_warning_errno(-EACCES, "x") == -EACCES);
        log_flush();
}

TEST(repeats_are_summarised)
{
        char *out = capture(repeats);

        CHECK_STREQ(out, "Connection lost: broken pipe\n"
                         "... repeated 119 more times: Connection lost: broken pipe\n"
                         "Connected again\n");
        free(out);
}

TEST(bursts_are_capped)
{
        char *out = capture(burst);

        /* 200 written, 50 counted and summarised; the catalogued event written all the same. */
        CHECK_INTEQ(count_lines(out), 202);
        CHECK_CONTAINS(out, "Rejected property set 199: bad JSON\nConnected to example.invalid:443\n"
                            "50 log messages suppressed (more than 200 in 10 s)\n");
        CHECK(strstr(out, "Rejected property set 200:") == NULL);
        free(out);
}

TEST(errors_and_errno)
{
        char *out = capture(errno_kept);

        CHECK_STREQ(out, "open: No such file or directory\nx\n");
        free(out);
}

TEST(levels)
{
        CHECK(log_level_from_string("debug") == LOG_DEBUG);
        CHECK(log_level_from_string("error") == LOG_ERR);
        CHECK(log_level_from_string("warning") == LOG_WARNING);
        CHECK(log_level_from_string("loud") == -EINVAL);
        CHECK_STREQ(log_level_to_string(LOG_NOTICE), "notice");
}
