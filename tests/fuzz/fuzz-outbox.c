/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-outbox.c: libFuzzer harness for the outbox journal reader (a file a crash or a bad disk may have
 * left in any state). */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "outbox.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int send_fn(void *userdata, const char *topic, const void *payload, size_t len, int *ret_mid)
{
        (void) userdata;
        (void) topic;
        (void) payload;
        (void) len;
        *ret_mid = 1;
        return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static char path[64];
        static sd_event *event;
        size_t good = 0, n;
        Outbox *o = NULL;
        int fd;

        if (!event) {
                if (sd_event_new(&event) < 0)
                        abort();
                snprintf(path, sizeof(path), "/tmp/fuzz-outbox.%d", (int) getpid());
                log_set_max_level(-1);
        }
        n = outbox_scan(data, size, &good);
        if (good > size || (n == 0 && good != 0))
                abort();

        fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || write(fd, data, size) != (ssize_t) size)
                abort();
        close(fd);
        if (outbox_new(&o, event, path, &OUTBOX_LIMITS_DEFAULT, send_fn, NULL, NULL) == 0) {
                /* What was loaded is what the scan found, minus the removals. */
                if (outbox_depth(o) > n)
                        abort();
                outbox_set_online(o, true);
                outbox_free(o);
        }
        unlink(path);
        return 0;
}
