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
