using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using Xen.Store.Server.LiveUpdate;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// Live update from the engine's side: CONTROL <c>live-update</c> (the sub-commands <c>xenstore-control</c> sends, with
/// C xenstored's answers), the decision when a started update may go ahead, the freeze that stops every connection's
/// requests while the state is dumped, and the dump and load of the state as Xen's migration stream. Moving the
/// process and the connections' descriptors is the server's (<see cref="LiveUpdateCoordinator"/>).
/// </summary>
internal sealed partial class StoreEngine
{
    private const string NotInSession = "Not in live-update session.";

    private LiveUpdateSession? _liveUpdate;
    private volatile bool _frozen;
    private TaskCompletionSource _thawed = NewThaw(completed: true);

    /// <summary>Runs a started live update (set by a server that can replace its process; null: <c>live-update</c> is refused).</summary>
    public Action? LiveUpdateStarted { get; set; }

    /// <summary>While set, connections hand the engine no further request: what they hold stays theirs, for the dump.</summary>
    public bool Frozen => _frozen;

    /// <summary>Completes when a freeze ends without the process being replaced (the update failed).</summary>
    public Task Thawed => Volatile.Read(ref _thawed).Task;

    /// <summary>The decision on a started live update, taken each time the coordinator looks.</summary>
    public enum LiveUpdateStep
    {
        /// <summary>No update is started any more (aborted, refused, or its connection gone).</summary>
        None,

        /// <summary>Transactions are open: look again shortly.</summary>
        Wait,

        /// <summary>Go ahead: freeze, dump, replace the process.</summary>
        Go,
    }

    private XsError? DoLiveUpdate(in Request r, string[] args)
    {
        string? text;
        switch (args)
        {
            case ["-a"]:
                text = EndLiveUpdate("Cancellation was requested") ? null : "No live-update session active.";
                break;
            case ["-c", string cmdline]:
                text = _liveUpdate?.Connection != r.Connection ? NotInSession : null;
                if (text is null)
                {
                    _liveUpdate!.CommandLine = cmdline;
                }

                break;
            case ["-f", string file]:
                text = LiveUpdateBinary(r.Connection, file);
                break;
            case ["-s", ..]:
                return StartLiveUpdate(in r, args);
            default:
                return XsError.EINVAL;
        }

        Reply(in r, XsText.Latin1.GetBytes((text ?? "OK") + "\0"));
        return null;
    }

    /// <summary><c>-f FILE</c>: C xenstored's checks of the new binary, then a session of this connection.</summary>
    private string? LiveUpdateBinary(ServerConnection conn, string file)
    {
        if (!File.Exists(file))
        {
            return "File not accessible.";
        }

        const UnixFileMode anyExecute = UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        if (!OperatingSystem.IsWindows() && (File.GetUnixFileMode(file) & anyExecute) == 0)
        {
            return "File not executable.";
        }

        if (_liveUpdate is not null)
        {
            return "live-update session already active.";
        }

        _liveUpdate = new LiveUpdateSession(conn, Path.GetFullPath(file));
        return null;
    }

    /// <summary><c>-s [-F] [-t SECONDS] [-v VERSION]</c>: answered only when the update is refused, or by the new process.</summary>
    private XsError? StartLiveUpdate(in Request r, string[] args)
    {
        bool force = false;
        int timeout = 0;
        int version = (int)MigrationStream.Version;
        for (int i = 1; i < args.Length; i++)
        {
            switch (args[i])
            {
                case "-F":
                    force = true;
                    break;
                case "-t" when i < args.Length - 1:
                    timeout = Atoi(args[++i]);
                    break;
                case "-v" when i < args.Length - 1:
                    version = Atoi(args[++i]);
                    break;
                default:
                    return XsError.EINVAL;
            }
        }

        string? refused = _liveUpdate is not { } session || session.Connection != r.Connection ? NotInSession
            : version != MigrationStream.Version ? "Migration stream version not supported." // C also writes version 1; this server only 2
            : null;
        if (refused is not null)
        {
            Reply(in r, XsText.Latin1.GetBytes(refused + "\0"));
            return null;
        }

        _liveUpdate!.Start(r.Header, force, timeout);
        LiveUpdateStarted!.Invoke();
        return null;
    }

