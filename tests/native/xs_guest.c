/*
 * xs_guest.c - a xenstore guest built from Xen's public header <xen/io/xs_wire.h> only.
 *
 * It is domain DOMID talking to its xenstore server over the shared xenstore page, as a guest kernel does,
 * on a machine without a hypervisor (the ../shared/peers shim convention):
 *   DIR/xs-ring-DOMID      the 4096-byte page (struct xenstore_domain_interface), mapped shared;
 *   DIR/port-DOMID-PORT    the server's end of the event channel: a kick is 8 bytes <u32 domid><u32 port>;
 *   DIR/domDOMID.evtchn    bound here: the server's notifications arrive as 4 bytes <u32 port>.
 * dom0 must have sent INTRODUCE DOMID 0 PORT before this starts.
 *
 * usage: xs_guest DIR DOMID PORT PRIVATE_PATH [--until-change]
 *        xs_guest DIR DOMID PORT --bench
 * With --bench it writes its node data/b once, prints "ready", then for each line "read N" or "write N" on stdin
 * sends N READs of data/b or N WRITEs of a 32-byte value to it, one at a time, and prints "ok" (the benchmarks'
 * guest: the same program against every daemon). Otherwise it
 * prints one line per result on stdout (line buffered), for the test to compare:
 *   path <GET_DOMAIN_PATH reply>
 *   read <value READ back from the relative path data/c after writing it>
 *   private <error string of READ PRIVATE_PATH, or "ok:<value>">
 *   event <path> <token>           (the initial event of WATCH data/w ctok)
 *   watching                       (now waiting for a change dom0 makes under data/w)
 *   event <path> <token>           (that change; with --until-change, also each event naming data/w itself that
 *                                   comes before it: a server restarted on its state fires a restored watch once)
 *   quota <nodes written> <error string of the first WRITE refused>
 *   done
 * A broken ring, a reply out of order or a wait longer than 20 s ends it with status 1 and a message on stderr.
 */
#define _GNU_SOURCE
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
#include <unistd.h>

#include <xen/io/xs_wire.h>

#define RING XENSTORE_RING_SIZE
#define MAX_QUOTA_NODES 5000

/* The other end runs on another CPU: full fences around index updates (x86 would need less). */
#define mb() __sync_synchronize()

static volatile struct xenstore_domain_interface *intf;
static int evtchn_fd;
static struct sockaddr_un kick_addr;
static uint32_t domid, port;
static uint32_t next_req_id = 1;

/* Watch events that arrived while waiting for a reply, in order. */
static char pending_events[16][512];
static int pending_count;

static void die(const char *fmt, const char *arg)
{
    fprintf(stderr, "xs_guest: ");
    fprintf(stderr, fmt, arg);
    fputc('\n', stderr);
    exit(1);
}

static void kick(void)
{
    unsigned char msg[8];
    memcpy(msg, &domid, 4);
    memcpy(msg + 4, &port, 4);
    /* A kick to a server that is not listening is lost, as in Xen; nothing to do about it here. */
    (void)sendto(evtchn_fd, msg, sizeof msg, 0, (struct sockaddr *)&kick_addr, sizeof kick_addr);
}

/*
 * Waits for the server's next notification, then takes every other one already queued: like an event channel's
 * pending bit, many notifications count as one. The shim sends them with MSG_DONTWAIT and a Unix datagram queue
 * holds only net.unix.max_dgram_qlen (often 10) of them, so a guest that took one per wait would let stale ones pile
 * up until a fresh one is dropped, and could then sleep through the reply it waits for. Callers re-check the ring
 * after this returns, so nothing published before a drop goes unseen.
 */
static void wait_for_notification(void)
{
    unsigned char buf[16];
    ssize_t n = recv(evtchn_fd, buf, sizeof buf, 0);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        die("%s", "no notification from the server within 20 s");
    if (n < 0)
        die("recv on the event channel: %s", strerror(errno));
    while (recv(evtchn_fd, buf, sizeof buf, MSG_DONTWAIT) > 0)
        ;
}

static void check_error_field(void)
{
    if (intf->error != 0)
        die("%s", "the server set the ring's error field");
}

static void ring_write(const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        XENSTORE_RING_IDX cons = intf->req_cons, prod = intf->req_prod;
        mb();
        check_error_field();
        if (prod - cons > RING)
            die("%s", "req indices are inconsistent");
        uint32_t space = RING - (prod - cons);
        if (space == 0) {
            wait_for_notification();
            continue;
        }
        uint32_t off = MASK_XENSTORE_IDX(prod);
        uint32_t n = space;
        if (n > RING - off)
            n = RING - off;
        if (n > len)
            n = (uint32_t)len;
        memcpy((char *)intf->req + off, p, n);
        mb(); /* the bytes before the index that publishes them */
        intf->req_prod = prod + n;
        kick();
        p += n;
        len -= n;
    }
}

