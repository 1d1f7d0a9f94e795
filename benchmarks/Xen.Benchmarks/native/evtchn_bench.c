/*
 * The C side of the event-channel round trip (EventChannelFigures): libxenevtchn's calls as a C daemon makes them,
 * compiled into libxenbench.so and linked with -lxenevtchn, so that under the peers' LD_PRELOAD shim the shim's
 * definitions are the ones called, as for our bindings in the same process.
 *
 *   xb_evtchn_open(remote, &port)      xenevtchn_open + xenevtchn_bind_unbound_port(remote): a port the peer binds to
 *   xb_evtchn_round_trips(h, port, n)  n times: xenevtchn_notify, then xenevtchn_pending (blocking) + xenevtchn_unmask
 *   xb_evtchn_close(h)
 */
#include <stddef.h>
#include <stdint.h>
#include <xenevtchn.h>

void *xb_evtchn_open(uint32_t remote, uint32_t *port)
{
    xenevtchn_handle *h = xenevtchn_open(NULL, 0);
    if (!h)
        return NULL;
    xenevtchn_port_or_error_t p = xenevtchn_bind_unbound_port(h, remote);
    if (p < 0) {
        xenevtchn_close(h);
        return NULL;
    }
    *port = (uint32_t)p;
    return h;
}

/* Returns how many round trips completed (n, or fewer when a call failed). */
long xb_evtchn_round_trips(void *handle, uint32_t port, long n)
{
    xenevtchn_handle *h = handle;
    for (long i = 0; i < n; i++) {
        if (xenevtchn_notify(h, port) < 0)
            return i;
        xenevtchn_port_or_error_t p = xenevtchn_pending(h);
        if (p < 0 || xenevtchn_unmask(h, (evtchn_port_t)p) < 0)
            return i;
    }
    return n;
}

void xb_evtchn_close(void *handle)
{
    xenevtchn_close(handle);
}