    /// <summary>
    /// Whether the started update may go now, as C xenstored decides it: with no transaction open anywhere; or, with
    /// <c>-F</c>, when every open one has run for the timeout; after the timeout, with <c>-F</c> whatever is open, without
    /// it never (the start request is answered with why, and the session ends).
    /// </summary>
    public LiveUpdateStep NextLiveUpdateStep()
    {
        lock (_gate)
        {
            if (_liveUpdate is not { StartRequest: { } request } session)
            {
                return LiveUpdateStep.None;
            }

            long now = Environment.TickCount64;
            int total = 0;
            var longRunning = new List<(uint Domain, long Seconds)>();
            foreach (ServerConnection c in _connections)
            {
                if (c.State.Transactions.Count > 0)
                {
                    total++;
                    long seconds = (now - c.State.Transactions.Values.Min(t => t.StartedAt)) / 1000;
                    if (seconds >= session.TimeoutSeconds)
                    {
                        longRunning.Add((c.DomainId, seconds));
                    }
                }
            }

            if (total == 0 || (session.Force && longRunning.Count == total))
            {
                return LiveUpdateStep.Go;
            }

            if (now < session.StartedAt + (session.TimeoutSeconds * 1000L))
            {
                return LiveUpdateStep.Wait;
            }

            if (session.Force)
            {
                return LiveUpdateStep.Go;
            }

            var why = new StringBuilder();
            foreach (var (domain, seconds) in longRunning)
            {
                why.Append(why.Length == 0 ? "Domains with long running transactions:" : "").Append(CultureInfo.InvariantCulture, $"\nDomain {domain}: {seconds} s");
            }

            EndLiveUpdate(why.Length > 0 ? why.ToString() : "Overlapping transactions");
            return LiveUpdateStep.None;
        }
    }

    /// <summary>Stops every connection's requests (they finish the one in hand) until <see cref="Thaw"/> or the process is replaced.</summary>
    public void Freeze()
    {
        lock (_gate)
        {
            Volatile.Write(ref _thawed, NewThaw(completed: false));
            _frozen = true;
        }
    }

    /// <summary>
    /// Ends a freeze whose update failed: the start request is answered with <paramref name="why"/>, the session ends and
    /// the connections go on.
    /// </summary>
    public void Thaw(string why)
    {
        lock (_gate)
        {
            _frozen = false;
            EndLiveUpdate(why);

            _thawed.TrySetResult();
        }
    }

