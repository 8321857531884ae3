/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* test.h: the unit tests' tiny harness: TEST(name) functions run in order, checks abort with a message. */
#pragma once

#undef NDEBUG
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

#define CHECK_STREQ(a, b)                                                                                   \
        do {                                                                                                \
                const char *_a_ = (a), *_b_ = (b);                                                          \
                if (!_a_ || !_b_ || strcmp(_a_, _b_) != 0) {                                                \
                        fprintf(stderr, "%s:%d: expected \"%s\", got \"%s\" (%s)\n", __FILE__, __LINE__,    \
                                _b_ ? _b_ : "(null)", _a_ ? _a_ : "(null)", #a);                            \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

#define CHECK_INTEQ(a, b)                                                                                   \
        do {                                                                                                \
                long long _a_ = (long long) (a), _b_ = (long long) (b);                                     \
                if (_a_ != _b_) {                                                                           \
                        fprintf(stderr, "%s:%d: expected %lld, got %lld (%s)\n", __FILE__, __LINE__, _b_,   \
                                _a_, #a);                                                                   \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

#define CHECK_CONTAINS(haystack, needle)                                                                    \
        do {                                                                                                \
                const char *_h_ = (haystack), *_n_ = (needle);                                              \
                if (!_h_ || !strstr(_h_, _n_)) {                                                            \
                        fprintf(stderr, "%s:%d: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__,      \
                                _h_ ? _h_ : "(null)", _n_);                                                 \
                        abort();                                                                            \
                }                                                                                           \
        } while (0)

#define TEST(name)                                                                                          \
        static void test_##name(void);                                                                      \
        __attribute__((constructor)) static void register_##name(void)                                      \
        {                                                                                                   \
                test_register(#name, test_##name);                                                          \
        }                                                                                                   \
        static void test_##name(void)

typedef struct TestCase {
        const char *name;
        void (*fn)(void);
} TestCase;

static TestCase test_cases[256];
static size_t n_test_cases;

static inline void test_register(const char *name, void (*fn)(void))
{
        if (n_test_cases < sizeof(test_cases) / sizeof(test_cases[0]))
                test_cases[n_test_cases++] = (TestCase){name, fn};
}

int main(void)
{
        for (size_t i = 0; i < n_test_cases; i++) {
                test_cases[i].fn();
                printf("ok %zu - %s\n", i + 1, test_cases[i].name);
        }
        printf("%zu tests passed\n", n_test_cases);
        return 0;
}