static void ring_read(void *data, size_t len)
{
    char *p = data;
    while (len > 0) {
        XENSTORE_RING_IDX cons = intf->rsp_cons, prod = intf->rsp_prod;
        mb();
        check_error_field();
        if (prod - cons > RING)
            die("%s", "rsp indices are inconsistent");
        if (prod == cons) {
            wait_for_notification();
            continue;
        }
        uint32_t off = MASK_XENSTORE_IDX(cons);
        uint32_t n = prod - cons;
        if (n > RING - off)
            n = RING - off;
        if (n > len)
            n = (uint32_t)len;
        memcpy(p, (const char *)intf->rsp + off, n);
        mb(); /* the copy before the index that frees the space */
        intf->rsp_cons = cons + n;
        kick();
        p += n;
        len -= n;
    }
}

/* Reads one message; its payload (NUL-terminated here for convenience) goes to body. */
static struct xsd_sockmsg read_message(char *body)
{
    struct xsd_sockmsg hdr;
    ring_read(&hdr, sizeof hdr);
    if (hdr.len > XENSTORE_PAYLOAD_MAX)
        die("%s", "a message longer than XENSTORE_PAYLOAD_MAX");
    ring_read(body, hdr.len);
    body[hdr.len] = '\0';
    return hdr;
}

static void remember_event(const char *body, uint32_t len)
{
    /* "path\0token\0" -> "path token" */
    char text[512];
    size_t plen = strnlen(body, len);
    const char *token = plen < len ? body + plen + 1 : "";
    snprintf(text, sizeof text, "%.*s %s", (int)plen, body, token);
    if (pending_count == (int)(sizeof pending_events / sizeof pending_events[0]))
        die("%s", "too many watch events queued");
    strcpy(pending_events[pending_count++], text);
}

/*
 * Sends one request and returns its reply's type; the reply payload lands in reply (NUL-terminated).
 * Watch events that arrive first are queued for next_event().
 */
static uint32_t request(uint32_t type, const void *payload, uint32_t len, char *reply)
{
    struct xsd_sockmsg hdr = { .type = type, .req_id = next_req_id++, .tx_id = 0, .len = len };
    ring_write(&hdr, sizeof hdr);
    ring_write(payload, len);
    for (;;) {
        struct xsd_sockmsg r = read_message(reply);
        if (r.type == XS_WATCH_EVENT) {
            remember_event(reply, r.len);
            continue;
        }
        if (r.req_id != hdr.req_id)
            die("%s", "a reply to another request");
        if (r.type != type && r.type != XS_ERROR)
            die("%s", "a reply of another type");
        return r.type;
    }
}

static const char *next_event(void)
{
    static char text[512];
    static char body[XENSTORE_PAYLOAD_MAX + 1];
    while (pending_count == 0) {
        struct xsd_sockmsg r = read_message(body);
        if (r.type != XS_WATCH_EVENT)
            die("%s", "an unsolicited message that is not a watch event");
        remember_event(body, r.len);
    }
    strcpy(text, pending_events[0]);
    memmove(pending_events[0], pending_events[1], sizeof pending_events[0] * (size_t)--pending_count);
    return text;
}

/* Builds "a\0b\0..." from NUL-terminated pieces; a value piece (last_raw) is not NUL-terminated. */
static uint32_t payload2(char *out, const char *a, const char *b, int last_raw)
{
    size_t la = strlen(a) + 1, lb = strlen(b) + (last_raw ? 0 : 1);
    memcpy(out, a, la);
    memcpy(out + la, b, lb);
    return (uint32_t)(la + lb);
}

static void expect_ok(uint32_t type, const char *reply, const char *what)
{
    if (type == XS_ERROR)
        die(what, reply);
}

#define BENCH_VALUE "0123456789abcdef0123456789ABCDEF"