    /// <summary>
    /// Runs <paramref name="handOver"/> under the lock with the whole state as a migration stream (the engine frozen,
    /// every carried connection quiet): the caller replaces the process from inside it, so nothing changes between the
    /// dump and the exec. The start request's "OK" is in its connection's pending output, for the new process to send.
    /// </summary>
    /// <param name="listenerFd">The listening socket's descriptor (-1: none).</param>
    /// <param name="handOver">Writes the stream and replaces the process; returns only on failure, with why.</param>
    /// <returns>Why the hand-over failed.</returns>
    public string HandOver(int listenerFd, Func<LiveUpdatePlan, string> handOver)
    {
        lock (_gate)
        {
            if (_liveUpdate is not { StartRequest: { } request } session)
            {
                return "Cancellation was requested";
            }

            var writer = new MigrationStream.Writer();
            writer.Global(listenerFd, -1); // the new process binds its channels again: no event channel descriptor is kept
            writer.GlobalQuota(QuotaValues(_quotas));
            var carried = new List<(ServerConnection, CarriedConnection)>();
            var leftOut = new List<string>();
            uint id = 0;
            foreach (ServerConnection c in _connections)
            {
                if (c.IsClosed || !c.IsQuiet || c.CarryOver() is not { } carry)
                {
                    // Closed, busy past the quiet timeout, or in-process: it ends with this process.
                    leftOut.Add($"{c.Description} ({(c.IsClosed ? "closed" : !c.IsQuiet ? "still sending" : "cannot be carried")})");
                    continue;
                }

                id++;
                byte[] output = c == session.Connection
                    ? [.. carry.Output, .. XsMessageWriter.Reply(XsMessageType.Control, request.RequestId, request.TransactionId, OkPayload)]
                    : carry.Output;
                if (carry.SocketFd >= 0)
                {
                    writer.SocketConnection(id, carry.SocketFd, carry.Input, output);
                }
                else
                {
                    DomainRecord d = c.State.Domain!;
                    writer.RingConnection(id, (ushort)c.DomainId, (ushort)(d.Target ?? MigrationStream.DomidInvalid), d.Port, carry.Input, output);
                }

                foreach (StoreWatch w in c.State.Watches)
                {
                    writer.Watch(id, w.Path, w.Token, w.Depth);
                }

                foreach (uint tx in c.State.Transactions.Keys)
                {
                    writer.Transaction(id, tx);
                }

                carried.Add((c, carry));
            }

            var pending = new Queue<string>(["/"]);
            while (pending.TryDequeue(out string? path))
            {
                StoreNode node = _tree.Get(path)!;
                writer.Node(path, node.Value, node.Permissions);
                foreach (string child in node.Children)
                {
                    pending.Enqueue(path == "/" ? "/" + child : path + "/" + child);
                }
            }

            foreach (DomainRecord d in _domains.Values)
            {
                if (d.Introduced)
                {
                    writer.Domain((ushort)d.Id, d.Features, d.Quotas is { } q ? QuotaValues(q) : []);
                }
            }

            try
            {
                _journal?.PrepareHandOver();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException or AggregateException)
            {
                return "Dump state error: the state directory could not be flushed";
            }

            return handOver(new LiveUpdatePlan(writer.End(), carried, leftOut, session.Binary, session.CommandLine));
        }
    }

