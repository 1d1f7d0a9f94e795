using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// The xenstored state machine: the tree, transactions, watches, domains and quotas, and the handler of every request
/// type. It knows nothing of sockets or rings: a connection hands it one whole request, and it queues replies and
/// watch events on the connections concerned.
/// </summary>
/// <remarks>
/// <para>
/// Design. One lock (<c>_gate</c>) serialises every request, as C xenstored's single thread does: each request sees
/// and leaves a consistent tree, watch events are queued in the order of the changes, and a transaction's commit check
/// and apply are atomic. Handlers are short and allocation-light (a request is a few dictionary look-ups), so the
/// lock is held for microseconds. Nothing under the lock blocks or awaits (but for the <c>write(2)</c> of a journal
/// record, with a state directory: see <c>StoreEngine.Journal.cs</c>; an <c>fsync</c> only once, in a live update's hand-over,
/// when every connection is frozen already): output goes to per-connection
/// queues that the transports drain outside it, and closing a connection only signals its loop (see
/// <see cref="ServerConnection"/>).
/// </para>
/// <para>
/// Behaviour follows C xenstored 4.17 as observed on the wire (see the interop tests): error choice and order, the
/// permission rules (owner and dom0 get everything; an unprivileged domain owns what it creates; a missing node
/// answers EACCES when its nearest existing ancestor denies the access), watch events before the reply that caused
/// them, and EAGAIN at commit when any node the transaction touched has a new generation.
/// </para>
/// </remarks>
internal sealed partial class StoreEngine : IStoreEngine
{
    private static readonly byte[] OkPayload = "OK\0"u8.ToArray();

    private readonly object _gate = new();
    private readonly StoreTree _tree = new();
    private readonly List<ServerConnection> _connections = [];
    private readonly Dictionary<uint, DomainRecord> _domains = [];
    private readonly XenStoreServerOptions _options;
    private readonly RequestHandler?[] _handlers;
    private readonly QuotaRefusals _refusals;
    private XenStoreQuotas _quotas;

    /// <param name="options">The server's settings.</param>
    /// <param name="serverFeatures">The features the server has (GET_FEATURE's answer, and every new domain's until SET_FEATURE).</param>
    public StoreEngine(XenStoreServerOptions options, uint serverFeatures)
    {
        ServerFeatures = serverFeatures;
        _options = options;
        _quotas = options.Quotas;
        Logger = options.Logger ?? NullLogger.Instance;
        Metrics = ServerMetrics.For(options.MeterFactory);
        _refusals = new QuotaRefusals(Logger, Metrics);
        _domains[0] = new DomainRecord(0) { Introduced = true, Features = serverFeatures };
        _handlers = BuildHandlers();
        Trace = new StoreTrace(options.TraceFile); // off without a file, until CONTROL logfile names one
    }

    /// <summary>Where the server tells of connections, domains, quota refusals and broken rings (<see cref="XenStoreServerOptions.Logger"/>).</summary>
    public ILogger Logger { get; }

    /// <summary>The server's instruments (<see cref="XenStoreServerOptions.MeterFactory"/>).</summary>
    public ServerMetrics Metrics { get; }

    /// <summary>The request/reply trace (<see cref="XenStoreServerOptions.TraceFile"/>, switched by CONTROL <c>log</c> and <c>logfile</c>); the server disposes it.</summary>
    public StoreTrace Trace { get; }

    /// <summary>Creates the ring connection for an INTRODUCE (set by the server; null: only record the domain).</summary>
    public Func<DomainRecord, ServerConnection?>? RingFactory { get; set; }

    /// <summary>Whether a domain exists, from the host (set by the server when it has one; null: any unreserved domid may).</summary>
    public Func<uint, bool>? DomainExists { get; set; }

    /// <summary>The server's features: GET_FEATURE's answer to a connection of no domain, and what a domain has until SET_FEATURE.</summary>
    public uint ServerFeatures { get; }

    /// <summary>Registers a connection.</summary>
    public void Attach(ServerConnection connection)
    {
        lock (_gate)
        {
            connection.State.Domain = Domain(connection.DomainId);
            AddConnection(connection);
        }
    }

