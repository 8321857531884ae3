/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-start.c: how long ali-linkd takes from exec to READY=1 and to connected (make bench).
 *
 *   bench-start --runs N --socket PATH [--timeout S] -- DAEMON ARGS...
 *
 * Plays systemd's side of the notify protocol: binds an AF_UNIX datagram socket at PATH, then N times
 * starts DAEMON with NOTIFY_SOCKET=PATH, timing from just before fork() to the datagram carrying READY=1 and
 * to the one carrying STATUS=connected (sent once CONNACK and every SUBACK are in), then stops it with
 * SIGTERM and waits for it to exit before the next run. Prints one line per run:
 * "start run=K ready_ms=MS connected_ms=MS". Exit status 1 when a run timed out or the daemon failed. */
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
        struct timespec ts;

        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t) ts.tv_sec * 1000000000ull + (uint64_t) ts.tv_nsec;
}

static bool has_line(const char *buf, const char *prefix)
{
        size_t l = strlen(prefix);

        for (const char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, prefix, l) == 0)
                        return true;
        return false;
}

int main(int argc, char *argv[])
{
        struct sockaddr_un a = { .sun_family = AF_UNIX };
        const char *path = NULL;
        int runs = 20, fd, i, status;
        double timeout_s = 10;
        char buf[4096];

        for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
                if (i + 1 >= argc)
                        break;
                if (strcmp(argv[i], "--runs") == 0)
                        runs = atoi(argv[++i]);
                else if (strcmp(argv[i], "--socket") == 0)
                        path = argv[++i];
                else if (strcmp(argv[i], "--timeout") == 0)
                        timeout_s = atof(argv[++i]);
                else
                        break;
        }
        if (i >= argc - 1 || strcmp(argv[i], "--") != 0 || !path || strlen(path) >= sizeof(a.sun_path) || runs < 1) {
                fprintf(stderr, "usage: bench-start --runs N --socket PATH [--timeout S] -- DAEMON ARGS...\n");
                return 2;
        }
        argv += i + 1;

        memcpy(a.sun_path, path, strlen(path));
        (void) unlink(path);
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                perror("bench-start");
                return 1;
        }
        if (setenv("NOTIFY_SOCKET", path, 1) < 0)
                return 1;

        for (int run = 1; run <= runs; run++) {
                uint64_t start, ready = 0, connected = 0, deadline;
                pid_t pid;

                start = now_ns();
                pid = fork();
                if (pid < 0)
                        return 1;
                if (pid == 0) {
                        execv(argv[0], argv);
                        _exit(127);
                }
                deadline = start + (uint64_t) (timeout_s * 1e9);
                while (!(ready && connected)) {
                        uint64_t t = now_ns();
                        struct pollfd p = { .fd = fd, .events = POLLIN };
                        ssize_t n;

                        if (t >= deadline || poll(&p, 1, (int) ((deadline - t) / 1000000 + 1)) <= 0)
                                break;
                        n = recv(fd, buf, sizeof(buf) - 1, 0);
                        t = now_ns();
                        if (n < 0)
                                break;
                        buf[n] = 0;
                        if (!ready && has_line(buf, "READY=1"))
                                ready = t;
                        if (!connected && has_line(buf, "STATUS=connected"))
                                connected = t;
                }
                (void) kill(pid, SIGTERM);
                if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
                        fprintf(stderr, "bench-start: run %d: the daemon did not exit cleanly (status 0x%x)\n", run,
                                status);
                        return 1;
                }
                /* Drop what it said while stopping. */
                while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
                        ;
                if (!ready || !connected) {
                        fprintf(stderr, "bench-start: run %d: no %s within %.0f s\n", run,
                                !ready ? "READY=1" : "STATUS=connected", timeout_s);
                        return 1;
                }
                printf("start run=%d ready_ms=%.2f connected_ms=%.2f\n", run, (double) (ready - start) / 1e6,
                        (double) (connected - start) / 1e6);
                fflush(stdout);
        }
        (void) unlink(path);
        return 0;
}
