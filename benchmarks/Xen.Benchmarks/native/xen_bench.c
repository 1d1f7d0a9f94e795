/*
 * xen_bench.c - native baselines for the Xen.Rings benchmarks.
 *
 * Each function runs a whole measured loop in C, so one P/Invoke covers many
 * operations and the interop cost is amortised. The rings are driven with
 * Xen's public headers (xen/io/ring.h, console.h, blkif.h) exactly as a C
 * guest or backend would use them.
 *
 * Built by Xen.Benchmarks.csproj:
 *   gcc -O2 -shared -fPIC -D__XEN_TOOLS__ -mstringop-strategy=libcall -I/usr/include \
 *       -o libxenbench.so xen_bench.c -lpthread
 * (libcall: see the note in the csproj)
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <semaphore.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * ring.h leaves the barriers to the includer when __XEN_TOOLS__ selects the
 * current interface version. x86 is TSO: only store->load ordering needs a
 * fence, so rmb/wmb are compiler barriers and mb is a full fence.
 */
#if !defined(__x86_64__) && !defined(__i386__)
#error "These barrier definitions are for x86 only."
#endif
#define xen_mb()  __sync_synchronize()
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")

#include <xen/xen.h>
#include <xen/io/ring.h>
#include <xen/io/console.h>
#include <xen/io/blkif.h>

#define XB_EXPORT __attribute__((visibility("default")))

/* Shared indices are read and written once per access, as Linux's READ_ONCE/WRITE_ONCE. */
#define READ_ONCE(x)     (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))

#define compiler_barrier() __asm__ __volatile__("" ::: "memory")

/* Returned by the console helpers when the indices are inconsistent. */
#define XB_BROKEN ((uint32_t)-1)

_Static_assert(sizeof(struct blkif_request) == 112, "blkif_request must be the x86_64 layout");
_Static_assert(sizeof(struct blkif_response) == 16, "blkif_response must be the x86_64 layout");
_Static_assert(__CONST_RING_SIZE(blkif, 4096) == 32, "a one-page blkif ring has 32 slots");
_Static_assert(offsetof(struct xencons_interface, out) == 1024, "console out[] offset");
_Static_assert(offsetof(struct xencons_interface, out_prod) == 3084, "console out_prod offset");

/* ------------------------------------------------------------------------ */
/* Interop cost                                                              */
/* ------------------------------------------------------------------------ */

/* Does nothing: measures the cost of one P/Invoke. */
XB_EXPORT void xb_empty(void)
{
}

/* ------------------------------------------------------------------------ */
/* Console ring, block copies                                                */
/* ------------------------------------------------------------------------ */

/*
 * Guest side of out[]: the shape of Linux hvc_xen's __write_console and of
 * xenconsoled. Read both indices, full barrier, check, at most two memcpy
 * (the second for the wrap), write barrier, publish out_prod.
 * full_barriers = 0 replaces the mb() with a compiler barrier: on x86 that
 * is all the console protocol needs (acquire after reading the indices,
 * release before publishing), the same ordering as the C# ring uses.
 */
static inline __attribute__((always_inline)) uint32_t
cons_out_write(struct xencons_interface *intf, const char *data, uint32_t len, const int full_barriers)
{
    XENCONS_RING_IDX cons = READ_ONCE(intf->out_cons);
    XENCONS_RING_IDX prod = READ_ONCE(intf->out_prod);
    uint32_t used, n, off, first;

    if (full_barriers)
        xen_mb();
    else
        xen_rmb();

    used = prod - cons;
    if (used > sizeof(intf->out))
        return XB_BROKEN;

    n = sizeof(intf->out) - used;
    if (n > len)
        n = len;
    if (n == 0)
        return 0; /* full: leave the shared index line alone while the peer polls it */
    off = MASK_XENCONS_IDX(prod, intf->out);
    first = sizeof(intf->out) - off;
    if (first > n)
        first = n;
    memcpy(intf->out + off, data, first);
    memcpy(intf->out, data + first, n - first);

    xen_wmb();
    WRITE_ONCE(intf->out_prod, prod + n);
    return n;
}

