/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* check.h: CHECK(), the tests' assertion (abort with the place and the expression), for test programs and
 * the helpers linked into them. test.h adds the richer checks and main(). */
#pragma once

#include <stdio.h>
#include <stdlib.h>

#define CHECK(expr)                                                                                         \
        do {                                                                                                \
                if (!(expr)) {                                                                              \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #expr);            \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)