    /// <summary>Forgets a closed connection with its watches and transactions.</summary>
    public void Detach(ServerConnection connection)
    {
        lock (_gate)
        {
            if (_connections.Remove(connection))
            {
                Trace.Connection(created: false, connection);
            }

            connection.State.Domain?.Connections.Remove(connection);

            Metrics.ConnectionClosed(connection);
            string reason = connection.CloseReason ?? "closed";
            if (connection.ClosedForOverflow)
            {
                StoreLog.ConnectionDropped(Logger, connection.TraceId, connection.Description, connection.DomainId, reason);
            }
            else
            {
                StoreLog.ConnectionClosed(Logger, connection.TraceId, connection.Description, connection.DomainId, reason);
            }

            connection.State.Reset();
            ForgetLiveUpdate(connection);
            if (connection.State.Domain is { } d && ReferenceEquals(d.Ring, connection))
            {
                d.Ring = null;
            }
        }
    }

    /// <summary>Drops a connection's watches and transactions (ring reconnection, broken ring).</summary>
    public void ResetConnection(ServerConnection connection)
    {
        lock (_gate)
        {
            BeginChange();
            connection.State.Reset();
            WatchesChanged(connection);
            EndChange();
        }
    }

    /// <summary>How many nodes each domain owns (a snapshot, for the metrics).</summary>
    public KeyValuePair<uint, int>[] NodeCounts()
    {
        lock (_gate)
        {
            return [.. _tree.OwnedCounts];
        }
    }

    /// <summary>The bytes each domain holds against its memory quota, nodes and watches (a snapshot, for the metrics; dom0's nodes too).</summary>
    public KeyValuePair<uint, long>[] MemoryCounts()
    {
        lock (_gate)
        {
            return [.. _tree.Memory.Keys.Union(_domains.Keys).Select(d => KeyValuePair.Create(d, MemoryOf(d))).Where(kv => kv.Value != 0)];
        }
    }

    /// <summary>Every domain's ring connection (a snapshot).</summary>
    public ServerConnection[] DomainRings()
    {
        lock (_gate)
        {
            return [.. _domains.Values.Select(d => d.Ring).OfType<ServerConnection>()];
        }
    }

    /// <summary>Every connection (a snapshot).</summary>
    public ServerConnection[] Connections()
    {
        lock (_gate)
        {
            return [.. _connections];
        }
    }

    /// <summary>Handles one request and queues its reply.</summary>
    public void Process(ServerConnection conn, XsHeader header, ReadOnlySpan<byte> payload)
    {
        lock (_gate)
        {
            if (conn.IsClosed)
            {
                return;
            }

            Trace.Io(output: false, conn, header.Type, payload);
            BeginChange();
            var request = new Request(conn, header);
            _refusals.Request = header.Type;
            XsError? error = Dispatch(ref request, payload);
            if (error is XsError failure)
            {
                conn.Enqueue(XsMessageWriter.ErrorReply(header, failure));
            }

            Metrics.Request(header.Type, error);

            EndChange();
        }
    }

    /// <summary>
    /// Checks a request in C xenstored's order (<c>process_message</c>): an unknown type is ENOSYS, a toolstack operation
    /// from an unprivileged connection EACCES, and only then is the transaction id looked up (ENOENT for one no open
    /// transaction has), except by WATCH and UNWATCH, which ignore it; then the handler runs.
    /// </summary>
    private XsError? Dispatch(ref Request r, ReadOnlySpan<byte> payload)
    {
        XsMessageType type = r.Header.Type;
        if ((uint)type >= (uint)_handlers.Length || _handlers[(int)type] is not { } handler)
        {
            return XsError.ENOSYS;
        }

        if (handler.Dom0Only && !r.Connection.IsPrivileged)
        {
            return XsError.EACCES;
        }

        if (r.Header.TransactionId != 0 && !handler.IgnoresTransaction)
        {
            if (!r.Connection.State.Transactions.TryGetValue(r.Header.TransactionId, out StoreTransaction? tx))
            {
                return XsError.ENOENT;
            }

            r.Transaction = tx;
            if (QuotaOf(r.Connection).TooManyTransactionNodes(tx.TouchedCount))
            {
                return XsError.ENOSPC;
            }
        }

        return handler.Run(in r, payload);
    }

