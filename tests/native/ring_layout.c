/*
 * ring_layout.c: prints the sizes, offsets and constants of Xen's shared-ring
 * structures as the C compiler lays them out from Xen's public headers, one
 * per line as "name value". The tests of Xen.Rings compare every line with
 * the C# layouts.
 *
 * Build: gcc -O2 -Wall -D__XEN_TOOLS__ -o ring_layout ring_layout.c
 *
 * Names:  sizeof(T)        sizeof(struct T) or sizeof(union T)
 *         T.f              offsetof(struct T, f)
 *         sizeof(T.f)      sizeof of the member f
 *         RING_SIZE(T,n)   __CONST_RING_SIZE(T, n): entries in n bytes
 *         MACRO            the value of a macro from the headers
 *
 * vchan_interface comes from libxenvchan.h (Xen's tools/libs/vchan), which
 * includes <stdint.h> itself; grants[] is a flexible array, so its offset is
 * printed with the size of one entry, and sizeof(vchan_interface) is the
 * header without it.
 *
 * The Xen 4.17 headers of Debian 12 predate two members appended in Xen
 * 4.21, xencons_interface.connection and xenstore_domain_interface.evtchn_port,
 * and the feature bits WATCHDEPTH and DOMID_ANY. What the installed headers
 * define is printed (console connection comes with XENCONSOLE_CONNECTED);
 * evtchn_port has no macro to detect it by and is never printed. The tests
 * check whatever is missing here against the numbers of the newer headers.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* ring.h leaves the memory barriers to the includer under __XEN_TOOLS__. */
#define xen_mb()  __sync_synchronize()
#define xen_rmb() __asm__ __volatile__("" ::: "memory")
#define xen_wmb() __asm__ __volatile__("" ::: "memory")

#include <xen/xen.h>
#include <xen/io/ring.h>
#include <xen/io/console.h>
#include <xen/io/xs_wire.h>
#include <xen/io/blkif.h>
#include <xen/io/protocols.h>
#include <xen/io/libxenvchan.h>

/*
 * The x86_32 ABI of blkif, as a 64-bit back end must read a 32-bit front
 * end's ring: the header's structures with 64-bit members aligned to 4 only,
 * which is what i386 gcc does. Built from blkif.h's field lists; under
 * __i386__ the header gives the indirect request a trailing 8-byte pad.
 */
#pragma pack(push, 4)
struct blkif_x86_32_request {
    uint8_t        operation;
    uint8_t        nr_segments;
    blkif_vdev_t   handle;
    uint64_t       id;
    blkif_sector_t sector_number;
    struct blkif_request_segment seg[BLKIF_MAX_SEGMENTS_PER_REQUEST];
};
struct blkif_x86_32_request_discard {
    uint8_t        operation;
    uint8_t        flag;
    blkif_vdev_t   handle;
    uint64_t       id;
    blkif_sector_t sector_number;
    uint64_t       nr_sectors;
};
struct blkif_x86_32_request_indirect {
    uint8_t        operation;
    uint8_t        indirect_op;
    uint16_t       nr_segments;
    uint64_t       id;
    blkif_sector_t sector_number;
    blkif_vdev_t   handle;
    grant_ref_t    indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST];
    uint64_t       pad;
};
struct blkif_x86_32_response {
    uint64_t       id;
    uint8_t        operation;
    int16_t        status;
};
DEFINE_RING_TYPES(blkif_x86_32, struct blkif_x86_32_request, struct blkif_x86_32_response);
#pragma pack(pop)

#define SIZE(t)        printf("sizeof(%s) %zu\n", #t, sizeof(struct t))
#define USIZE(t)       printf("sizeof(%s) %zu\n", #t, sizeof(union t))
#define OFF(t, f)      printf("%s.%s %zu\n", #t, #f, offsetof(struct t, f))
#define FSIZE(t, f)    printf("sizeof(%s.%s) %zu\n", #t, #f, sizeof(((struct t *)0)->f))
#define FIELD(t, f)    do { OFF(t, f); FSIZE(t, f); } while (0)
#define RSIZE(t, n)    printf("RING_SIZE(%s,%d) %lu\n", #t, (n), (unsigned long)__CONST_RING_SIZE(t, (n)))
#define VAL(m)         printf("%s %lld\n", #m, (long long)(m))
#define STR(m)         printf("%s %s\n", #m, m)