    /// <summary>
    /// Starts from a live update's stream (before any connection is attached): the tree, the quotas, the domains (but
    /// with a state directory, which holds them already, recovered as after a crash: then only the connections), their
    /// rings to serve again (<see cref="DomainRecord.Carried"/>, picked up by <see cref="ResumeRings"/>), and each
    /// socket connection made by <paramref name="adoptSocket"/> from its inherited descriptor, with its watches and its
    /// transactions (which the update aborted: their commit answers EAGAIN, as a conflict does).
    /// </summary>
    /// <returns>The listening socket's descriptor (-1: none), and the socket connections, to be started once attached.</returns>
    /// <exception cref="InvalidDataException">The stream is damaged, or a node comes before its parent.</exception>
    public (int ListenerFd, List<ServerConnection> Sockets) LoadLiveUpdate(ReadOnlyMemory<byte> stream, Func<int, CarriedConnection, ServerConnection> adoptSocket)
    {
        List<MigrationStream.Record> records = MigrationStream.Read(stream, out _);
        bool journalled = _journal is not null; // the store came from the state directory, the same as the stream's
        var byId = new Dictionary<uint, (ServerConnection? Socket, DomainRecord? Ring)>();
        var sockets = new List<ServerConnection>();
        int listenerFd = -1;
        lock (_gate)
        {
            foreach (MigrationStream.Record record in records)
            {
                ReadOnlySpan<byte> body = record.Body.Span;
                switch (record.Type)
                {
                    case MigrationStream.RecordType.Global when body.Length >= 8:
                        listenerFd = BinaryPrimitives.ReadInt32LittleEndian(body);
                        break;
                    case MigrationStream.RecordType.GlobalQuota or MigrationStream.RecordType.Domain or MigrationStream.RecordType.Node when journalled:
                        break;
                    case MigrationStream.RecordType.GlobalQuota when body.Length >= 4:
                        _quotas = WithQuotas(_quotas, MigrationStream.ParseQuotas(body, 4, BinaryPrimitives.ReadUInt16LittleEndian(body)));
                        break;
                    case MigrationStream.RecordType.Domain when body.Length >= 8:
                        DomainRecord domain = Domain(BinaryPrimitives.ReadUInt16LittleEndian(body));
                        domain.Introduced = true;
                        domain.Features = BinaryPrimitives.ReadUInt32LittleEndian(body[4..]);
                        int quotas = BinaryPrimitives.ReadUInt16LittleEndian(body[2..]);
                        domain.Quotas = quotas == 0 ? null : WithQuotas(_quotas, MigrationStream.ParseQuotas(body, 8, quotas));
                        break;
                    case MigrationStream.RecordType.Connection:
                        MigrationStream.ConnectionRecord c = MigrationStream.ParseConnection(record.Body);
                        var carried = new CarriedConnection(c.Type == MigrationStream.ConnectionSocket ? c.SocketFd : -1, c.Input.ToArray(), c.Output.ToArray());
                        if (c.Type == MigrationStream.ConnectionSocket)
                        {
                            ServerConnection socket = adoptSocket(c.SocketFd, carried);
                            socket.State.Domain = Domain(0);
                            AddConnection(socket);
                            sockets.Add(socket);
                            byId[c.Id] = (socket, null);
                        }
                        else if (c.Type == MigrationStream.ConnectionRing)
                        {
                            DomainRecord d = Domain(c.DomainId);
                            d.Introduced = true;
                            d.Port = c.Port;
                            d.Target = c.TargetDomainId == MigrationStream.DomidInvalid ? null : c.TargetDomainId;
                            d.Carried = carried;
                            byId[c.Id] = (null, d);
                        }

                        break;
                    case MigrationStream.RecordType.Watch or MigrationStream.RecordType.WatchExtended:
                        var (owner, path, token, depth) = MigrationStream.ParseWatch(record.Type, body);
                        AddLoadedWatch(byId, owner, path, token, depth);
                        break;
                    case MigrationStream.RecordType.Transaction when body.Length >= 8:
                        uint txOwner = BinaryPrimitives.ReadUInt32LittleEndian(body);
                        uint txId = BinaryPrimitives.ReadUInt32LittleEndian(body[4..]);
                        if (byId.GetValueOrDefault(txOwner) is { Socket: { } txSocket })
                        {
                            AddDoomedTransaction(txSocket, txId);
                        }
                        else if (byId.GetValueOrDefault(txOwner) is { Ring.Carried: { } txRing })
                        {
                            txRing.Transactions.Add(txId); // held once the ring is served
                        }

                        break;
                    case MigrationStream.RecordType.Node:
                        LoadNode(body);
                        break;
                    default:
                        break; // a record of a later version, or a guest's transaction record: nothing this server keeps
                }
            }

            if (!CheckTree())
            {
                throw new InvalidDataException("The live update's nodes are not a consistent tree.");
            }
        }

        return (listenerFd, sockets);
    }

    /// <summary>A transaction the update aborted: requests in it are answered, its commit is EAGAIN; later ids follow it.</summary>
    private void AddDoomedTransaction(ServerConnection conn, uint id)
    {
        conn.State.AddTransaction(new StoreTransaction(_tree, id) { Doomed = true });
        conn.State.NextTransactionId = Math.Max(conn.State.NextTransactionId, id);
    }

    /// <summary>What a live update carried of a domain's ring, for the ring that serves it again (its watches are registered when it is attached).</summary>
    public CarriedConnection? CarriedOf(uint domainId)
    {
        lock (_gate)
        {
            return _domains.GetValueOrDefault(domainId)?.Carried;
        }
    }

    /// <summary>Ends the live-update session of a connection that is gone (as C frees it with the connection).</summary>
    private void ForgetLiveUpdate(ServerConnection connection)
    {
        if (_liveUpdate?.Connection == connection)
        {
            _liveUpdate = null;
        }
    }

