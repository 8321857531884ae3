/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* string-table.h: enum <-> string conversions generated from one table, the way systemd's string-table.h
 * does it.
 *
 * Given `static const char *const name##_table[_X_MAX] = { [X_A] = "a", ... };` the macros define
 * `const char *name_to_string(type)` (NULL out of range) and `type name_from_string(const char *)` (-EINVAL
 * for NULL or an unknown string; the enum's _X_INVALID is -EINVAL). The _CASE variant ignores case. */
#pragma once

#include <errno.h>
#include <strings.h>

#include "macro.h"

#define DEFINE_STRING_TABLE_TO_STRING(name, type)                                                           \
        const char *name##_to_string(type i)                                                                \
        {                                                                                                   \
                if ((int) i < 0 || (size_t) i >= ELEMENTSOF(name##_table))                                  \
                        return NULL;                                                                        \
                return name##_table[i];                                                                     \
        }

#define _DEFINE_STRING_TABLE_FROM_STRING(name, type, cmp)                                                   \
        type name##_from_string(const char *s)                                                              \
        {                                                                                                   \
                if (!s)                                                                                     \
                        return (type) -EINVAL;                                                              \
                for (size_t i = 0; i < ELEMENTSOF(name##_table); i++)                                       \
                        if (name##_table[i] && cmp(s, name##_table[i]) == 0)                                \
                                return (type) i;                                                            \
                return (type) -EINVAL;                                                                      \
        }

#define DEFINE_STRING_TABLE(name, type)                                                                     \
        DEFINE_STRING_TABLE_TO_STRING(name, type)                                                           \
        _DEFINE_STRING_TABLE_FROM_STRING(name, type, strcmp)

#define DEFINE_STRING_TABLE_CASE(name, type)                                                                \
        DEFINE_STRING_TABLE_TO_STRING(name, type)                                                           \
        _DEFINE_STRING_TABLE_FROM_STRING(name, type, strcasecmp)