static void console(void)
{
    FIELD(xencons_interface, in);
    FIELD(xencons_interface, out);
    FIELD(xencons_interface, in_cons);
    FIELD(xencons_interface, in_prod);
    FIELD(xencons_interface, out_cons);
    FIELD(xencons_interface, out_prod);
#ifdef XENCONSOLE_CONNECTED
    FIELD(xencons_interface, connection);
    VAL(XENCONSOLE_CONNECTED);
    VAL(XENCONSOLE_DISCONNECTED);
#endif
    SIZE(xencons_interface);
}

static void xenstore(void)
{
    FIELD(xenstore_domain_interface, req);
    FIELD(xenstore_domain_interface, rsp);
    FIELD(xenstore_domain_interface, req_cons);
    FIELD(xenstore_domain_interface, req_prod);
    FIELD(xenstore_domain_interface, rsp_cons);
    FIELD(xenstore_domain_interface, rsp_prod);
    FIELD(xenstore_domain_interface, server_features);
    FIELD(xenstore_domain_interface, connection);
    FIELD(xenstore_domain_interface, error);
    SIZE(xenstore_domain_interface);
    VAL(XENSTORE_RING_SIZE);
    VAL(XENSTORE_PAYLOAD_MAX);
    VAL(XENSTORE_SERVER_FEATURE_RECONNECTION);
    VAL(XENSTORE_SERVER_FEATURE_ERROR);
#ifdef XENSTORE_SERVER_FEATURE_WATCHDEPTH
    VAL(XENSTORE_SERVER_FEATURE_WATCHDEPTH);
#endif
#ifdef XENSTORE_SERVER_FEATURE_DOMID_ANY
    VAL(XENSTORE_SERVER_FEATURE_DOMID_ANY);
#endif
    VAL(XENSTORE_CONNECTED);
    VAL(XENSTORE_RECONNECT);
    VAL(XENSTORE_ERROR_NONE);
    VAL(XENSTORE_ERROR_COMM);
    VAL(XENSTORE_ERROR_RINGIDX);
    VAL(XENSTORE_ERROR_PROTO);
}

static void shared_ring(void)
{
    FIELD(blkif_sring, req_prod);
    FIELD(blkif_sring, req_event);
    FIELD(blkif_sring, rsp_prod);
    FIELD(blkif_sring, rsp_event);
    OFF(blkif_sring, pvt);
    OFF(blkif_sring, ring);
    USIZE(blkif_sring_entry);
    RSIZE(blkif, 4096);
    RSIZE(blkif, 8192);
    RSIZE(blkif, 16384);

    OFF(blkif_x86_32_sring, ring);
    USIZE(blkif_x86_32_sring_entry);
    RSIZE(blkif_x86_32, 4096);
    RSIZE(blkif_x86_32, 8192);
    RSIZE(blkif_x86_32, 16384);
}

static void blkif_native(void)
{
    FIELD(blkif_request_segment, gref);
    FIELD(blkif_request_segment, first_sect);
    FIELD(blkif_request_segment, last_sect);
    SIZE(blkif_request_segment);

    FIELD(blkif_request, operation);
    FIELD(blkif_request, nr_segments);
    FIELD(blkif_request, handle);
    FIELD(blkif_request, id);
    FIELD(blkif_request, sector_number);
    FIELD(blkif_request, seg);
    SIZE(blkif_request);

    FIELD(blkif_request_discard, operation);
    FIELD(blkif_request_discard, flag);
    FIELD(blkif_request_discard, handle);
    FIELD(blkif_request_discard, id);
    FIELD(blkif_request_discard, sector_number);
    FIELD(blkif_request_discard, nr_sectors);
    SIZE(blkif_request_discard);

    FIELD(blkif_request_indirect, operation);
    FIELD(blkif_request_indirect, indirect_op);
    FIELD(blkif_request_indirect, nr_segments);
    FIELD(blkif_request_indirect, id);
    FIELD(blkif_request_indirect, sector_number);
    FIELD(blkif_request_indirect, handle);
    FIELD(blkif_request_indirect, indirect_grefs);
    SIZE(blkif_request_indirect);

    FIELD(blkif_response, id);
    FIELD(blkif_response, operation);
    FIELD(blkif_response, status);
    SIZE(blkif_response);
}

