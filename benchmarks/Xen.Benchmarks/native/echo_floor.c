/*
 * The floor under any sequential xenstore round trip on this machine: a client and a server process that do
 * nothing but pass a READ-sized request (16-byte header + 13-byte path) and reply (16 + 32 bytes) over a Unix
 * socket pair with blocking read/write, as libxenstore's xs_read loop and a daemon's poll loop do. Whatever a
 * daemon does per request comes on top of this.
 *
 *   gcc -O2 -o echo_floor native/echo_floor.c && ./echo_floor 100000             # as scheduled (other core)
 *   taskset -c 0 ./echo_floor 100000                                           # both on one core
 *   ./echo_floor 100000 spin                                                   # server polls 50 us before sleeping
 *
 * With "spin" the server, after each reply, polls its socket (recv with MSG_DONTWAIT) for up to 50 us before it
 * blocks, as our server's ReceiveSpin does: the floor for a daemon that is awake when the request comes, so that a
 * round trip costs only the client's wake-up.
 *
 * Not part of the BenchmarkDotNet build: a figure for benchmarks/README.md's xenstore notes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/wait.h>

static double seconds(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int spin; /* server: poll up to 50 us before blocking */

/* Reads exactly len bytes; 0 on end of stream or error. */
static int read_all(int fd, char *buffer, size_t len)
{
    size_t got = 0;
    while (got < len) {
        ssize_t n = -1;
        if (spin) {
            double until = seconds() + 50e-6;
            do
                n = recv(fd, buffer + got, len - got, MSG_DONTWAIT);
            while (n < 0 && seconds() < until);
        }
        if (n < 0)
            n = read(fd, buffer + got, len - got);
        if (n <= 0)
            return 0;
        got += (size_t)n;
    }
    return 1;
}

int main(int argc, char **argv)
{
    int count = argc > 1 ? atoi(argv[1]) : 100000;
    int server_spins = argc > 2 && strcmp(argv[2], "spin") == 0;
    int pair[2];
    char request[16 + 13], reply[16 + 32], buffer[64];
    if (count <= 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, pair) != 0) {
        fprintf(stderr, "usage: echo_floor [COUNT > 0 [spin]]\n");
        return 2;
    }
    memset(request, 1, sizeof request);
    memset(reply, 2, sizeof reply);

    pid_t server = fork();
    if (server == 0) {
        close(pair[0]);
        spin = server_spins;
        /* Like a daemon: header, then body; reply as header and body writes. */
        while (read_all(pair[1], buffer, 16) && read_all(pair[1], buffer, 13)) {
            if (write(pair[1], reply, 16) != 16 || write(pair[1], reply + 16, 32) != 32)
                _exit(1);
        }
        _exit(0);
    }

    close(pair[1]);
    double start = seconds();
    for (int i = 0; i < count; i++) {
        /* Like libxenstore: the request in one write, then the reply's header and body. */
        if (write(pair[0], request, sizeof request) != (ssize_t)sizeof request
            || !read_all(pair[0], buffer, 16) || !read_all(pair[0], buffer, 32)) {
            fprintf(stderr, "echo_floor: the server went away\n");
            return 1;
        }
    }
    double elapsed = seconds() - start;
    close(pair[0]);
    waitpid(server, NULL, 0);
    printf("%d round trips: %.1f us each, %.1f kops/s\n", count, elapsed / count * 1e6, count / elapsed / 1000);
    return 0;
}
