using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;
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

    /// <summary>
    /// When true and <see cref="Reconnect"/> is not set, <c>XenStoreClient.ConnectAsync</c> reconnects to the socket or
    /// device it connected to, as <see cref="Reconnect"/> describes: the one-line way to ask for it. Off by default
    /// because reconnecting changes what a caller sees: requests in flight and open transactions still fail, but watches
    /// carry on across a gap their consumer must handle (<see cref="XenStoreWatchEvent.EventsWereDropped"/>), where
    /// without it every watch ends with the connection and the caller knows to start over. Ignored by <c>Create</c>,
    /// which knows no way back to its transport.
    /// </summary>
    public bool AutoReconnect { get; init; }

    /// <summary>
    /// Where the client tells of a lost connection and each reconnection attempt (Warning), a reconnection made or
    /// given up (Information, Error), and a watch whose consumer fell behind so that events were dropped (Warning,
    /// once each time it falls behind). Null (the default) logs nothing.
    /// </summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// Where the client's meter comes from (<see cref="XenStoreMetrics"/> lists its instruments); null (the default) uses
    /// the meter the process's servers and clients share, named <see cref="XenStoreMetrics.MeterName"/>.
    /// </summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>How many times to try reconnecting before giving up. Default 10.</summary>
    public int ReconnectAttempts { get; init; } = 10;

    /// <summary>The first reconnection delay; it doubles with each attempt, up to 5 seconds. Default 50 ms.</summary>
    public TimeSpan ReconnectDelay { get; init; } = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// When true, the code after an awaited request resumes on the thread that received the reply (the client's receive
    /// thread over a Unix socket) instead of being queued to the thread pool, unless the caller's await captured a
    /// <see cref="SynchronizationContext"/> or <see cref="TaskScheduler"/>. With many requests in flight this removes a
    /// thread-pool hand-off per reply, which is most of the client's cost per request. Default false.
    /// </summary>
    /// <remarks>
    /// The same trade as Kestrel's <c>UnsafePreferInlineScheduling</c>: while such code runs, no other reply on the
    /// connection is read, so it must not block. Waiting synchronously for another request of the same client there would
    /// never end; the client's synchronous methods detect it and throw <see cref="InvalidOperationException"/>, but
    /// <c>.Result</c> or <c>Wait()</c> on a task cannot be detected.
    /// </remarks>
    public bool InlineCompletions { get; init; }

    /// <summary>
    /// How long the receive thread of a Unix-socket client keeps checking the socket (<c>poll</c> with no timeout)
    /// before it sleeps, while exactly one request is waiting for its reply. On machines where waking a sleeping thread
    /// costs more than the daemon's round trip (virtual machines with idle vCPUs above all), this turns a request-at-a-time
    /// caller's wake-up into a short busy wait, bounded by this time per request. With several requests in flight the
    /// thread has replies to read and sleeps as usual. Pays off with <see cref="InlineCompletions"/>, where the thread
    /// that receives a reply also sends the next request. Ignored with a single processor, where the daemon could not
    /// run meanwhile. Default <see cref="TimeSpan.Zero"/> (never spins).
    /// </summary>
    public TimeSpan ReceiveSpin
    {
        get => _receiveSpin;
        init => _receiveSpin = ReceiveSpinLimit.Checked(value);
    }

    /// <summary>The longest <see cref="ReceiveSpin"/> accepted (10 ms): a longer busy wait only burns CPU.</summary>
    public static readonly TimeSpan MaxReceiveSpin = ReceiveSpinLimit.Max;

    private readonly TimeSpan _receiveSpin;
}
