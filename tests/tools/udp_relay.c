/* SPDX-License-Identifier: Apache-2.0 */
/* A UDP relay for the CoAPS tests: it sits between one client and the Registrar on loopback and loses, reorders
 * or repeats datagrams in a fixed pattern (never at random: a failing run can be run again the same way).
 *
 *   m2m-udp-relay --to PORT [--drop-every N] [--reorder-every N] [--dup]
 *
 * Prints "relay port P" once listening on 127.0.0.1:P; the first datagram there names the client. Each direction
 * counts its datagrams from 1: --drop-every N drops every Nth; --reorder-every N holds every Nth and sends it after
 * the next one (or 300 ms later if none comes); --dup sends every client datagram twice (a replay of each). Runs
 * until killed; prints what it did on SIGTERM. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

typedef struct dir {
    unsigned long n, dropped, reordered, duplicated;
    unsigned char held[65536];
    ssize_t held_len;
} dir;

static volatile sig_atomic_t stop;
static void on_term(int sig)
{
    (void)sig;
    stop = 1;
}

static void send_to(int fd, const struct sockaddr_in *to, const unsigned char *b, ssize_t len)
{
    if (to != NULL)
        (void)sendto(fd, b, (size_t)len, 0, (const struct sockaddr *)to, sizeof *to);
    else
        (void)send(fd, b, (size_t)len, 0);
}

/* One datagram through the pattern. to == NULL: the connected upstream socket. */
static void pass(dir *d, int fd, const struct sockaddr_in *to, const unsigned char *b, ssize_t len, int drop_every,
                 int reorder_every, int dup)
{
    d->n++;
    if (drop_every > 0 && d->n % (unsigned long)drop_every == 0) {
        d->dropped++;
        return;
    }
    if (reorder_every > 0 && d->n % (unsigned long)reorder_every == 0 && d->held_len == 0) {
        memcpy(d->held, b, (size_t)len);
        d->held_len = len;
        d->reordered++;
        return;
    }
    send_to(fd, to, b, len);
    if (dup) {
        send_to(fd, to, b, len);
        d->duplicated++;
    }
    if (d->held_len > 0) {
        send_to(fd, to, d->held, d->held_len);
        d->held_len = 0;
    }
}

int main(int argc, char **argv)
{
    static dir up, down;
    struct sockaddr_in a, client;
    socklen_t alen = sizeof a;
    int to = 0, drop_every = 0, reorder_every = 0, dup = 0, have_client = 0;
    int lfd = socket(AF_INET, SOCK_DGRAM, 0), ufd = socket(AF_INET, SOCK_DGRAM, 0);
    unsigned char buf[65536];

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--to") == 0 && i + 1 < argc)
            to = atoi(argv[++i]);
        else if (strcmp(argv[i], "--drop-every") == 0 && i + 1 < argc)
            drop_every = atoi(argv[++i]);
        else if (strcmp(argv[i], "--reorder-every") == 0 && i + 1 < argc)
            reorder_every = atoi(argv[++i]);
        else if (strcmp(argv[i], "--dup") == 0)
            dup = 1;
        else {
            fprintf(stderr, "usage: m2m-udp-relay --to PORT [--drop-every N] [--reorder-every N] [--dup]\n");
            return 2;
        }
    }
    memset(&a, 0, sizeof a);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (to <= 0 || lfd < 0 || ufd < 0 || bind(lfd, (struct sockaddr *)&a, sizeof a) != 0 ||
        getsockname(lfd, (struct sockaddr *)&a, &alen) != 0)
        return 1;
    printf("relay port %d\n", ntohs(a.sin_port));
    fflush(stdout);
    a.sin_port = htons((uint16_t)to);
    if (connect(ufd, (struct sockaddr *)&a, sizeof a) != 0)
        return 1;
    signal(SIGTERM, on_term);
    while (!stop) {
        struct pollfd p[2] = {{lfd, POLLIN, 0}, {ufd, POLLIN, 0}};
        int r = poll(p, 2, 300);
        if (r < 0 && errno != EINTR)
            break;
        if (r == 0) { /* nothing followed a held datagram: send it now */
            if (up.held_len > 0)
                send_to(ufd, NULL, up.held, up.held_len), up.held_len = 0;
            if (down.held_len > 0 && have_client)
                send_to(lfd, &client, down.held, down.held_len), down.held_len = 0;
            continue;
        }
        if (p[0].revents & POLLIN) {
            socklen_t cl = sizeof client;
            ssize_t n = recvfrom(lfd, buf, sizeof buf, 0, (struct sockaddr *)&client, &cl);
            if (n > 0) {
                have_client = 1;
                pass(&up, ufd, NULL, buf, n, drop_every, reorder_every, dup);
            }
        }
        if ((p[1].revents & POLLIN) && have_client) {
            ssize_t n = recv(ufd, buf, sizeof buf, 0);
            if (n > 0)
                pass(&down, lfd, &client, buf, n, drop_every, reorder_every, 0);
        }
    }
    fprintf(stderr, "relay: client->registrar %lu (dropped %lu, reordered %lu, duplicated %lu); registrar->client %lu "
                    "(dropped %lu, reordered %lu)\n", up.n, up.dropped, up.reordered, up.duplicated, down.n,
            down.dropped, down.reordered);
    return 0;
}
