/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* macro.h: cleanup helpers and small macros shared by every module.
 *
 * The pattern is systemd's: a variable declared _cleanup_(freep) is released when it goes out of scope, and
 * TAKE_PTR() hands ownership on. Cleanup helpers for foreign types are defined in the one module that
 * includes that library's header (mosquitto in mqtt-session.c, json-c in alink.c, ...), never here. */
#pragma once

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _unused_ __attribute__((unused))
#define _printf_(a, b) __attribute__((format(printf, a, b)))
#define _pure_ __attribute__((pure))
#define _sentinel_ __attribute__((sentinel))
#define _likely_(x) (__builtin_expect(!!(x), 1))
#define _unlikely_(x) (__builtin_expect(!!(x), 0))

#define ELEMENTSOF(x) (sizeof(x) / sizeof((x)[0]))
#define _STRINGIFY(x) #x
#define STRINGIFY(x) _STRINGIFY(x)

/* Take a pointer out of a cleanup variable, leaving NULL behind. */
#define TAKE_PTR(p)                                                                                         \
        ({                                                                                                  \
                typeof(p) _ptr_ = (p);                                                                      \
                (p) = NULL;                                                                                 \
                _ptr_;                                                                                      \
        })

#define TAKE_FD(fd)                                                                                         \
        ({                                                                                                  \
                int _fd_ = (fd);                                                                            \
                (fd) = -1;                                                                                  \
                _fd_;                                                                                       \
        })

#define DEFINE_TRIVIAL_CLEANUP_FUNC(type, func)                                                             \
        static inline void func##p(type *p)                                                                 \
        {                                                                                                   \
                if (*p)                                                                                     \
                        func(*p);                                                                           \
        }

static inline void *mfree(void *p)
{
        free(p);
        return NULL;
}

static inline void freep(void *p)
{
        free(*(void **) p);
}

static inline void closep(int *fd)
{
        if (*fd >= 0) {
                int saved = errno;
                (void) close(*fd);
                errno = saved;
        }
}

static inline void fclosep(FILE **f)
{
        if (*f)
                (void) fclose(*f);
}

/* Free a string that held secret material: wipe it first. */
static inline void erase_and_free(char *s)
{
        if (s) {
                explicit_bzero(s, strlen(s));
                free(s);
        }
}

static inline void erase_and_freep(char **s)
{
        erase_and_free(*s);
}

static inline bool streq(const char *a, const char *b)
{
        return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
        if (!a || !b)
                return a == b;
        return strcmp(a, b) == 0;
}

static inline bool isempty(const char *s)
{
        return !s || !*s;
}

static inline const char *strempty(const char *s)
{
        return s ?: "";
}

static inline const char *strna(const char *s)
{
        return s ?: "n/a";
}

static inline const char *yes_no(bool b)
{
        return b ? "yes" : "no";
}

/* Replace *dst with a copy of src (which may be NULL). Returns 0 or -ENOMEM. */
static inline int free_and_strdup(char **dst, const char *src)
{
        char *t = NULL;

        if (src) {
                t = strdup(src);
                if (!t)
                        return -ENOMEM;
        }
        free(*dst);
        *dst = t;
        return 0;
}

#define MIN(a, b)                                                                                           \
        ({                                                                                                  \
                typeof(a) _a_ = (a);                                                                        \
                typeof(b) _b_ = (b);                                                                        \
                _a_ < _b_ ? _a_ : _b_;                                                                      \
        })
#define MAX(a, b)                                                                                           \
        ({                                                                                                  \
                typeof(a) _a_ = (a);                                                                        \
                typeof(b) _b_ = (b);                                                                        \
                _a_ > _b_ ? _a_ : _b_;                                                                      \
        })

#define USEC_PER_SEC ((uint64_t) 1000000ULL)
#define USEC_PER_MSEC ((uint64_t) 1000ULL)
#define NSEC_PER_USEC ((uint64_t) 1000ULL)
