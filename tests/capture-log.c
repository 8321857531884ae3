/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* capture-log.c: see capture-log.h. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "capture-log.h"
#include "check.h"

int capture_log(int (*fn)(void *userdata), void *userdata, char **ret_log)
{
        int fd = memfd_create("log", MFD_CLOEXEC), saved = dup(STDERR_FILENO), r;
        off_t size;

        CHECK(fd >= 0 && saved >= 0);
        fflush(stderr);
        CHECK(dup2(fd, STDERR_FILENO) >= 0);
        r = fn(userdata);
        fflush(stderr);
        CHECK(dup2(saved, STDERR_FILENO) >= 0);
        close(saved);
        size = lseek(fd, 0, SEEK_END);
        *ret_log = calloc(1, (size_t) size + 1);
        CHECK(*ret_log);
        CHECK(pread(fd, *ret_log, (size_t) size, 0) == size);
        close(fd);
        /* Shown in the test's own log, so a failure can be understood. */
        fputs(*ret_log, stderr);
        return r;
}
