/*
 * xen_ring_peer.c: one end of a Xen shared ring, driven by the macros of Xen's
 * public headers (ring.h, console.h, blkif.h), over a page in a shared file,
 * so the tests of Xen.Rings can run the C# implementation of the other end
 * against them in another process.
 *
 * Build: gcc -O2 -Wall -D__XEN_TOOLS__ -o xen_ring_peer xen_ring_peer.c
 *
 *   xen_ring_peer console-produce FILE in|out START SEED COUNT
 *   xen_ring_peer console-consume FILE in|out START SEED COUNT
 *       Produce or consume COUNT bytes of the pattern SEED on one ring of a
 *       struct xencons_interface. The index this end owns must be START when
 *       it begins. Prints "done COUNT FNV FINAL_INDEX".
 *   xen_ring_peer blkif-front FILE START SEED COUNT
 *       Initialise a one-page blkif ring (SHARED_RING_INIT), move every index
 *       to START, print "ready SLOTS", send the COUNT requests of the pattern
 *       SEED and check every response. Prints "done COUNT NOTIFIES RSP_CONS".
 *   xen_ring_peer blkif-back FILE START SEED COUNT
 *       Attach to a blkif ring the front end has set up at START, print
 *       "ready SLOTS", check COUNT requests against the pattern SEED and answer
 *       each. Prints "done COUNT NOTIFIES REQ_CONS".
 *   xen_ring_peer sring-init FILE
 *       SHARED_RING_INIT on the blkif ring in FILE, nothing else.
 *
 * Event channels are replaced by polling with 1 ms naps. A peer that makes no
 * progress for TIMEOUT_SECONDS gives up. Exit status: 0 success, 1 usage or
 * I/O error, 2 timeout, 3 data mismatch, 4 broken peer (bad indices).
 *
 * The patterns (shared with the C# tests) come from splitmix64. Byte k of the
 * console stream SEED is byte k % 8 (little-endian) of the (k / 8)-th output
 * of splitmix64 started at SEED. Request i of the blkif pattern SEED draws
 * from splitmix64 started at SEED ^ (GOLDEN * (i + 1)), in this order:
 *   r0: operation = {READ, WRITE, WRITE_BARRIER, FLUSH_DISKCACHE}[r0 & 3],
 *       nr_segments = 1 + (r0 >> 8) % 11, handle = (uint16_t)(r0 >> 16)
 *   id, sector_number: one draw each
 *   per segment: r: gref = (uint32_t)r, first_sect = (r >> 32) & 7,
 *       last_sect = first_sect + (r >> 40) % (8 - first_sect)
 * Unused segments are zero. The expected status of a response is
 * EOPNOTSUPP for WRITE_BARRIER, ERROR when sector_number % 16 == 0, else OKAY.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ring.h leaves the memory barriers to the includer under __XEN_TOOLS__. */
#define xen_mb()  __sync_synchronize()
#define xen_rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define xen_wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

#include <xen/xen.h>
#include <xen/io/ring.h>
#include <xen/io/console.h>
#include <xen/io/blkif.h>

#define PAGE_BYTES 4096
#define TIMEOUT_SECONDS 20
#define GOLDEN 0x9E3779B97F4A7C15ULL

/* Shared indices are read and written exactly once per use. */
#define READ_ONCE(x)     (*(volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

static const char *program = "xen_ring_peer";

static void die(int status, const char *fmt, ...) __attribute__((noreturn, format(printf, 2, 3)));

static void die(int status, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "%s: ", program);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    exit(status);
}