    /// <summary>
    /// The dispatch table: the handler of each request type, indexed by its number, and whether only a privileged
    /// connection may send it (the toolstack's operations: C xenstored answers EACCES before looking at the arguments).
    /// A type without an entry answers ENOSYS. WATCH and UNWATCH ignore the transaction id (C's <c>XS_FLAG_NOTID</c>): a
    /// watch is the connection's, whatever transaction it was sent in.
    /// </summary>
    private RequestHandler?[] BuildHandlers()
    {
        var table = new RequestHandler?[(int)XsMessageType.SetQuota + 1];
        void Add(XsMessageType type, RequestHandler.Body run, bool dom0Only = false) =>
            table[(int)type] = new RequestHandler(run, dom0Only, ignoresTransaction: type is XsMessageType.Watch or XsMessageType.Unwatch);

        Add(XsMessageType.Read, DoRead);
        Add(XsMessageType.Write, DoWrite);
        Add(XsMessageType.Mkdir, DoMkdir);
        Add(XsMessageType.Rm, DoRm);
        Add(XsMessageType.Directory, DoDirectory);
        Add(XsMessageType.DirectoryPart, DoDirectoryPart);
        Add(XsMessageType.GetPerms, DoGetPerms);
        Add(XsMessageType.SetPerms, DoSetPerms);
        Add(XsMessageType.Watch, DoWatch);
        Add(XsMessageType.Unwatch, DoUnwatch);
        Add(XsMessageType.ResetWatches, (in Request r, ReadOnlySpan<byte> _) => DoResetWatches(in r));
        Add(XsMessageType.TransactionStart, (in Request r, ReadOnlySpan<byte> _) => DoTransactionStart(in r));
        Add(XsMessageType.TransactionEnd, DoTransactionEnd);
        Add(XsMessageType.GetDomainPath, DoGetDomainPath);
        Add(XsMessageType.Introduce, DoIntroduce, dom0Only: true);
        Add(XsMessageType.Release, DoRelease, dom0Only: true);
        Add(XsMessageType.Resume, DoResume, dom0Only: true);
        Add(XsMessageType.IsDomainIntroduced, DoIsDomainIntroduced, dom0Only: true);
        Add(XsMessageType.SetTarget, DoSetTarget, dom0Only: true);
        Add(XsMessageType.Control, DoControl, dom0Only: true);
        Add(XsMessageType.GetFeature, DoGetFeature);
        Add(XsMessageType.SetFeature, DoSetFeature, dom0Only: true);
        Add(XsMessageType.GetQuota, DoGetQuota, dom0Only: true);
        Add(XsMessageType.SetQuota, DoSetQuota, dom0Only: true);
        return table;
    }

    /// <summary>Fires the watches of a change now, or at commit when the request is in a transaction.</summary>
    private void Fire(in Request r, PendingEvent pending)
    {
        if (r.Transaction is { } tx)
        {
            tx.Events.Add(pending);
        }
        else
        {
            FireNow(pending);
        }
    }

    /// <summary>The quotas binding <paramref name="conn"/>: its domain's own, else the defaults.</summary>
    private StoreQuota QuotaOf(ServerConnection conn) => new(conn.State.Domain?.Quotas ?? _quotas, conn.IsPrivileged, conn.DomainId, _refusals);

    /// <summary>Registers a connection (under the lock) and gives it the trace its replies are logged to.</summary>
    private void AddConnection(ServerConnection connection)
    {
        _connections.Add(connection);
        if (connection.DomainId != 0)
        {
            connection.State.Domain?.Connections.Add(connection);
        }
        connection.Trace = Trace;
        connection.Journal = _journal;
        connection.Metrics = Metrics;
        Trace.Connection(created: true, connection);
        Metrics.ConnectionOpened(connection);
        StoreLog.ConnectionOpened(Logger, connection.TraceId, connection.Description, connection.DomainId);
    }

    private DomainRecord Domain(uint domainId)
    {
        if (!_domains.TryGetValue(domainId, out DomainRecord? d))
        {
            d = new DomainRecord(domainId) { Features = ServerFeatures };
            _domains[domainId] = d;
        }

        return d;
    }

    private static void Reply(in Request r, ReadOnlySpan<byte> payload) =>
        r.Connection.Enqueue(XsMessageWriter.Reply(r.Header.Type, r.Header.RequestId, r.Header.TransactionId, payload));

    /// <summary>One entry of the dispatch table.</summary>
    private sealed class RequestHandler(RequestHandler.Body run, bool dom0Only, bool ignoresTransaction)
    {
        /// <summary>Handles a request: queues its reply and returns null, or returns the error to answer.</summary>
        public delegate XsError? Body(in Request r, ReadOnlySpan<byte> payload);

        public Body Run { get; } = run;

        public bool Dom0Only { get; } = dom0Only;

        public bool IgnoresTransaction { get; } = ignoresTransaction;
    }

    /// <summary>One request being handled.</summary>
    private struct Request(ServerConnection connection, XsHeader header)
    {
        public ServerConnection Connection { get; } = connection;

        public XsHeader Header { get; } = header;

        public StoreTransaction? Transaction { get; set; }

        public readonly NodeView View(StoreTree tree) => Transaction is { } tx ? tx : tree;
    }
}
