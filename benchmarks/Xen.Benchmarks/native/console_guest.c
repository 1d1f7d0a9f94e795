/*
 * console_guest.c: a guest printing to its PV console as fast as the console
 * daemon takes it, for the console benchmarks. Built from Xen's public
 * console.h alone; the page and the event channel are the LD_PRELOAD
 * stand-in hypervisor's (../shared/peers): the page file cons-ring-DOMID,
 * kicks as 8-byte datagrams <domid><port> to port-DOMID-PORT, the daemon's
 * notifications as datagrams on dom<DOMID>.evtchn.
 *
 * usage: console_guest DIR DOMID PORT BYTES
 * Writes BYTES of printable lines into out[] (kicking after each write,
 * waiting for a notification when the ring is full), then waits until the
 * daemon has taken all of it (out_cons == out_prod) and prints
 * "console_guest BYTES NS" (the time from the first byte to the last taken).
 * Exit status: 0 done, 1 setup failed, 2 the daemon stopped taking output.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define xen_mb()  __sync_synchronize()
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")
#include <xen/io/console.h>

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(int argc, char **argv)
{
    struct sockaddr_un me = { .sun_family = AF_UNIX }, daemon = { .sun_family = AF_UNIX };
    struct xencons_interface *intf;
    struct timeval tv = { .tv_sec = 0, .tv_usec = 100000 };
    uint32_t kick[2], note;
    long total, sent = 0, idle = 0;
    long long t0;
    char path[512], line[80];
    int fd, s, domid, port;

    if (argc != 5) {
        fprintf(stderr, "usage: %s DIR DOMID PORT BYTES\n", argv[0]);
        return 1;
    }
    domid = atoi(argv[2]);
    port = atoi(argv[3]);
    total = atol(argv[4]);
    snprintf(path, sizeof path, "%s/cons-ring-%d", argv[1], domid);
    if ((fd = open(path, O_RDWR)) < 0 ||
        (intf = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0)) == MAP_FAILED) {
        perror(path);
        return 1;
    }
    snprintf(me.sun_path, sizeof me.sun_path, "%s/dom%d.evtchn", argv[1], domid);
    snprintf(daemon.sun_path, sizeof daemon.sun_path, "%s/port-%d-%d", argv[1], domid, port);
    unlink(me.sun_path);
    if ((s = socket(AF_UNIX, SOCK_DGRAM, 0)) < 0 || bind(s, (struct sockaddr *)&me, sizeof me) != 0) {
        perror(me.sun_path);
        return 1;
    }
    setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    kick[0] = (uint32_t)domid;
    kick[1] = (uint32_t)port;

    t0 = now_ns();
    while (sent < total || intf->out_cons != intf->out_prod) {
        XENCONS_RING_IDX cons = intf->out_cons, prod = intf->out_prod;
        long n = 0;
        xen_mb();
        while (sent < total && prod - cons < sizeof(intf->out)) {
            /* lines of 64 bytes: "line NNNNNNNNNN ..." */
            long at = sent % 64;
            if (at == 0) /* 5 + 10 + 48 + 1 = 64 bytes */
                snprintf(line, sizeof line, "line %010u of the console benchmark, 64 bytes a line......\n", (unsigned)(sent / 64));
            intf->out[MASK_XENCONS_IDX(prod++, intf->out)] = line[at];
            sent++, n++;
        }
        if (n) {
            xen_wmb();
            intf->out_prod = prod;
            sendto(s, kick, sizeof kick, 0, (struct sockaddr *)&daemon, sizeof daemon);
            idle = 0;
            continue;
        }
        if (recv(s, &note, sizeof note, 0) < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            if (++idle > 100) /* 10 s without the daemon taking anything */
                return 2;
            sendto(s, kick, sizeof kick, 0, (struct sockaddr *)&daemon, sizeof daemon);
        }
    }
    printf("console_guest %ld %lld\n", total, now_ns() - t0);
    return 0;
}