/* Backend side of out[]: xenconsoled's buffer_append with two memcpy. */
static inline __attribute__((always_inline)) uint32_t
cons_out_read(struct xencons_interface *intf, char *buf, uint32_t len, const int full_barriers)
{
    XENCONS_RING_IDX cons = READ_ONCE(intf->out_cons);
    XENCONS_RING_IDX prod = READ_ONCE(intf->out_prod);
    uint32_t used, n, off, first;

    if (full_barriers)
        xen_mb();
    else
        xen_rmb();

    used = prod - cons;
    if (used > sizeof(intf->out))
        return XB_BROKEN;

    n = used < len ? used : len;
    if (n == 0)
        return 0; /* empty: as above */
    off = MASK_XENCONS_IDX(cons, intf->out);
    first = sizeof(intf->out) - off;
    if (first > n)
        first = n;
    memcpy(buf, intf->out + off, first);
    memcpy(buf + first, intf->out, n - first);

    if (full_barriers)
        xen_mb();
    else
        xen_wmb();
    WRITE_ONCE(intf->out_cons, cons + n);
    return n;
}

static inline __attribute__((always_inline)) int64_t
cons_chunks(struct xencons_interface *intf, const char *src, char *dst, uint32_t chunk, uint32_t chunks,
            const int full_barriers)
{
    int64_t total = 0;

    for (uint32_t i = 0; i < chunks; i++) {
        uint32_t w = cons_out_write(intf, src, chunk, full_barriers);
        if (w != chunk)
            return -1;
        uint32_t r = cons_out_read(intf, dst, chunk, full_barriers);
        if (r != chunk)
            return -1;
        total += r;
    }
    return total;
}

/*
 * Writes chunk bytes of src into out[] and reads them back into dst, chunks
 * times, with Xen's barriers (mb after reading the indices, mb before the
 * consumer publishes). Returns the bytes moved, or -1 on a short or broken ring.
 */
XB_EXPORT int64_t xb_console_memcpy(struct xencons_interface *intf, const char *src, char *dst,
                                    uint32_t chunk, uint32_t chunks)
{
    return cons_chunks(intf, src, dst, chunk, chunks, 1);
}

/* As xb_console_memcpy, with acquire/release ordering only (no fence instruction on x86). */
XB_EXPORT int64_t xb_console_memcpy_acqrel(struct xencons_interface *intf, const char *src, char *dst,
                                           uint32_t chunk, uint32_t chunks)
{
    return cons_chunks(intf, src, dst, chunk, chunks, 0);
}

/* ------------------------------------------------------------------------ */
/* Console ring, one byte per iteration (Linux 2006 xencons_ring.c)          */
/* ------------------------------------------------------------------------ */

/* The loop of xencons_ring_send: one byte per iteration, slot by MASK_XENCONS_IDX. */
static uint32_t byte_send(struct xencons_interface *intf, const char *data, uint32_t len)
{
    uint32_t sent = 0;
    XENCONS_RING_IDX cons, prod;

    cons = intf->out_cons;
    prod = intf->out_prod;
    xen_mb();
    if ((prod - cons) > sizeof(intf->out))
        return XB_BROKEN;

    while ((sent < len) && ((prod - cons) < sizeof(intf->out)))
        intf->out[MASK_XENCONS_IDX(prod++, intf->out)] = data[sent++];

    xen_wmb();
    intf->out_prod = prod;
    return sent;
}

/* The loop of handle_input, reading out[] into a buffer one byte per iteration. */
static uint32_t byte_receive(struct xencons_interface *intf, char *buf, uint32_t len)
{
    uint32_t n = 0;
    XENCONS_RING_IDX cons, prod;

    cons = intf->out_cons;
    prod = intf->out_prod;
    xen_mb();
    if ((prod - cons) > sizeof(intf->out))
        return XB_BROKEN;

    while (cons != prod && n < len) {
        buf[n++] = intf->out[MASK_XENCONS_IDX(cons, intf->out)];
        cons++;
    }

    xen_mb();
    intf->out_cons = cons;
    return n;
}

XB_EXPORT int64_t xb_console_bytes(struct xencons_interface *intf, const char *src, char *dst,
                                   uint32_t chunk, uint32_t chunks)
{
    int64_t total = 0;

    for (uint32_t i = 0; i < chunks; i++) {
        if (byte_send(intf, src, chunk) != chunk)
            return -1;
        if (byte_receive(intf, dst, chunk) != chunk)
            return -1;
        total += chunk;
    }
    return total;
}

/* ------------------------------------------------------------------------ */
/* Plain copies, no ring                                                     */
/* ------------------------------------------------------------------------ */

/* memcpy src -> buf -> dst, chunks times: the copying a ring cannot avoid. */
XB_EXPORT int64_t xb_memcpy_twice(char *buf, const char *src, char *dst, uint32_t chunk, uint32_t chunks)
{
    for (uint32_t i = 0; i < chunks; i++) {
        memcpy(buf, src, chunk);
        memcpy(dst, buf, chunk);
        compiler_barrier(); /* each round's copies happen; none is merged away */
    }
    return (int64_t)chunk * chunks;
}

