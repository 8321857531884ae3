/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* fuzz-conf.c: libFuzzer harness for the configuration parser (inih plus our table and checks). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "conf.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static int fd = -1;
        char path[64];
        Conf *c = NULL;

        if (fd < 0) {
                fd = memfd_create("fuzz-conf", MFD_CLOEXEC);
                if (fd < 0)
                        abort();
                log_set_max_level(-1); /* the parser reports every problem: keep the fuzzer's output quiet */
                unsetenv("CREDENTIALS_DIRECTORY");
        }
        if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t) size)
                abort();
        snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
        (void) conf_load(path, &c);
        conf_free(c);
        return 0;
}