/* --bench: READ or WRITE data/b as many times as each stdin line says, one request at a time. */
static void bench(void)
{
    static char req[XENSTORE_PAYLOAD_MAX], reply[XENSTORE_PAYLOAD_MAX + 1];
    uint32_t write_len = payload2(req, "data/b", BENCH_VALUE, 1);
    expect_ok(request(XS_WRITE, req, write_len, reply), reply, "WRITE data/b: %s");
    printf("ready\n");
    char line[64];
    while (fgets(line, sizeof line, stdin)) {
        char op[16];
        long count;
        if (sscanf(line, "%15s %ld", op, &count) != 2 || count < 0)
            die("a command that is not \"read N\" or \"write N\": %s", line);
        int is_write = strcmp(op, "write") == 0;
        if (!is_write && strcmp(op, "read") != 0)
            die("an operation that is not read or write: %s", op);
        for (long i = 0; i < count; i++) {
            uint32_t t = is_write ? request(XS_WRITE, req, write_len, reply) : request(XS_READ, "data/b", 7, reply);
            expect_ok(t, reply, "data/b: %s");
        }
        printf("ok\n");
    }
}

int main(int argc, char **argv)
{
    int until_change = argc == 6 && strcmp(argv[5], "--until-change") == 0;
    if (argc != 5 && !until_change) {
        fprintf(stderr, "usage: xs_guest DIR DOMID PORT PRIVATE_PATH [--until-change] | xs_guest DIR DOMID PORT --bench\n");
        return 2;
    }
    const char *dir = argv[1];
    domid = (uint32_t)strtoul(argv[2], NULL, 10);
    port = (uint32_t)strtoul(argv[3], NULL, 10);
    const char *private_path = argv[4];
    setvbuf(stdout, NULL, _IOLBF, 0);

    char path[256];
    snprintf(path, sizeof path, "%s/xs-ring-%u", dir, domid);
    int fd = open(path, O_RDWR);
    if (fd < 0)
        die("cannot open the xenstore page %s", path);
    void *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (page == MAP_FAILED)
        die("cannot map %s", path);
    intf = page;

    evtchn_fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    struct sockaddr_un self = { .sun_family = AF_UNIX };
    snprintf(self.sun_path, sizeof self.sun_path, "%s/dom%u.evtchn", dir, domid);
    unlink(self.sun_path);
    if (bind(evtchn_fd, (struct sockaddr *)&self, sizeof self) != 0)
        die("cannot bind %s", self.sun_path);
    struct timeval limit = { .tv_sec = 20 };
    setsockopt(evtchn_fd, SOL_SOCKET, SO_RCVTIMEO, &limit, sizeof limit);
    kick_addr.sun_family = AF_UNIX;
    snprintf(kick_addr.sun_path, sizeof kick_addr.sun_path, "%s/port-%u-%u", dir, domid, port);

    if (strcmp(private_path, "--bench") == 0) {
        bench();
        return 0;
    }

    static char req[XENSTORE_PAYLOAD_MAX], reply[XENSTORE_PAYLOAD_MAX + 1];
    uint32_t t, n;

    /* Which home relative paths resolve under. */
    snprintf(req, sizeof req, "%u", domid);
    t = request(XS_GET_DOMAIN_PATH, req, (uint32_t)strlen(req) + 1, reply);
    expect_ok(t, reply, "GET_DOMAIN_PATH: %s");
    printf("path %s\n", reply);

    /* A relative write, read back relatively. */
    n = payload2(req, "data/c", "written-by-c", 1);
    t = request(XS_WRITE, req, n, reply);
    expect_ok(t, reply, "WRITE data/c: %s");
    t = request(XS_READ, "data/c", 7, reply);
    expect_ok(t, reply, "READ data/c: %s");
    printf("read %s\n", reply);

    /* A node only dom0 may read. */
    t = request(XS_READ, private_path, (uint32_t)strlen(private_path) + 1, reply);
    if (t == XS_ERROR)
        printf("private %s\n", reply);
    else
        printf("private ok:%s\n", reply);

    /* A watch: its initial event, then one for a change dom0 makes. */
    n = payload2(req, "data/w", "ctok", 0);
    t = request(XS_WATCH, req, n, reply);
    expect_ok(t, reply, "WATCH data/w: %s");
    printf("event %s\n", next_event());
    printf("watching\n");
    for (;;) {
        const char *event = next_event();
        printf("event %s\n", event);
        if (!until_change || strcmp(event, "data/w ctok") != 0)
            break;
    }

    /* Nodes until the server refuses one. */
    int written = 0;
    for (;;) {
        char name[64];
        snprintf(name, sizeof name, "quota/n%d", written);
        n = payload2(req, name, "x", 1);
        t = request(XS_WRITE, req, n, reply);
        if (t == XS_ERROR) {
            printf("quota %d %s\n", written, reply);
            break;
        }
        if (++written == MAX_QUOTA_NODES) {
            printf("quota %d none\n", written);
            break;
        }
    }

    printf("done\n");
    close(evtchn_fd);
    unlink(self.sun_path);
    munmap(page, 4096);
    close(fd);
    return 0;
}
