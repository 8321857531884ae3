/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* spawn.c: fork + execve with a clean slate. Between fork and exec only async-signal-safe calls. */
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "macro.h"
#include "spawn.h"

int spawn_child(char *const *argv, char *const *envp, int stdout_fd, pid_t *ret_pid)
{
        return spawn_child_stdio(argv, envp, /* stdin_fd= */ -1, stdout_fd, ret_pid);
}

int spawn_child_stdio(char *const *argv, char *const *envp, int stdin_fd, int stdout_fd, pid_t *ret_pid)
{
        _cleanup_(closep) int null_fd = -1;
        pid_t pid;

        if (!argv || !argv[0] || argv[0][0] != '/')
                return -EINVAL;
        null_fd = open("/dev/null", O_RDWR | O_CLOEXEC | O_NOCTTY);
        if (null_fd < 0)
                return -errno;

        pid = fork();
        if (pid < 0)
                return -errno;
        if (pid == 0) {
                struct sigaction sa = {.sa_handler = SIG_DFL};
                sigset_t none;

                for (int sig = 1; sig < _NSIG; sig++)
                        (void) sigaction(sig, &sa, NULL);
                sigemptyset(&none);
                (void) sigprocmask(SIG_SETMASK, &none, NULL);
                (void) setpgid(0, 0);

                if (dup2(stdin_fd >= 0 ? stdin_fd : null_fd, STDIN_FILENO) < 0 ||
                        dup2(stdout_fd >= 0 ? stdout_fd : STDERR_FILENO, STDOUT_FILENO) < 0)
                        _exit(127);
                /* Everything but 0, 1 and 2: the MQTT and download sockets, state files. */
                if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
                        for (int fd = 3; fd < 65536; fd++)
                                (void) close(fd);
                execve(argv[0], argv, envp);
                _exit(127);
        }
        /* Also from the parent, so the group exists before anyone signals it. */
        (void) setpgid(pid, pid);
        *ret_pid = pid;
        return 0;
}
