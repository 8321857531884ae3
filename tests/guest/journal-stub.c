/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* journal-stub.c: the journal, for the statically linked guest test program.
 *
 * The guest has no journal, and libsystemd.a cannot be linked beside our own string helpers (both define
 * strv_free()). src/shared/log.c only sends to the journal when $JOURNAL_STREAM names its stderr, which
 * never happens in the guest; this seam keeps that path linkable and makes it fail loudly if it is ever
 * taken. */
#include <errno.h>
#include <systemd/sd-journal.h>

/* What the sd_journal_send() macro calls. */
int sd_journal_send_with_location(
        const char *file, const char *line, const char *func, const char *format, ...)
{
        (void) file;
        (void) line;
        (void) func;
        (void) format;
        return -ENOSYS;
}

/* libcap, which libsystemd's capability helpers call. sd-event never needs them; should anything reach
 * them, they fail as if capabilities were not supported. */
void *cap_get_proc(void);
void *cap_init(void);
void *cap_dup(void *cap);
int cap_free(void *p);
int cap_compare(void *a, void *b);
int cap_get_flag(void *cap, int value, int flag, int *ret);
int cap_set_flag(void *cap, int flag, int n, const int *values, int set);
int cap_set_proc(void *cap);

void *cap_get_proc(void)
{
        errno = ENOSYS;
        return NULL;
}

void *cap_init(void)
{
        errno = ENOSYS;
        return NULL;
}

void *cap_dup(void *cap)
{
        (void) cap;
        errno = ENOSYS;
        return NULL;
}

int cap_free(void *p)
{
        (void) p;
        return 0;
}

int cap_compare(void *a, void *b)
{
        (void) a;
        (void) b;
        errno = ENOSYS;
        return -1;
}

int cap_get_flag(void *cap, int value, int flag, int *ret)
{
        (void) cap;
        (void) value;
        (void) flag;
        (void) ret;
        errno = ENOSYS;
        return -1;
}

int cap_set_flag(void *cap, int flag, int n, const int *values, int set)
{
        (void) cap;
        (void) flag;
        (void) n;
        (void) values;
        (void) set;
        errno = ENOSYS;
        return -1;
}

int cap_set_proc(void *cap)
{
        (void) cap;
        errno = ENOSYS;
        return -1;
}
