/*
 * The libxenstore baselines of XenstoreBenchmarks: xs_read / xs_write in a loop on the library's own
 * connection to the daemon's Unix socket, one call from C# per `count` operations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <xenstore.h>

/* Opens a libxenstore connection to the daemon listening on socket_path (NULL on failure). */
void *xb_xs_open(const char *socket_path)
{
    /* xs_open(0) connects to xs_daemon_socket(), which is $XENSTORED_PATH when set. */
    if (setenv("XENSTORED_PATH", socket_path, 1) != 0)
        return NULL;
    return xs_open(0);
}

void xb_xs_close(void *handle)
{
    if (handle)
        xs_close((struct xs_handle *)handle);
}

/* `count` xs_read calls of path; returns the total bytes read, or -1 on the first failure. */
long long xb_xs_read_loop(void *handle, const char *path, unsigned count)
{
    long long total = 0;
    for (unsigned i = 0; i < count; i++) {
        unsigned int len = 0;
        void *value = xs_read((struct xs_handle *)handle, XBT_NULL, path, &len);
        if (!value)
            return -1;
        total += len;
        free(value);
    }
    return total;
}

/* `count` xs_write calls of (value, len) to path; returns count, or -1 on the first failure. */
long long xb_xs_write_loop(void *handle, const char *path, const void *value, unsigned len, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        if (!xs_write((struct xs_handle *)handle, XBT_NULL, path, value, len))
            return -1;
    }
    return count;
}

/*
 * Opens `count` libxenstore connections to the daemon on socket_path into handles[], and on each one writes
 * /conns/<i> and reads it back, as a host's many clients each do once before idling. Returns how many connections
 * did all three; on the first failure, the ones opened so far stay in handles[] (the rest are NULL).
 */
unsigned xb_xs_open_many(const char *socket_path, void **handles, unsigned count)
{
    char path[32], value[16];
    memset(handles, 0, sizeof(void *) * count);
    if (setenv("XENSTORED_PATH", socket_path, 1) != 0)
        return 0;
    for (unsigned i = 0; i < count; i++) {
        struct xs_handle *h = xs_open(0);
        if (!h)
            return i;
        handles[i] = h;
        snprintf(path, sizeof(path), "/conns/%u", i);
        snprintf(value, sizeof(value), "%u", i);
        if (!xs_write(h, XBT_NULL, path, value, strlen(value)))
            return i;
        unsigned int len = 0;
        char *back = xs_read(h, XBT_NULL, path, &len);
        int same = back && len == strlen(value) && memcmp(back, value, len) == 0;
        free(back);
        if (!same)
            return i;
    }
    return count;
}

/* Closes every non-NULL handle of handles[0..count). */
void xb_xs_close_many(void **handles, unsigned count)
{
    for (unsigned i = 0; i < count; i++) {
        if (handles[i])
            xs_close((struct xs_handle *)handles[i]);
        handles[i] = NULL;
    }
}

/* Raises the soft open-file limit to the hard one; returns the soft limit now in force. */
long long xb_raise_nofile(void)
{
    struct rlimit limit;
    if (getrlimit(RLIMIT_NOFILE, &limit) != 0)
        return -1;
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
    getrlimit(RLIMIT_NOFILE, &limit);
    return (long long)limit.rlim_cur;
}
