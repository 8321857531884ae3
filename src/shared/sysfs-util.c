/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* sysfs-util.c: one value per file, opened for each access. */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "macro.h"
#include "string-util.h"
#include "sysfs-util.h"

int sysfs_write(const char *path, const char *value)
{
        _cleanup_(closep) int fd = -1;
        size_t len = strlen(value);
        ssize_t n;

        fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        /* sysfs takes the whole value in one write; a short write means it refused the rest. */
        n = write(fd, value, len);
        if (n < 0)
                return -errno;
        if ((size_t) n != len)
                return -EIO;
        if (close(TAKE_FD(fd)) < 0)
                return -errno;
        return 0;
}

int sysfs_write_u64(const char *path, uint64_t value)
{
        char buf[sizeof(uint64_t) * 3 + 1];

        (void) snprintf(buf, sizeof(buf), "%" PRIu64, value);
        return sysfs_write(path, buf);
}

int sysfs_read(const char *path, char **ret)
{
        _cleanup_(closep) int fd = -1;
        _cleanup_(freep) char *buf = NULL;
        size_t len = 0;

        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (fd < 0)
                return -errno;
        buf = malloc(SYSFS_VALUE_MAX + 1);
        if (!buf)
                return -ENOMEM;
        for (;;) {
                ssize_t n = read(fd, buf + len, SYSFS_VALUE_MAX + 1 - len);
                if (n < 0)
                        return -errno;
                if (n == 0)
                        break;
                len += (size_t) n;
                if (len > SYSFS_VALUE_MAX)
                        return -EFBIG;
        }
        if (memchr(buf, 0, len))
                return -EBADMSG;
        while (len > 0 && (buf[len - 1] == '\n' || buf[len - 1] == ' '))
                len--;
        buf[len] = 0;
        *ret = TAKE_PTR(buf);
        return 0;
}

int sysfs_read_u64(const char *path, uint64_t *ret)
{
        _cleanup_(freep) char *s = NULL;
        int r;

        r = sysfs_read(path, &s);
        if (r < 0)
                return r;
        r = safe_atou64_range(s, 0, UINT64_MAX, ret);
        return r < 0 ? -EBADMSG : 0;
}

int sysfs_parse_u64_list(const char *s, uint64_t *values, size_t n)
{
        _cleanup_(strv_freep) char **words = NULL;
        size_t count;

        if (strv_split(s, " \t\n", &words) < 0)
                return -ENOMEM;
        count = strv_length(words);
        if (count > n)
                return -EBADMSG;
        for (size_t i = 0; i < count; i++)
                if (safe_atou64_range(words[i], 0, UINT64_MAX, &values[i]) < 0)
                        return -EBADMSG;
        return (int) count;
}