static uint64_t splitmix64(uint64_t *state)
{
    uint64_t z = (*state += GOLDEN);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* The console byte stream. */
struct byte_stream {
    uint64_t state;
    uint64_t word;
    unsigned left;
};

static uint8_t next_byte(struct byte_stream *s)
{
    uint8_t b;
    if (s->left == 0) {
        s->word = splitmix64(&s->state);
        s->left = 8;
    }
    b = (uint8_t)s->word;
    s->word >>= 8;
    s->left--;
    return b;
}

static uint32_t fnv1a(uint32_t hash, uint8_t b)
{
    return (hash ^ b) * 16777619u;
}

/* Progress watchdog: gives up when nothing moved for TIMEOUT_SECONDS. */
static time_t last_progress;

static void progressed(void) { last_progress = time(NULL); }

static void nap(const char *waiting_for)
{
    struct timespec t = { 0, 1000000 };
    if (time(NULL) - last_progress > TIMEOUT_SECONDS)
        die(2, "timed out waiting for %s", waiting_for);
    nanosleep(&t, NULL);
}

static void *map_page(const char *path)
{
    int fd = open(path, O_RDWR);
    struct stat st;
    void *p;

    if (fd < 0)
        die(1, "open %s: %s", path, strerror(errno));
    if (fstat(fd, &st) != 0 || st.st_size < PAGE_BYTES)
        die(1, "%s is shorter than a page", path);
    p = mmap(NULL, PAGE_BYTES, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (p == MAP_FAILED)
        die(1, "mmap %s: %s", path, strerror(errno));
    close(fd);
    return p;
}

static unsigned long parse_number(const char *text, unsigned long max)
{
    char *end;
    unsigned long v;
    errno = 0;
    v = strtoul(text, &end, 0);
    if (errno != 0 || *text == '\0' || *end != '\0' || v > max)
        die(1, "bad number '%s'", text);
    return v;
}

/* ---- console ---------------------------------------------------------- */

/* One ring of a console page: the buffer and the two indices. */
struct cons_ring {
    struct xencons_interface *intf;
    int out;                 /* 1: out[], 0: in[] */
    XENCONS_RING_IDX *cons;
    XENCONS_RING_IDX *prod;
    uint32_t size;
};

static struct cons_ring cons_ring(struct xencons_interface *intf, const char *which)
{
    struct cons_ring r;
    r.intf = intf;
    if (strcmp(which, "out") == 0) {
        r.out = 1;
        r.cons = &intf->out_cons;
        r.prod = &intf->out_prod;
        r.size = sizeof(intf->out);
    } else if (strcmp(which, "in") == 0) {
        r.out = 0;
        r.cons = &intf->in_cons;
        r.prod = &intf->in_prod;
        r.size = sizeof(intf->in);
    } else {
        die(1, "ring must be 'in' or 'out', not '%s'", which);
    }
    return r;
}

static char *cons_slot(struct cons_ring *r, XENCONS_RING_IDX idx)
{
    return r->out ? &r->intf->out[MASK_XENCONS_IDX(idx, r->intf->out)]
                  : &r->intf->in[MASK_XENCONS_IDX(idx, r->intf->in)];
}

static int console_produce(struct cons_ring *r, uint32_t start, uint64_t seed, uint32_t count)
{
    struct byte_stream data = { seed, 0, 0 };
    uint64_t chunks = seed ^ 0x5A5A5A5A5A5A5A5AULL;
    uint32_t sent = 0, hash = 2166136261u;
    XENCONS_RING_IDX cons, prod = READ_ONCE(*r->prod);

    if (prod != start)
        die(1, "producer index is %u, expected %u", prod, start);
    while (sent < count) {
        uint32_t chunk = 1 + (uint32_t)(splitmix64(&chunks) % (r->size + r->size / 2));
        uint32_t n = 0;

        cons = READ_ONCE(*r->cons);
        xen_mb();
        if (prod - cons > r->size)
            die(4, "consumer index %u is not within a ring of producer index %u", cons, prod);
        while (prod - cons < r->size && n < chunk && sent < count) {
            uint8_t b = next_byte(&data);
            *cons_slot(r, prod++) = (char)b;
            hash = fnv1a(hash, b);
            n++;
            sent++;
        }
        if (n == 0) {
            nap("ring space");
            continue;
        }
        xen_wmb();
        WRITE_ONCE(*r->prod, prod);
        progressed();
    }
    /* Done once the consumer has taken everything. */
    while ((cons = READ_ONCE(*r->cons)) != prod) {
        if (prod - cons > r->size)
            die(4, "consumer index %u is not within a ring of producer index %u", cons, prod);
        nap("the consumer to finish");
    }
    printf("done %u %08x %u\n", sent, hash, prod);
    return 0;
}

static int console_consume(struct cons_ring *r, uint32_t start, uint64_t seed, uint32_t count)
{
    struct byte_stream data = { seed, 0, 0 };
    uint64_t chunks = seed ^ 0xA5A5A5A5A5A5A5A5ULL;
    uint32_t got = 0, hash = 2166136261u;
    XENCONS_RING_IDX cons = READ_ONCE(*r->cons), prod;

    if (cons != start)
        die(1, "consumer index is %u, expected %u", cons, start);
    while (got < count) {
        uint32_t chunk = 1 + (uint32_t)(splitmix64(&chunks) % (r->size + r->size / 2));
        uint32_t n = 0;

        prod = READ_ONCE(*r->prod);
        xen_mb();
        if (prod - cons > r->size)
            die(4, "producer index %u is not within a ring of consumer index %u", prod, cons);
        if (prod - cons > count - got)
            die(3, "the producer published %u bytes; only %u remain to be sent", prod - cons, count - got);
        while (cons != prod && n < chunk) {
            uint8_t want = next_byte(&data);
            uint8_t b = (uint8_t)*cons_slot(r, cons);
            if (b != want)
                die(3, "byte %u (index %u) is 0x%02x, expected 0x%02x", got, cons, b, want);
            hash = fnv1a(hash, b);
            cons++;
            n++;
            got++;
        }
        if (n == 0) {
            nap("data");
            continue;
        }
        xen_mb();
        WRITE_ONCE(*r->cons, cons);
        progressed();
    }
    printf("done %u %08x %u\n", got, hash, cons);
    return 0;
}

/* ---- blkif ------------------------------------------------------------ */

static void make_request(uint64_t seed, uint32_t i, blkif_request_t *req)
{
    static const uint8_t ops[4] = {
        BLKIF_OP_READ, BLKIF_OP_WRITE, BLKIF_OP_WRITE_BARRIER, BLKIF_OP_FLUSH_DISKCACHE
    };
    uint64_t s = seed ^ (GOLDEN * ((uint64_t)i + 1));
    uint64_t r0 = splitmix64(&s);
    unsigned k;

    memset(req, 0, sizeof(*req));
    req->operation = ops[r0 & 3];
    req->nr_segments = (uint8_t)(1 + (r0 >> 8) % BLKIF_MAX_SEGMENTS_PER_REQUEST);
    req->handle = (blkif_vdev_t)(r0 >> 16);
    req->id = splitmix64(&s);
    req->sector_number = splitmix64(&s);
    for (k = 0; k < req->nr_segments; k++) {
        uint64_t r = splitmix64(&s);
        uint8_t first = (uint8_t)((r >> 32) & 7);
        req->seg[k].gref = (grant_ref_t)r;
        req->seg[k].first_sect = first;
        req->seg[k].last_sect = (uint8_t)(first + (r >> 40) % (8u - first));
    }
}

static int16_t status_for(const blkif_request_t *req)
{
    if (req->operation == BLKIF_OP_WRITE_BARRIER)
        return BLKIF_RSP_EOPNOTSUPP;
    if (req->sector_number % 16 == 0)
        return BLKIF_RSP_ERROR;
    return BLKIF_RSP_OKAY;
}

static void check_request(const blkif_request_t *got, const blkif_request_t *want, uint32_t i)
{
    unsigned k;
    if (got->operation != want->operation || got->nr_segments != want->nr_segments ||
        got->handle != want->handle || got->id != want->id || got->sector_number != want->sector_number)
        die(3, "request %u: op %u nr %u handle %u id %llx sector %llx; expected op %u nr %u handle %u id %llx sector %llx",
            i, got->operation, got->nr_segments, got->handle, (unsigned long long)got->id,
            (unsigned long long)got->sector_number, want->operation, want->nr_segments, want->handle,
            (unsigned long long)want->id, (unsigned long long)want->sector_number);
    for (k = 0; k < BLKIF_MAX_SEGMENTS_PER_REQUEST; k++) {
        const struct blkif_request_segment *g = &got->seg[k], *w = &want->seg[k];
        if (g->gref != w->gref || g->first_sect != w->first_sect || g->last_sect != w->last_sect)
            die(3, "request %u segment %u: gref %u sectors %u..%u; expected gref %u sectors %u..%u",
                i, k, g->gref, g->first_sect, g->last_sect, w->gref, w->first_sect, w->last_sect);
    }
}

static blkif_sring_t *blkif_page(const char *path)
{
    return (blkif_sring_t *)map_page(path);
}

static int blkif_front(const char *path, uint32_t start, uint64_t seed, uint32_t count)
{
    blkif_sring_t *sring = blkif_page(path);
    blkif_front_ring_t front;
    uint64_t batches = seed ^ 0x3C3C3C3C3C3C3C3CULL;
    uint32_t produced = 0, answered = 0, notifies = 0;

    /* A fresh ring, then every index moved to start as if start requests
     * had been sent and answered: producers at start, events one past. */
    SHARED_RING_INIT(sring);
    sring->req_prod = sring->rsp_prod = start;
    sring->req_event = sring->rsp_event = start + 1;
    FRONT_RING_ATTACH(&front, sring, start, PAGE_BYTES);
    xen_mb();
    printf("ready %u\n", RING_SIZE(&front));
    fflush(stdout);

    while (answered < count) {
        uint32_t batch = 1 + (uint32_t)(splitmix64(&batches) % RING_SIZE(&front));
        uint32_t pushed = 0, consumed = 0;
        RING_IDX rp;
        int notify, more;

        while (produced < count && !RING_FULL(&front) && pushed < batch) {
            make_request(seed, produced, RING_GET_REQUEST(&front, front.req_prod_pvt));
            front.req_prod_pvt++;
            produced++;
            pushed++;
        }
        if (pushed != 0) {
            RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(&front, notify);
            notifies += notify != 0;
        }

        rp = READ_ONCE(sring->rsp_prod);
        xen_rmb(); /* read the responses only after rsp_prod */
        if (RING_RESPONSE_PROD_OVERFLOW(&front, rp) || rp - front.rsp_cons > front.req_prod_pvt - front.rsp_cons)
            die(4, "rsp_prod %u with rsp_cons %u and req_prod_pvt %u", rp, front.rsp_cons, front.req_prod_pvt);
        while (front.rsp_cons != rp) {
            blkif_request_t want;
            blkif_response_t rsp;
            RING_COPY_RESPONSE(&front, front.rsp_cons, &rsp);
            make_request(seed, answered, &want);
            if (rsp.id != want.id || rsp.operation != want.operation || rsp.status != status_for(&want))
                die(3, "response %u: id %llx op %u status %d; expected id %llx op %u status %d", answered,
                    (unsigned long long)rsp.id, rsp.operation, rsp.status,
                    (unsigned long long)want.id, want.operation, status_for(&want));
            front.rsp_cons++;
            answered++;
            consumed++;
        }

        if (pushed != 0 || consumed != 0) {
            progressed();
            continue;
        }
        if (produced < count && !RING_FULL(&front))
            continue;
        RING_FINAL_CHECK_FOR_RESPONSES(&front, more);
        if (!more)
            nap("responses");
    }
    printf("done %u %u %u\n", answered, notifies, front.rsp_cons);
    return 0;
}

static int blkif_back(const char *path, uint32_t start, uint64_t seed, uint32_t count)
{
    blkif_sring_t *sring = blkif_page(path);
    blkif_back_ring_t back;
    uint64_t batches = seed ^ 0xC3C3C3C3C3C3C3C3ULL;
    uint32_t handled = 0, notifies = 0;

    BACK_RING_ATTACH(&back, sring, start, PAGE_BYTES);
    printf("ready %u\n", RING_SIZE(&back));
    fflush(stdout);

    while (handled < count) {
        uint32_t batch = 1 + (uint32_t)(splitmix64(&batches) % RING_SIZE(&back));
        uint32_t n = 0;
        RING_IDX rc = back.req_cons, rp = READ_ONCE(sring->req_prod);
        int notify, more;

        xen_rmb(); /* read the requests only after req_prod */
        if (RING_REQUEST_PROD_OVERFLOW(&back, rp) || rp - rc > rp - back.rsp_prod_pvt)
            die(4, "req_prod %u with req_cons %u and rsp_prod_pvt %u", rp, rc, back.rsp_prod_pvt);
        while (rc != rp && !RING_REQUEST_CONS_OVERFLOW(&back, rc) && n < batch && handled < count) {
            blkif_request_t req, want;
            blkif_response_t *rsp;

            RING_COPY_REQUEST(&back, rc, &req);
            back.req_cons = ++rc;
            make_request(seed, handled, &want);
            check_request(&req, &want, handled);

            rsp = RING_GET_RESPONSE(&back, back.rsp_prod_pvt);
            rsp->id = req.id;
            rsp->operation = req.operation;
            rsp->status = status_for(&req);
            back.rsp_prod_pvt++;
            handled++;
            n++;
        }
        if (n != 0) {
            RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(&back, notify);
            notifies += notify != 0;
            progressed();
            continue;
        }
        RING_FINAL_CHECK_FOR_REQUESTS(&back, more);
        if (!more)
            nap("requests");
    }
    printf("done %u %u %u\n", handled, notifies, back.req_cons);
    return 0;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    progressed();
    if (argc == 3 && strcmp(argv[1], "sring-init") == 0) {
        blkif_sring_t *sring = blkif_page(argv[2]);
        SHARED_RING_INIT(sring);
        return 0;
    }
    if (argc == 7 && strncmp(argv[1], "console-", 8) == 0) {
        struct xencons_interface *intf = map_page(argv[2]);
        struct cons_ring r = cons_ring(intf, argv[3]);
        uint32_t start = (uint32_t)parse_number(argv[4], UINT32_MAX);
        uint64_t seed = parse_number(argv[5], UINT32_MAX);
        uint32_t count = (uint32_t)parse_number(argv[6], INT32_MAX);
        if (strcmp(argv[1], "console-produce") == 0)
            return console_produce(&r, start, seed, count);
        if (strcmp(argv[1], "console-consume") == 0)
            return console_consume(&r, start, seed, count);
    }
    if (argc == 6 && strncmp(argv[1], "blkif-", 6) == 0) {
        uint32_t start = (uint32_t)parse_number(argv[3], UINT32_MAX);
        uint64_t seed = parse_number(argv[4], UINT32_MAX);
        uint32_t count = (uint32_t)parse_number(argv[5], INT32_MAX);
        if (strcmp(argv[1], "blkif-front") == 0)
            return blkif_front(argv[2], start, seed, count);
        if (strcmp(argv[1], "blkif-back") == 0)
            return blkif_back(argv[2], start, seed, count);
    }
    die(1, "usage: see the comment at the top of xen_ring_peer.c");
}
