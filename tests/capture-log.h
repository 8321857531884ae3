/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* capture-log.h: run a function with stderr (where ali-linkd's log goes) captured, for the tests. */
#pragma once

/* Runs fn(userdata) with stderr in a memfd; returns fn's result and *ret_log the log (malloc'ed). The log
 * is written to the real stderr too, so a failing test shows it. */
int capture_log(int (*fn)(void *userdata), void *userdata, char **ret_log);
