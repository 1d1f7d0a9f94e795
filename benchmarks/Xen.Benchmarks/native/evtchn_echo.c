/*
 * The far end of the event-channel round trip (EventChannelFigures): another domain under the peers' shim
 * (XENSHIM_DOMID) that binds to the given ports of DOMID and answers every notification on a port with one back.
 *
 *   evtchn_echo DOMID PORT...      prints "ready" once bound, then echoes until killed
 */
#include <stdio.h>
#include <stdlib.h>
#include <xenevtchn.h>

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: evtchn_echo DOMID PORT...\n");
        return 2;
    }
    xenevtchn_handle *h = xenevtchn_open(NULL, 0);
    if (!h) {
        perror("evtchn_echo: xenevtchn_open");
        return 1;
    }
    uint32_t domid = (uint32_t)strtoul(argv[1], NULL, 10);
    for (int i = 2; i < argc; i++) {
        if (xenevtchn_bind_interdomain(h, domid, (evtchn_port_t)strtoul(argv[i], NULL, 10)) < 0) {
            perror("evtchn_echo: xenevtchn_bind_interdomain");
            return 1;
        }
    }
    /* Binding sets each new local port pending (as Xen does): take those before answering anything. */
    for (int i = 2; i < argc; i++) {
        xenevtchn_port_or_error_t p = xenevtchn_pending(h);
        if (p < 0) {
            perror("evtchn_echo: xenevtchn_pending");
            return 1;
        }
        xenevtchn_unmask(h, (evtchn_port_t)p);
    }
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        xenevtchn_port_or_error_t p = xenevtchn_pending(h);
        if (p < 0) {
            perror("evtchn_echo: xenevtchn_pending");
            return 1;
        }
        xenevtchn_unmask(h, (evtchn_port_t)p);
        if (xenevtchn_notify(h, (evtchn_port_t)p) < 0) {
            perror("evtchn_echo: xenevtchn_notify");
            return 1;
        }
    }
}
