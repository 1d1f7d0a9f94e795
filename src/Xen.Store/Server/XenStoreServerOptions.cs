using System.Diagnostics.Metrics;
using Microsoft.Extensions.Logging;

namespace Xen.Store.Server;

/// <summary>Settings of a <see cref="XenStoreServer"/>.</summary>
public sealed record XenStoreServerOptions
{
    /// <summary>The default per-domain quotas (changeable at run time by dom0 with SET_QUOTA or <c>quota set</c>).</summary>
    public XenStoreQuotas Quotas { get; init; } = new();

    /// <summary>
    /// What stands for the hypervisor (maps guests' pages, binds their event channels, tells of dead domains). When
    /// set, INTRODUCE serves the domain's ring through it and VIRQ_DOM_EXC releases the domains that died; when null,
    /// INTRODUCE only records the domain, and a host attaches rings itself with
    /// <see cref="XenStoreServer.AttachDomainRing"/> and calls <see cref="XenStoreServer.ReleaseDeadDomains"/>.
    /// </summary>
    internal Hosting.IXenStoreHost? Host { get; init; }

    /// <summary>
    /// How many replies and watch events may wait for one connection that does not read them. Past it the server drops
    /// that connection (a ring connection is left unserved with its <c>error</c> field set). Default 1024.
    /// </summary>
    public int MaxQueuedMessages { get; init; } = 1024;

    /// <summary>
    /// How long a watch event for a guest's ring may wait unsent before it is dropped (C xenstored's
    /// <c>-w watch-event=SECONDS</c>, default 20 s): a guest that stops reading its ring loses the events it does not read
    /// in time, instead of holding them and being dropped once <see cref="MaxQueuedMessages"/> is reached. An event of
    /// which part is already in the ring is always finished; replies are never dropped; dom0's connections (its kernel's
    /// ring, the Unix socket) keep every event, as in C. <see cref="TimeSpan.Zero"/> keeps every event.
    /// </summary>
    public TimeSpan WatchEventTimeout
    {
        get => _watchEventTimeout;
        init => _watchEventTimeout = value >= TimeSpan.Zero ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "The watch-event timeout cannot be negative.");
    }

    private readonly TimeSpan _watchEventTimeout = TimeSpan.FromSeconds(20);

    /// <summary>
    /// A directory the store is kept in, so that the server can be killed at any instant and started again with nothing
    /// it acknowledged lost: every change (nodes, permissions, generations, the domain table, quotas) is journalled there
    /// before its reply leaves, and the journal is compacted into a snapshot as it grows. A server started on a directory
    /// that holds state resumes it. Null (the default) keeps the store in memory only. The format is in the Xen.Store
    /// README; one server uses a directory at a time.
    /// </summary>
    public string? StateDirectory { get; init; }

    /// <summary>How far a change must reach before its reply leaves (with <see cref="StateDirectory"/>); default <see cref="XenStoreDurability.Write"/>.</summary>
    public XenStoreDurability Durability { get; init; } = XenStoreDurability.Write;

    /// <summary>
    /// How many bytes the journal may grow past the last snapshot (and past that snapshot's own size, so that a large
    /// store is not rewritten for each small change) before the state is written as a new snapshot and the journal
    /// started afresh. Default 16 MiB.
    /// </summary>
    public long CompactAfterBytes
    {
        get => _compactAfterBytes;
        init => _compactAfterBytes = value >= 0 ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "The compaction threshold cannot be negative.");
    }

    private readonly long _compactAfterBytes = 16 << 20;

    /// <summary>
    /// A file every request and reply is appended to, one line each in C xenstored's <c>--trace-file</c> format
    /// (<c>IN 0x3 20261204 06:30:00 READ (/local/domain/5/name )</c>), with a line as each connection is created and
    /// destroyed. <see cref="XenStoreServer.ReopenTraceFile"/> reopens it after log rotation; xenstore-control's
    /// <c>log off|on</c> and <c>logfile FILE</c> switch it at run time, as C xenstored's do. Null (the default) traces
    /// nothing until a <c>logfile</c> names a file; while off, the trace costs one check per message.
    /// </summary>
    public string? TraceFile { get; init; }

    /// <summary>
    /// How long the thread serving a Unix-socket connection keeps checking the socket (<c>poll</c> with no timeout) for
    /// the next request after answering one, before it sleeps in <c>poll</c>. A client that sends its next request within that
    /// time (libxenstore's request-at-a-time loop, say) then finds the server awake instead of paying for a wake-up,
    /// which on a virtual machine with idle vCPUs costs more than the request itself. A connection spins only while no
    /// other socket connection is awake or was served in the last millisecond, so busy clients never find a core taken
    /// by it; the cost is bounded by this time per request. With a single processor it never spins (the client could not
    /// run meanwhile), nor with <see cref="TimeSpan.Zero"/>. Default 50 us.
    /// </summary>
    public TimeSpan ReceiveSpin
    {
        get => _receiveSpin;
        init => _receiveSpin = ReceiveSpinLimit.Checked(value);
    }

    /// <summary>The longest <see cref="ReceiveSpin"/> accepted (10 ms): a longer busy wait only burns CPU.</summary>
    public static readonly TimeSpan MaxReceiveSpin = ReceiveSpinLimit.Max;

    private readonly TimeSpan _receiveSpin = TimeSpan.FromMicroseconds(50);

    /// <summary>
    /// The most threads that serve the Unix-socket connections, however many there are. A connection holds a thread
    /// only while its client is busy (then it keeps one, so that each request costs one wake-up); a quiet connection
    /// holds none. When more connections are busy than this, they take turns, request batch by batch. Default: twice the
    /// processor count plus 2 (6 on 2 processors), which leaves a thread for each of a few busy clients per core while
    /// every request is handled under the store's one lock anyway.
    /// </summary>
    public int MaxSocketThreads
    {
        get => _maxSocketThreads;
        init => _maxSocketThreads = value >= 1 ? value
            : throw new ArgumentOutOfRangeException(nameof(value), value, "At least one thread must serve the sockets.");
    }

    private readonly int _maxSocketThreads = 2 * Environment.ProcessorCount + 2;

    /// <summary>
    /// Where the server tells what an operator needs to know: a guest refused for a quota (which domain, which quota,
    /// which request; at most one line per domain and quota every 10 seconds), a guest's ring that broke and is no longer
    /// served, a connection dropped for not reading its replies, a domain whose ring could not be mapped or bound
    /// (Warning); domains introduced and released (Information); each connection opened and closed, with why (Debug);
    /// a journal that can no longer be written (Critical). Null (the default) logs nothing.
    /// </summary>
    public ILogger? Logger { get; init; }

    /// <summary>
    /// Where the server's meter comes from (<see cref="XenStoreMetrics"/> lists its instruments); null (the default)
    /// uses the meter the process's servers and clients share, named <see cref="XenStoreMetrics.MeterName"/>.
    /// </summary>
    public IMeterFactory? MeterFactory { get; init; }

    /// <summary>
    /// Serve sockets through the runtime's <see cref="System.Net.Sockets.Socket"/> even on Linux (<see cref="ManagedSocket"/>,
    /// what other platforms use), so that the tests run that path too.
    /// </summary>
    internal bool ManagedSockets { get; init; }

    /// <summary>
    /// How the daemon replaces itself on <c>xenstore-control live-update</c> (<c>xen store serve</c> sets it), and whether
    /// this process is the new one of an update; null: CONTROL <c>live-update</c> is refused, as by a build without it.
    /// </summary>
    internal LiveUpdate.LiveUpdateSettings? LiveUpdate { get; init; }
}