static void blkif_x86_32(void)
{
    FIELD(blkif_x86_32_request, operation);
    FIELD(blkif_x86_32_request, nr_segments);
    FIELD(blkif_x86_32_request, handle);
    FIELD(blkif_x86_32_request, id);
    FIELD(blkif_x86_32_request, sector_number);
    FIELD(blkif_x86_32_request, seg);
    SIZE(blkif_x86_32_request);

    FIELD(blkif_x86_32_request_discard, operation);
    FIELD(blkif_x86_32_request_discard, flag);
    FIELD(blkif_x86_32_request_discard, handle);
    FIELD(blkif_x86_32_request_discard, id);
    FIELD(blkif_x86_32_request_discard, sector_number);
    FIELD(blkif_x86_32_request_discard, nr_sectors);
    SIZE(blkif_x86_32_request_discard);

    FIELD(blkif_x86_32_request_indirect, operation);
    FIELD(blkif_x86_32_request_indirect, indirect_op);
    FIELD(blkif_x86_32_request_indirect, nr_segments);
    FIELD(blkif_x86_32_request_indirect, id);
    FIELD(blkif_x86_32_request_indirect, sector_number);
    FIELD(blkif_x86_32_request_indirect, handle);
    FIELD(blkif_x86_32_request_indirect, indirect_grefs);
    FIELD(blkif_x86_32_request_indirect, pad);
    SIZE(blkif_x86_32_request_indirect);

    FIELD(blkif_x86_32_response, id);
    FIELD(blkif_x86_32_response, operation);
    FIELD(blkif_x86_32_response, status);
    SIZE(blkif_x86_32_response);
}

static void blkif_constants(void)
{
    VAL(BLKIF_OP_READ);
    VAL(BLKIF_OP_WRITE);
    VAL(BLKIF_OP_WRITE_BARRIER);
    VAL(BLKIF_OP_FLUSH_DISKCACHE);
    VAL(BLKIF_OP_RESERVED_1);
    VAL(BLKIF_OP_DISCARD);
    VAL(BLKIF_OP_INDIRECT);
    VAL(BLKIF_RSP_EOPNOTSUPP);
    VAL(BLKIF_RSP_ERROR);
    VAL(BLKIF_RSP_OKAY);
    VAL(BLKIF_MAX_SEGMENTS_PER_REQUEST);
    VAL(BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST);
    VAL(BLKIF_DISCARD_SECURE);
    VAL(VDISK_CDROM);
    VAL(VDISK_REMOVABLE);
    VAL(VDISK_READONLY);
    STR(XEN_IO_PROTO_ABI_X86_32);
    STR(XEN_IO_PROTO_ABI_X86_64);
    STR(XEN_IO_PROTO_ABI_ARM);
}

static void vchan(void)
{
    FIELD(vchan_interface, left.cons);
    FIELD(vchan_interface, left.prod);
    FIELD(vchan_interface, right.cons);
    FIELD(vchan_interface, right.prod);
    FIELD(vchan_interface, left_order);
    FIELD(vchan_interface, right_order);
    FIELD(vchan_interface, cli_live);
    FIELD(vchan_interface, srv_live);
    FIELD(vchan_interface, cli_notify);
    FIELD(vchan_interface, srv_notify);
    OFF(vchan_interface, grants);
    FSIZE(vchan_interface, grants[0]);
    SIZE(vchan_interface);
    VAL(VCHAN_NOTIFY_WRITE);
    VAL(VCHAN_NOTIFY_READ);
}

int main(void)
{
    console();
    xenstore();
    shared_ring();
    blkif_native();
    blkif_x86_32();
    blkif_constants();
    vchan();
    return fflush(stdout) == 0 ? 0 : 1;
}
