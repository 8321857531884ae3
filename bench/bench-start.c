/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* bench-start.c: how long a program takes from exec to ready and to connected (make bench).
 *
 *   bench-start --runs N --socket PATH [--timeout S] -- DAEMON ARGS...
 *   bench-start --runs N --stdout-line PREFIX [--timeout S] -- PROGRAM ARGS...
 *
 * With --socket it plays systemd's side of the notify protocol: binds an AF_UNIX datagram socket at PATH and
 * starts DAEMON with NOTIFY_SOCKET=PATH; "ready" is the datagram carrying READY=1, "connected" the one
 * carrying STATUS=connected (ali-linkd sends it once CONNACK and every SUBACK are in). With --stdout-line
 * (for the echo client, which knows no notify protocol) both are the moment a line starting with PREFIX
 * appears on the program's stdout. Times run from just before fork(). N times, one after the other: start,
 * wait, stop with SIGTERM, wait for the exit. Prints one line per run:
 * "start run=K ready_ms=MS connected_ms=MS cpu_ms=MS", the last being the CPU time the program had used when
 * it was connected (/proc/PID/schedstat). Exit status 1 when a run timed out or the program failed to exit
 * cleanly (the echo client may end on SIGTERM). */
#include <fcntl.h>
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

/* CPU time the process has had so far (first field of /proc/PID/schedstat), or 0. */
static uint64_t cpu_ns(pid_t pid)
{
        char path[64];
        unsigned long long ns = 0;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/schedstat", (int) pid);
        f = fopen(path, "re");
        if (!f)
                return 0;
        if (fscanf(f, "%llu", &ns) != 1)
                ns = 0;
        fclose(f);
        return ns;
}

static bool has_line(const char *buf, const char *prefix)
{
        size_t l = strlen(prefix);

        for (const char *p = buf; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
                if (strncmp(p, prefix, l) == 0)
                        return true;
        return false;
}

static void usage(void)
{
        fprintf(stderr, "usage: bench-start --runs N (--socket PATH | --stdout-line PREFIX) [--timeout S] "
                        "-- PROGRAM ARGS...\n");
        exit(2);
}

int main(int argc, char *argv[])
{
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        const char *path = NULL, *line = NULL;
        int runs = 20, fd = -1, i, status;
        double timeout_s = 10;
        char buf[4096];

        for (i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
                if (i + 1 >= argc)
                        usage();
                if (strcmp(argv[i], "--runs") == 0)
                        runs = atoi(argv[++i]);
                else if (strcmp(argv[i], "--socket") == 0)
                        path = argv[++i];
                else if (strcmp(argv[i], "--stdout-line") == 0)
                        line = argv[++i];
                else if (strcmp(argv[i], "--timeout") == 0)
                        timeout_s = atof(argv[++i]);
                else
                        usage();
        }
        if (i >= argc - 1 || !!path == !!line || runs < 1 || (path && strlen(path) >= sizeof(a.sun_path)))
                usage();
        argv += i + 1;

        if (path) {
                memcpy(a.sun_path, path, strlen(path));
                (void) unlink(path);
                fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
                if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                        perror("bench-start");
                        return 1;
                }
                if (setenv("NOTIFY_SOCKET", path, 1) < 0)
                        return 1;
        }

        for (int run = 1; run <= runs; run++) {
                uint64_t start, ready = 0, connected = 0, cpu = 0, deadline;
                int out[2] = {-1, -1};
                size_t have = 0;
                pid_t pid;

                if (line && pipe2(out, O_CLOEXEC) < 0)
                        return 1;
                start = now_ns();
                pid = fork();
                if (pid < 0)
                        return 1;
                if (pid == 0) {
                        if (line && dup2(out[1], STDOUT_FILENO) < 0)
                                _exit(127);
                        execv(argv[0], argv);
                        _exit(127);
                }
                if (line)
                        (void) close(out[1]);
                deadline = start + (uint64_t) (timeout_s * 1e9);
                while (!(ready && connected)) {
                        uint64_t t = now_ns();
                        struct pollfd p = {.fd = line ? out[0] : fd, .events = POLLIN};
                        ssize_t n;

                        if (t >= deadline || poll(&p, 1, (int) ((deadline - t) / 1000000 + 1)) <= 0)
                                break;
                        if (line) {
                                n = read(out[0], buf + have, sizeof(buf) - 1 - have);
                                t = now_ns();
                                if (n <= 0)
                                        break;
                                have += (size_t) n;
                                buf[have] = 0;
                                if (has_line(buf, line)) {
                                        ready = connected = t;
                                        cpu = cpu_ns(pid);
                                }
                                if (have == sizeof(buf) - 1)
                                        have = 0;
                                continue;
                        }
                        n = recv(fd, buf, sizeof(buf) - 1, 0);
                        t = now_ns();
                        if (n < 0)
                                break;
                        buf[n] = 0;
                        if (!ready && has_line(buf, "READY=1"))
                                ready = t;
                        if (!connected && has_line(buf, "STATUS=connected")) {
                                connected = t;
                                cpu = cpu_ns(pid);
                        }
                }
                (void) kill(pid, SIGTERM);
                if (waitpid(pid, &status, 0) < 0 ||
                        !((WIFEXITED(status) && WEXITSTATUS(status) == 0) ||
                                (line && WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM))) {
                        fprintf(stderr, "bench-start: run %d: %s did not exit cleanly (status 0x%x)\n", run,
                                argv[0], status);
                        return 1;
                }
                if (line)
                        (void) close(out[0]);
                else /* drop what it said while stopping */
                        while (recv(fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
                                ;
                if (!ready || !connected) {
                        fprintf(stderr, "bench-start: run %d: no %s within %.0f s\n", run,
                                line     ? line
                                : !ready ? "READY=1"
                                         : "STATUS=connected",
                                timeout_s);
                        return 1;
                }
                printf("start run=%d ready_ms=%.2f connected_ms=%.2f cpu_ms=%.2f\n", run,
                        (double) (ready - start) / 1e6, (double) (connected - start) / 1e6,
                        (double) cpu / 1e6);
                fflush(stdout);
        }
        if (path)
                (void) unlink(path);
        return 0;
}
