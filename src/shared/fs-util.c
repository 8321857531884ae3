/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs-util.h"
#include "macro.h"

int fsync_directory_of(const char *path)
{
        _cleanup_(freep) char *copy = strdup(path);
        _cleanup_(closep) int fd = -1;

        if (!copy)
                return -ENOMEM;
        fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0 || fsync(fd) < 0)
                return -errno;
        return 0;
}

int write_file_atomic(const char *path, const char *content, mode_t mode)
{
        _cleanup_(freep) char *tmp = NULL;
        _cleanup_(closep) int fd = -1;
        size_t len = strlen(content), done = 0;
        int r;

        if (asprintf(&tmp, "%s.tmp", path) < 0)
                return -ENOMEM;
        fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
        if (fd < 0)
                return -errno;
        while (done < len) {
                ssize_t n = write(fd, content + done, len - done);
                if (n < 0) {
                        r = -errno;
                        (void) unlink(tmp);
                        return r;
                }
                done += (size_t) n;
        }
        if (fsync(fd) < 0 || close(TAKE_FD(fd)) < 0 || rename(tmp, path) < 0) {
                r = -errno;
                (void) unlink(tmp);
                return r;
        }
        return fsync_directory_of(path);
}

int mkdir_parents_and_self(const char *path, mode_t mode)
{
        _cleanup_(freep) char *p = strdup(path);

        if (!p)
                return -ENOMEM;
        for (char *s = p + 1;; s++) {
                if (*s != '/' && *s != 0)
                        continue;
                char c = *s;
                *s = 0;
                if (mkdir(p, mode) < 0 && errno != EEXIST)
                        return -errno;
                *s = c;
                if (c == 0)
                        return 0;
        }
}

int open_state_file(const char *path, int flags, mode_t mode)
{
        _cleanup_(closep) int fd = -1;
        struct stat st;

        /* O_NONBLOCK: opening a FIFO must not wait for a writer; cleared once it is known to be a file. */
        fd = open(path, flags | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK, mode);
        if (fd < 0)
                return -errno;
        if (fstat(fd, &st) < 0)
                return -errno;
        if (!S_ISREG(st.st_mode))
                return -EBADFD;
        if (!(flags & O_NONBLOCK) && fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK) < 0)
                return -errno;
        return TAKE_FD(fd);
}

int fopen_state_file(const char *path, FILE **ret)
{
        _cleanup_(closep) int fd = open_state_file(path, O_RDONLY, 0);
        FILE *f;

        if (fd < 0)
                return fd;
        f = fdopen(fd, "re");
        if (!f)
                return -errno;
        TAKE_FD(fd);
        *ret = f;
        return 0;
}

const char *state_file_strerror(int error)
{
        switch (error) {
        case -ELOOP:
                return "it is a symbolic link, which state files never are";
        case -EBADFD:
                return "it is not a regular file";
        default:
                return strerror(-error);
        }
}
