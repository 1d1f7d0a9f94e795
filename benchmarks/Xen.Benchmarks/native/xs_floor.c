/*
 * xs_floor: the floor under any xenstore daemon's round trip on this machine. A stand-in daemon on a Unix socket
 * that answers READ with the value last written to that path (ENOENT if none) and WRITE with "OK", keeping at most
 * 16 paths in a table, and answers everything else with ENOSYS: no tree, no permissions, no transactions, no
 * watches, no quotas. Its socket handling is our server's: a thread per connection that blocks in read, and after
 * answering polls its socket (recv with MSG_DONTWAIT) for up to SPIN_US microseconds before it blocks, only while
 * no other connection's thread is awake or was woken in the last millisecond (XenStoreServerOptions.ReceiveSpin's
 * rule). Whatever a real daemon costs comes on top of it; XenstoreBenchmarks runs every load against it
 * (Daemon = Floor) beside the real daemons and ours.
 *
 *   xs_floor SOCKET_PATH [SPIN_US]        (default 50; built next to libxenbench.so by the benchmark project)
 *
 * Header layout: xen/io/xs_wire.h (struct xsd_sockmsg: type, req_id, tx_id, len; payload at most 4096 bytes).
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <xen/io/xs_wire.h>

#define SLOTS 16

static struct { char path[XENSTORE_ABS_PATH_MAX + 1]; char value[XENSTORE_PAYLOAD_MAX]; uint32_t length; } table[SLOTS];
static int used;
static pthread_mutex_t table_lock = PTHREAD_MUTEX_INITIALIZER;
static double spin_seconds = 50e-6;
static atomic_int awake;
static pthread_mutex_t wake_lock = PTHREAD_MUTEX_INITIALIZER;
static long latest_waker = -1;          /* the last connection woken, and when; under wake_lock */
static double latest_at, previous_at;   /* previous_at: the last wake of a connection other than latest_waker */

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* One read for a connection about to wait: spins first when it is the only one awake and no other woke lately. */
static ssize_t wait_read(int fd, long id, char *buffer, size_t length)
{
    ssize_t n = -1;
    double t = now();
    pthread_mutex_lock(&wake_lock);
    int others_busy = t - (latest_waker == id ? previous_at : latest_at) < 1e-3;
    pthread_mutex_unlock(&wake_lock);
    if (spin_seconds > 0 && atomic_load(&awake) == 1 && !others_busy) {
        double until = t + spin_seconds;
        do
            n = recv(fd, buffer, length, MSG_DONTWAIT);
        while (n < 0 && now() < until && atomic_load(&awake) == 1);
    }
    if (n >= 0)
        return n;
    atomic_fetch_sub(&awake, 1);
    n = read(fd, buffer, length);
    atomic_fetch_add(&awake, 1);
    t = now();
    pthread_mutex_lock(&wake_lock);
    if (latest_waker != id)
        previous_at = latest_at;
    latest_waker = id;
    latest_at = t;
    pthread_mutex_unlock(&wake_lock);
    return n;
}

static int read_all(int fd, long id, char *buffer, size_t length)
{
    size_t got = 0;
    while (got < length) {
        ssize_t n = wait_read(fd, id, buffer + got, length - got);
        if (n <= 0)
            return 0;
        got += (size_t)n;
    }
    return 1;
}

static int reply(int fd, struct xsd_sockmsg *header, uint32_t type, const void *payload, uint32_t length)
{
    char out[sizeof(struct xsd_sockmsg) + XENSTORE_PAYLOAD_MAX];
    header->type = type;
    header->len = length;
    memcpy(out, header, sizeof *header);
    memcpy(out + sizeof *header, payload, length);
    return write(fd, out, sizeof *header + length) == (ssize_t)(sizeof *header + length);
}

static int find(const char *path)
{
    for (int i = 0; i < used; i++)
        if (strcmp(table[i].path, path) == 0)
            return i;
    return -1;
}

static void *serve(void *argument)
{
    int fd = (int)(intptr_t)argument;
    long id = (long)fd;
    struct xsd_sockmsg header;
    char body[XENSTORE_PAYLOAD_MAX + 1];
    int ok = 1;
    atomic_fetch_add(&awake, 1);
    while (ok && read_all(fd, id, (char *)&header, sizeof header) && header.len <= XENSTORE_PAYLOAD_MAX
           && read_all(fd, id, body, header.len)) {
        body[header.len] = 0;
        size_t path_length = strnlen(body, header.len);
        if (header.type == XS_READ || header.type == XS_WRITE) {
            pthread_mutex_lock(&table_lock);
            int slot = path_length <= XENSTORE_ABS_PATH_MAX ? find(body) : -1;
            if (header.type == XS_READ) {
                ok = slot >= 0 ? reply(fd, &header, XS_READ, table[slot].value, table[slot].length)
                               : reply(fd, &header, XS_ERROR, "ENOENT", 7);
            } else if (path_length < header.len && path_length <= XENSTORE_ABS_PATH_MAX && (slot >= 0 || used < SLOTS)) {
                if (slot < 0) {
                    slot = used++;
                    memcpy(table[slot].path, body, path_length + 1);
                }
                table[slot].length = header.len - (uint32_t)path_length - 1;
                memcpy(table[slot].value, body + path_length + 1, table[slot].length);
                ok = reply(fd, &header, XS_WRITE, "OK", 3);
            } else {
                ok = reply(fd, &header, XS_ERROR, "EINVAL", 7);
            }
            pthread_mutex_unlock(&table_lock);
        } else {
            ok = reply(fd, &header, XS_ERROR, "ENOSYS", 7);
        }
    }
    atomic_fetch_sub(&awake, 1);
    close(fd);
    return NULL;
}

int main(int argc, char **argv)
{
    struct sockaddr_un address = { .sun_family = AF_UNIX };
    if (argc < 2 || strlen(argv[1]) >= sizeof address.sun_path) {
        fprintf(stderr, "usage: xs_floor SOCKET_PATH [SPIN_US]\n");
        return 2;
    }
    if (argc > 2)
        spin_seconds = atof(argv[2]) * 1e-6;
    strcpy(address.sun_path, argv[1]);
    unlink(argv[1]);
    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listener < 0 || bind(listener, (struct sockaddr *)&address, sizeof address) != 0 || listen(listener, 64) != 0) {
        perror("xs_floor");
        return 1;
    }
    for (;;) {
        int client = accept(listener, NULL, NULL);
        pthread_t thread;
        if (client >= 0 && pthread_create(&thread, NULL, serve, (void *)(intptr_t)client) == 0)
            pthread_detach(thread);
        else if (client >= 0)
            close(client);
    }
}