    /// <summary>A NODE of the committed tree, its parent already loaded (the stream's rule); a transaction's node is left out.</summary>
    private void LoadNode(ReadOnlySpan<byte> body)
    {
        var (owner, path, value, permissions) = MigrationStream.ParseNode(body);
        if (owner != 0 || path.StartsWith('@'))
        {
            // A pending transaction's copy (the transaction is aborted), or the permissions C xenstored keeps for
            // @introduceDomain and @releaseDomain, which this server does not keep.
            return;
        }

        if (permissions.Length == 0 || !path.StartsWith('/') || (path.Length > 1 && path.EndsWith('/')))
        {
            throw new InvalidDataException($"The live update's node '{path}' has no owner or is not an absolute path.");
        }

        StoreNode? existing = _tree.Get(path);
        var node = new StoreNode(value, permissions, existing is null ? null : [.. existing.Children]) { Generation = _tree.NextGeneration() };
        if (path != "/" && existing is null)
        {
            int slash = path.LastIndexOf('/');
            string parentPath = slash == 0 ? "/" : path[..slash];
            StoreNode parent = _tree.Get(parentPath) ?? throw new InvalidDataException($"The live update's node {path} comes before its parent.");
            _tree.RestoreChildren(parentPath, parent.Generation, [(path[(slash + 1)..], true)]);
        }

        _tree.Restore(path, node);
    }

    private static void AddLoadedWatch(Dictionary<uint, (ServerConnection? Socket, DomainRecord? Ring)> byId, uint owner, string path, string token, int? depth)
    {
        if (!byId.TryGetValue(owner, out var to))
        {
            return; // a watch of a connection the stream does not carry
        }

        ServerConnection? socket = to.Socket;
        string abs = path;
        if (path[0] != '/' && path[0] != '@')
        {
            abs = XsPath.DomainPath(socket?.DomainId ?? to.Ring!.Id) + "/" + path;
        }

        var watch = new StoreWatch(path, abs, token, depth);
        if (socket is not null)
        {
            socket.State.Watches.Add(watch);
        }
        else
        {
            to.Ring!.Carried!.Watches.Add(watch);
        }
    }

    /// <summary>Every quota of <paramref name="quotas"/> by its name, for the stream.</summary>
    private static List<(string Name, int Value)> QuotaValues(XenStoreQuotas quotas) =>
        [.. XenStoreQuotas.Names.Select(n => (n, quotas.Get(n)!.Value))];

    /// <summary>Quotas by name over <paramref name="baseline"/>; names this server does not know (C's memory) are left out.</summary>
    private static XenStoreQuotas WithQuotas(XenStoreQuotas baseline, List<(string Name, uint Value)> values)
    {
        XenStoreQuotas q = baseline;
        foreach (var (name, value) in values)
        {
            q = q.With(name, (int)Math.Min(value, int.MaxValue)) ?? q;
        }

        return q;
    }

    /// <summary>
    /// Ends the session (<c>-a</c>, a refusal, a failed hand-over), answering a started one's request with
    /// <paramref name="why"/>; false when there is none.
    /// </summary>
    private bool EndLiveUpdate(string why)
    {
        if (_liveUpdate is not { } session)
        {
            return false;
        }

        if (session.StartRequest is { } request && !session.Connection.IsClosed)
        {
            session.Connection.Enqueue(XsMessageWriter.Reply(XsMessageType.Control, request.RequestId, request.TransactionId, XsText.Latin1.GetBytes(why + "\0")));
        }

        _liveUpdate = null;
        return true;
    }

    private static TaskCompletionSource NewThaw(bool completed)
    {
        var tcs = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            tcs.SetResult();
        }

        return tcs;
    }

    /// <summary>One live update: who asked, the new binary and command line, and once started its terms.</summary>
    private sealed class LiveUpdateSession(ServerConnection connection, string binary)
    {
        public ServerConnection Connection { get; } = connection;

        public string Binary { get; } = binary;

        public string? CommandLine { get; set; }

        public XsHeader? StartRequest { get; private set; }

        public bool Force { get; private set; }

        public int TimeoutSeconds { get; private set; }

        public long StartedAt { get; private set; }

        public void Start(XsHeader request, bool force, int timeoutSeconds)
        {
            StartRequest = request;
            Force = force;
            TimeoutSeconds = timeoutSeconds;
            StartedAt = Environment.TickCount64;
        }
    }
}