/* ------------------------------------------------------------------------ */
/* blkif ring, both ends in one thread                                       */
/* ------------------------------------------------------------------------ */

struct xb_blkif {
    blkif_front_ring_t front;
    blkif_back_ring_t back;
    uint64_t next_id;
    uint64_t notifications;
};

/* SHARED_RING_INIT + FRONT_RING_INIT + BACK_RING_INIT over one page. */
XB_EXPORT struct xb_blkif *xb_blkif_create(void *page)
{
    struct xb_blkif *b = calloc(1, sizeof(*b));
    blkif_sring_t *sring = page;

    if (b == NULL)
        return NULL;
    SHARED_RING_INIT(sring);
    FRONT_RING_INIT(&b->front, sring, 4096);
    BACK_RING_INIT(&b->back, sring, 4096);
    return b;
}

XB_EXPORT void xb_blkif_destroy(struct xb_blkif *b)
{
    free(b);
}

XB_EXPORT uint64_t xb_blkif_notifications(const struct xb_blkif *b)
{
    return b->notifications;
}

/*
 * batches rounds of: the front end prepares batch read requests locally and
 * copies each into its slot (as Linux blkfront does), pushes and checks
 * notify; the back end copies each request out (RING_COPY_REQUEST), answers
 * it, repeats after RING_FINAL_CHECK_FOR_REQUESTS, pushes responses and checks
 * notify; the front end copies responses out with the overflow check and
 * RING_FINAL_CHECK_FOR_RESPONSES. Returns the sum of the response ids, or -1
 * when the ring is full or a peer check fails.
 */
XB_EXPORT int64_t xb_blkif_run(struct xb_blkif *b, uint32_t batches, uint32_t batch)
{
    blkif_front_ring_t *front = &b->front;
    blkif_back_ring_t *back = &b->back;
    blkif_request_t req;
    uint64_t sum = 0;
    int notify, more;

    memset(&req, 0, sizeof(req));
    req.operation = BLKIF_OP_READ;
    req.nr_segments = 1;
    req.seg[0].gref = 8;
    req.seg[0].first_sect = 0;
    req.seg[0].last_sect = 7;

    for (uint32_t i = 0; i < batches; i++) {
        /* Front end: produce. */
        for (uint32_t j = 0; j < batch; j++) {
            if (RING_FULL(front))
                return -1;
            req.id = b->next_id++;
            req.sector_number = req.id * 8;
            *RING_GET_REQUEST(front, front->req_prod_pvt) = req;
            front->req_prod_pvt++;
        }
        RING_PUSH_REQUESTS_AND_CHECK_NOTIFY(front, notify);
        b->notifications += notify;

        /* Back end: consume and answer. */
        do {
            RING_IDX rc = back->req_cons;
            RING_IDX rp = READ_ONCE(back->sring->req_prod);
            xen_rmb();
            if (RING_REQUEST_PROD_OVERFLOW(back, rp))
                return -1;
            while (rc != rp) {
                blkif_request_t r;
                blkif_response_t *rsp;

                if (RING_REQUEST_CONS_OVERFLOW(back, rc))
                    break;
                RING_COPY_REQUEST(back, rc, &r);
                back->req_cons = ++rc;

                rsp = RING_GET_RESPONSE(back, back->rsp_prod_pvt);
                rsp->id = r.id;
                rsp->operation = r.operation;
                rsp->status = BLKIF_RSP_OKAY;
                back->rsp_prod_pvt++;
            }
            RING_FINAL_CHECK_FOR_REQUESTS(back, more);
        } while (more);
        RING_PUSH_RESPONSES_AND_CHECK_NOTIFY(back, notify);
        b->notifications += notify;

        /* Front end: consume responses. */
        do {
            RING_IDX rc = front->rsp_cons;
            RING_IDX rp = READ_ONCE(front->sring->rsp_prod);
            xen_rmb();
            if (RING_RESPONSE_PROD_OVERFLOW(front, rp))
                return -1;
            for (; rc != rp; rc++) {
                blkif_response_t rsp;

                RING_COPY_RESPONSE(front, rc, &rsp);
                sum += rsp.id + (uint64_t)(int64_t)rsp.status;
            }
            front->rsp_cons = rc;
            RING_FINAL_CHECK_FOR_RESPONSES(front, more);
        } while (more);
    }
    return (int64_t)sum;
}

/* ------------------------------------------------------------------------ */
/* Two threads streaming through out[]                                       */
/* ------------------------------------------------------------------------ */

