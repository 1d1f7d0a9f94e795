using Xen.Store.Transports;

namespace Xen.Store.Client;

/// <summary>Settings of a <see cref="XenStoreClient"/>.</summary>
public sealed class XenStoreClientOptions
{
    /// <summary>
    /// How many undelivered events each watch keeps. When a consumer falls further behind, the oldest events are
    /// dropped and the next event delivered says so (<see cref="XenStoreWatchEvent.EventsWereDropped"/>): replies to
    /// other requests never wait for a slow consumer. Default 1024.
    /// </summary>
    public int WatchEventCapacity { get; init; } = 1024;

    /// <summary>
    /// When set, a lost connection is re-established through this factory (retried with backoff up to
    /// <see cref="ReconnectAttempts"/> times) and every watch is registered again; each watch then receives one
    /// event flagged <see cref="XenStoreWatchEvent.EventsWereDropped"/>. Requests in flight when the connection
    /// dropped, and open transactions, still fail with <see cref="XenStoreConnectionException"/>.
    /// </summary>
    public Func<CancellationToken, ValueTask<IXenStoreTransport>>? Reconnect { get; init; }

    /// <summary>How many times to try reconnecting before giving up. Default 10.</summary>
    public int ReconnectAttempts { get; init; } = 10;

    /// <summary>The first reconnection delay; it doubles with each attempt, up to 5 seconds. Default 50 ms.</summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(50);
}
