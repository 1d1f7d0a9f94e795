/*
 * vchan_peer.c: one end of a vchan through libxenvchan itself, for the tests
 * and benchmarks that hold Xen.Rings' vchan against Xen's own implementation
 * (vchan-socket-proxy only ever asks for the two rings inside the shared
 * page; this program asks for any sizes, so rings of order 12 and up, in
 * pages of their own, are exercised too).
 *
 * usage: vchan_peer server|client PEER_DOMID XS_PATH READ_MIN WRITE_MIN MODE [ARG]
 *   READ_MIN/WRITE_MIN: the server's least ring sizes in bytes (what it
 *     reads: left; what it writes: right); ignored by a client.
 *   MODE echo         write back everything read, until the peer closes
 *   MODE check BYTES  send BYTES pseudo-random bytes (s = s*1103515245+12345,
 *                     byte = s>>16) and check that the same stream comes back
 *   MODE ping COUNT   COUNT 1-byte round trips (the peer echoes); prints
 *                     "ping COUNT NS_PER_ROUND_TRIP"
 *   MODE send BYTES   send BYTES (zeros) as fast as the ring allows, then
 *                     wait for one byte back; prints "send BYTES NS"
 *   MODE sink BYTES   read BYTES, then write one byte back
 * A client retries connecting for 10 s (the server may not have published).
 * Prints "<role>: read ring 2^R, write ring 2^W" on stderr once connected.
 * Exit status: 0 done, 1 could not connect, 3 vchan error, 4 peer closed
 * early, 5 wrong byte.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <libxenvchan.h>

static unsigned char buf[1 << 20];

static unsigned char next(unsigned *s)
{
    *s = *s * 1103515245u + 12345u;
    return (unsigned char)(*s >> 16);
}

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

/* Blocks until n bytes are read (or the peer closes: -1). */
static int read_all(struct libxenvchan *c, unsigned char *p, int n)
{
    int got = 0, r;
    while (got < n) {
        r = libxenvchan_read(c, p + got, n - got);
        if (r < 0)
            return -1;
        got += r;
    }
    return got;
}

static int echo(struct libxenvchan *c)
{
    int n;
    for (;;) {
        n = libxenvchan_read(c, buf, sizeof buf);
        if (n < 0)
            return libxenvchan_is_open(c) ? 3 : 0;
        if (libxenvchan_write(c, buf, n) != n)
            return libxenvchan_is_open(c) ? 3 : 0;
    }
}

static int check(struct libxenvchan *c, long total)
{
    long sent = 0, got = 0, i;
    unsigned ws = 1, rs = 1;
    int n, moved;
    c->blocking = 0;
    while (got < total) {
        moved = 0;
        if (sent < total) {
            long len = total - sent < 100000 ? total - sent : 100000;
            unsigned s = ws;
            for (i = 0; i < len; i++)
                buf[i] = next(&s);
            if ((n = libxenvchan_write(c, buf, len)) < 0)
                return 3;
            for (i = 0; i < n; i++)
                next(&ws);
            sent += n, moved |= n > 0;
        }
        if ((n = libxenvchan_read(c, buf, sizeof buf)) < 0)
            return 3;
        for (i = 0; i < n; i++)
            if (buf[i] != next(&rs)) {
                fprintf(stderr, "wrong byte at %ld\n", got + i);
                return 5;
            }
        got += n, moved |= n > 0;
        if (!moved) {
            if (!libxenvchan_is_open(c))
                return 4;
            libxenvchan_wait(c);
        }
    }
    printf("check %ld\n", got);
    return 0;
}

int main(int argc, char **argv)
{
    struct libxenvchan *c = NULL;
    int server, i, rc = 2;
    long arg;
    long long t0;
    unsigned char b = 'x';

    if (argc < 7) {
        fprintf(stderr, "usage: %s server|client PEER PATH READ_MIN WRITE_MIN echo|check|ping|send|sink [ARG]\n", argv[0]);
        return 2;
    }
    server = !strcmp(argv[1], "server");
    arg = argc > 7 ? atol(argv[7]) : 0;
    if (server)
        c = libxenvchan_server_init(NULL, atoi(argv[2]), argv[3], atol(argv[4]), atol(argv[5]));
    else
        for (i = 0; i < 200 && !c; i++)
            if (!(c = libxenvchan_client_init(NULL, atoi(argv[2]), argv[3])))
                usleep(50000);
    if (!c) {
        perror("libxenvchan init");
        return 1;
    }
    c->blocking = 1;
    if (server)
        while (libxenvchan_is_open(c) != 1)
            libxenvchan_wait(c);
    fprintf(stderr, "%s: read ring 2^%d, write ring 2^%d\n", argv[1], c->read.order, c->write.order);
    setvbuf(stdout, NULL, _IOLBF, 0);

    if (!strcmp(argv[6], "echo")) {
        rc = echo(c);
    } else if (!strcmp(argv[6], "check")) {
        rc = check(c, arg);
    } else if (!strcmp(argv[6], "ping")) {
        t0 = now_ns();
        for (i = 0, rc = 0; i < arg && !rc; i++)
            if (libxenvchan_write(c, &b, 1) != 1 || read_all(c, &b, 1) != 1)
                rc = 4;
        if (!rc)
            printf("ping %ld %lld\n", arg, (now_ns() - t0) / (arg ? arg : 1));
    } else if (!strcmp(argv[6], "send")) {
        long sent = 0;
        int n;
        memset(buf, 0, sizeof buf);
        t0 = now_ns();
        rc = 0;
        while (sent < arg && !rc) {
            n = libxenvchan_write(c, buf, arg - sent < (long)sizeof buf ? arg - sent : (long)sizeof buf);
            if (n < 0)
                rc = 4;
            else
                sent += n;
        }
        if (!rc && read_all(c, &b, 1) != 1)
            rc = 4;
        if (!rc)
            printf("send %ld %lld\n", arg, now_ns() - t0);
    } else if (!strcmp(argv[6], "sink")) {
        long got = 0;
        int n;
        rc = 0;
        while (got < arg && !rc) {
            n = libxenvchan_read(c, buf, arg - got < (long)sizeof buf ? arg - got : (long)sizeof buf);
            if (n < 0)
                rc = 4;
            else
                got += n;
        }
        if (!rc && libxenvchan_write(c, &b, 1) != 1)
            rc = 4;
    } else {
        fprintf(stderr, "unknown mode %s\n", argv[6]);
    }
    libxenvchan_close(c);
    return rc;
}
