/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn.h: start a helper program (the OTA installer hook, the version command, the download helper) as a
 * child process.
 *
 * The child gets exactly the argv and environment it is given (nothing is inherited: the daemon's
 * environment may carry CREDENTIALS_DIRECTORY and the like), stdin from the given fd (or /dev/null), stdout
 * to the given fd (or the daemon's stderr), stderr inherited, every other fd closed, default signal
 * dispositions and an empty signal mask, and its own process group so the whole group can be signalled. The
 * caller watches it with sd_event_add_child() (SIGCHLD must be blocked, main() does that) and reaps it
 * there. */
#pragma once

#include <sys/types.h>

/* The PATH a child gets when its caller has none to give (the daemon's own is not passed on). */
#define SPAWN_DEFAULT_PATH "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* argv[0] must be an absolute path. stdout_fd < 0: the child's stdout goes to the daemon's stderr. */
int spawn_child(char *const *argv, char *const *envp, int stdout_fd, pid_t *ret_pid);
/* The same with stdin from stdin_fd (< 0: /dev/null). The fds stay the caller's. */
int spawn_child_stdio(char *const *argv, char *const *envp, int stdin_fd, int stdout_fd, pid_t *ret_pid);
