/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fake-sysfs.c: see fake-sysfs.h. */
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "fake-sysfs.h"
#include "macro.h"

#define FAKE_SYSFS_MAX_WATCHES 16

struct FakeSysfsWatch {
        int fd;
        int wd[FAKE_SYSFS_MAX_WATCHES];
        char *dir[FAKE_SYSFS_MAX_WATCHES];
        size_t n;
};

static char *join(const char *a, const char *b)
{
        size_t n = strlen(a) + 1 + strlen(b) + 1;
        char *s = malloc(n);

        CHECK(s);
        (void) snprintf(s, n, "%s/%s", a, b);
        return s;
}

char *fake_sysfs_new(void)
{
        char *root = strdup("/tmp/ali-linkd-sysfs.XXXXXX");

        CHECK(root && mkdtemp(root));
        CHECK(chmod(root, 0755) == 0);
        return root;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void) st;
        (void) flag;
        (void) ftw;
        return remove(path);
}

void fake_sysfs_remove(char *root)
{
        if (!root)
                return;
        (void) nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        free(root);
}

static void mkdir_p(char *path)
{
        for (char *s = path + 1; *s; s++)
                if (*s == '/') {
                        *s = 0;
                        CHECK(mkdir(path, 0755) == 0 || errno == EEXIST);
                        *s = '/';
                }
        CHECK(mkdir(path, 0755) == 0 || errno == EEXIST);
}

void fake_sysfs_mkdir(const char *root, const char *relative)
{
        char *p = join(root, relative);

        mkdir_p(p);
        free(p);
}

void fake_sysfs_file(const char *root, const char *relative, const char *content)
{
        char *p = join(root, relative), *dir;
        FILE *f;

        dir = strndup(p, (size_t) (strrchr(p, '/') - p));
        CHECK(dir);
        mkdir_p(dir);
        free(dir);
        f = fopen(p, "we");
        CHECK(f);
        CHECK(fprintf(f, "%s\n", content) >= 0);
        CHECK(fclose(f) == 0);
        CHECK(chmod(p, 0644) == 0);
        free(p);
}

char *fake_sysfs_read(const char *root, const char *relative)
{
        char *p = join(root, relative), *s = NULL;
        size_t n = 0;
        FILE *f = fopen(p, "re");
        ssize_t len;

        CHECK(f);
        len = getdelim(&s, &n, 0, f);
        if (len < 0) {
                free(s);
                s = strdup("");
                len = 0;
        }
        while (len > 0 && s[len - 1] == '\n')
                s[--len] = 0;
        fclose(f);
        free(p);
        return s;
}

void fake_sysfs_pwm_channel(const char *root, const char *chip, unsigned channel)
{
        static const char *const attrs[] = {"period", "duty_cycle", "enable"};

        for (size_t i = 0; i < ELEMENTSOF(attrs); i++) {
                char *p;
                CHECK(asprintf(&p, "class/pwm/%s/pwm%u/%s", chip, channel, attrs[i]) >= 0);
                fake_sysfs_file(root, p, "0");
                free(p);
        }
}

FakeSysfsWatch *fake_sysfs_watch(const char *root, const char *const *dirs)
{
        FakeSysfsWatch *w = calloc(1, sizeof(*w));

        CHECK(w);
        w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        CHECK(w->fd >= 0);
        for (; *dirs; dirs++) {
                char *p = join(root, *dirs);
                CHECK(w->n < FAKE_SYSFS_MAX_WATCHES);
                w->wd[w->n] = inotify_add_watch(w->fd, p, IN_CLOSE_WRITE);
                free(p);
                if (w->wd[w->n] < 0 && errno == ENOENT)
                        continue; /* nothing can be written in a directory that is not there */
                CHECK(w->wd[w->n] >= 0);
                w->dir[w->n] = strdup(*dirs);
                CHECK(w->dir[w->n]);
                w->n++;
        }
        return w;
}

char *fake_sysfs_writes(FakeSysfsWatch *w)
{
        char *out = NULL;
        size_t size = 0;
        FILE *f = open_memstream(&out, &size);
        char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
        ssize_t n;
        bool first = true;

        CHECK(f);
        while ((n = read(w->fd, buf, sizeof(buf))) > 0)
                for (char *p = buf; p < buf + n;) {
                        struct inotify_event *e = (struct inotify_event *) p;
                        for (size_t i = 0; i < w->n; i++)
                                if (w->wd[i] == e->wd && e->len > 0) {
                                        fprintf(f, "%s%s/%s", first ? "" : " ", w->dir[i], e->name);
                                        first = false;
                                }
                        CHECK(!(e->mask & IN_Q_OVERFLOW));
                        p += sizeof(*e) + e->len;
                }
        CHECK(n < 0 && errno == EAGAIN);
        CHECK(fclose(f) == 0);
        close(w->fd);
        for (size_t i = 0; i < w->n; i++)
                free(w->dir[i]);
        free(w);
        return out;
}
