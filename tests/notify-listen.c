/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* notify-listen.c: stand in for systemd's notification socket ($NOTIFY_SOCKET) in tests.
 *
 * Binds an AF_UNIX datagram socket at the given path and prints every line of every datagram it receives
 * ("READY=1", "STATUS=...") on stdout, flushed at once. Prints "# listening" when bound. Runs until
 * killed. */
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        char buf[65536];
        int fd;

        if (argc != 2 || strlen(argv[1]) >= sizeof(a.sun_path)) {
                fprintf(stderr, "usage: notify-listen PATH\n");
                return 2;
        }
        memcpy(a.sun_path, argv[1], strlen(argv[1]));
        fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0) {
                perror("notify-listen");
                return 1;
        }
        printf("# listening\n");
        fflush(stdout);
        for (;;) {
                ssize_t n = recv(fd, buf, sizeof(buf) - 1, 0);
                if (n < 0)
                        return 1;
                buf[n] = 0;
                for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n"))
                        printf("%s\n", line);
                fflush(stdout);
        }
}
