/*
 * The libxenstore baselines of XenstoreBenchmarks: xs_read / xs_write in a loop on the library's own
 * connection to the daemon's Unix socket, one call from C# per `count` operations.
 */
#include <stdlib.h>
#include <string.h>
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