/*
 * Backoff while the ring is full or empty, the same steps as PollBackoff in
 * the C# benchmark: 1, 2, 4 ... 32 and then 64 pause instructions for the
 * first ten polls, then alternately yield the CPU and spin 64 pauses.
 */
static inline void spin_once(unsigned *count)
{
    if (*count >= 10 && ((*count - 10) & 1) == 0) {
        sched_yield();
    } else {
        unsigned n = *count < 6 ? 1u << *count : 64;
        while (n--)
            __builtin_ia32_pause();
    }
    (*count)++;
}

struct xb_stream {
    pthread_t thread;
    sem_t go, done;
    struct xencons_interface *intf;
    const char *src;
    uint32_t src_len;      /* a multiple of the ring size */
    int full_barriers;     /* 1: Xen's mb(); 0: acquire/release only */
    uint64_t total;
    int64_t produced;
    int stop;
};

/* Writes s->total bytes from src, up to a ring's worth per call. */
static inline __attribute__((always_inline)) int64_t
stream_produce(struct xb_stream *s, const int full_barriers)
{
    uint64_t left = s->total;
    uint32_t pos = 0;
    int64_t produced = 0;

    while (left != 0) {
        unsigned spins = 0;
        uint32_t want = sizeof(s->intf->out);
        uint32_t n;

        if (want > left)
            want = (uint32_t)left;
        if (want > s->src_len - pos)
            want = s->src_len - pos;
        while ((n = cons_out_write(s->intf, s->src + pos, want, full_barriers)) == 0)
            spin_once(&spins);
        if (n == XB_BROKEN)
            return -1;
        left -= n;
        produced += n;
        pos += n;
        if (pos == s->src_len)
            pos = 0;
    }
    return produced;
}

static void *stream_producer(void *arg)
{
    struct xb_stream *s = arg;

    for (;;) {
        sem_wait(&s->go);
        if (s->stop)
            return NULL;
        s->produced = s->full_barriers ? stream_produce(s, 1) : stream_produce(s, 0);
        sem_post(&s->done);
    }
}

/* Starts the producer thread; it waits for xb_stream_run. */
XB_EXPORT struct xb_stream *xb_stream_create(struct xencons_interface *intf, const char *src, uint32_t src_len,
                                             int full_barriers)
{
    struct xb_stream *s = calloc(1, sizeof(*s));

    if (s == NULL)
        return NULL;
    s->intf = intf;
    s->src = src;
    s->src_len = src_len;
    s->full_barriers = full_barriers;
    sem_init(&s->go, 0, 0);
    sem_init(&s->done, 0, 0);
    if (pthread_create(&s->thread, NULL, stream_producer, s) != 0) {
        free(s);
        return NULL;
    }
    return s;
}

/* Reads total bytes into dst, up to a ring's worth per call. */
static inline __attribute__((always_inline)) int64_t
stream_consume(struct xb_stream *s, char *dst, uint32_t dst_len, uint64_t total, const int full_barriers)
{
    uint64_t left = total;
    uint32_t pos = 0;

    while (left != 0) {
        unsigned spins = 0;
        uint32_t want = sizeof(s->intf->out);
        uint32_t n;

        if (want > left)
            want = (uint32_t)left;
        if (want > dst_len - pos)
            want = dst_len - pos;
        while ((n = cons_out_read(s->intf, dst + pos, want, full_barriers)) == 0)
            spin_once(&spins);
        if (n == XB_BROKEN)
            return -1;
        left -= n;
        pos += n;
        if (pos == dst_len)
            pos = 0;
    }
    return (int64_t)total;
}

/*
 * Streams total bytes: the producer thread writes from src while this thread
 * reads into dst (src_len and dst_len multiples of the ring size). Returns
 * the bytes received, or -1 on a broken ring.
 */
XB_EXPORT int64_t xb_stream_run(struct xb_stream *s, char *dst, uint32_t dst_len, uint64_t total)
{
    int64_t received;

    s->total = total;
    sem_post(&s->go);
    received = s->full_barriers ? stream_consume(s, dst, dst_len, total, 1)
                                : stream_consume(s, dst, dst_len, total, 0);
    sem_wait(&s->done);
    return received == (int64_t)total && s->produced == (int64_t)total ? received : -1;
}

XB_EXPORT void xb_stream_destroy(struct xb_stream *s)
{
    s->stop = 1;
    sem_post(&s->go);
    pthread_join(s->thread, NULL);
    sem_destroy(&s->go);
    sem_destroy(&s->done);
    free(s);
}
