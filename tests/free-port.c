/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* free-port.c: print a TCP port on 127.0.0.1 that is free right now (the kernel picks it). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <sys/socket.h>
#include <unistd.h>

int main(void)
{
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        socklen_t l = sizeof(a);
        int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

        if (fd < 0 || bind(fd, (struct sockaddr *) &a, sizeof(a)) < 0 ||
                getsockname(fd, (struct sockaddr *) &a, &l) < 0) {
                perror("free-port");
                return 1;
        }
        printf("%u\n", ntohs(a.sin_port));
        close(fd);
        return 0;
}
