using System.Globalization;
using System.Text;
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
/// lock is held for microseconds. Nothing under the lock blocks or awaits: output goes to per-connection queues that
/// the transports drain outside it, and closing a connection only signals its loop (see
/// <see cref="ServerConnection"/>).
/// </para>
/// <para>
/// Behaviour follows C xenstored 4.17 as observed on the wire (see the interop tests): error choice and order, the
/// permission rules (owner and dom0 get everything; an unprivileged domain owns what it creates; a missing node
/// answers EACCES when its nearest existing ancestor denies the access), watch events before the reply that caused
/// them, and EAGAIN at commit when any node the transaction touched has a new generation.
/// </para>
/// </remarks>
internal sealed partial class StoreEngine
{
    private const XsError Ok = XsError.Unknown;
    private const int PermRead = 1;
    private const int PermWrite = 2;
    private const int PermOwner = 4;
    private const int NodeRecordHeaderSize = 24;
    private const int PermissionRecordSize = 8;

    private static readonly byte[] OkPayload = "OK\0"u8.ToArray();

    private readonly object _gate = new();
    private readonly StoreTree _tree = new();
    private readonly List<ServerConnection> _connections = [];
    private readonly Dictionary<uint, DomainRecord> _domains = [];
    private readonly XenStoreServerOptions _options;
    private XenStoreQuotas _quotas;

    public StoreEngine(XenStoreServerOptions options)
    {
        _options = options;
        _quotas = options.Quotas;
        _domains[0] = new DomainRecord(0) { Introduced = true };
    }

    /// <summary>Creates the ring connection for an INTRODUCE (set by the server; null: only record the domain).</summary>
    public Func<DomainRecord, ServerConnection?>? RingFactory { get; set; }

    /// <summary>The server features advertised by GET_FEATURE.</summary>
    public uint ServerFeatures { get; set; }

    /// <summary>The whole tree in <see cref="StoreSnapshot"/>'s form, taken between two requests.</summary>
    public byte[] SaveTree()
    {
        lock (_gate)
        {
            return StoreSnapshot.Save(_tree);
        }
    }

    /// <summary>Replaces the tree with a saved one (checked before the lock is taken, so a bad file changes nothing).</summary>
    /// <exception cref="InvalidDataException">The bytes are not a saved tree.</exception>
    public void LoadTree(byte[] bytes)
    {
        var nodes = StoreSnapshot.Parse(bytes);
        lock (_gate)
        {
            _tree.Replace(nodes);
        }
    }

    /// <summary>Registers a connection.</summary>
    public void Attach(ServerConnection connection)
    {
        lock (_gate)
        {
            connection.Domain = Domain(connection.DomainId);
            _connections.Add(connection);
        }
    }

    /// <summary>Forgets a closed connection with its watches and transactions.</summary>
    public void Detach(ServerConnection connection)
    {
        lock (_gate)
        {
            _connections.Remove(connection);
            connection.Watches.Clear();
            connection.Transactions.Clear();
            if (connection.Domain is { } d && ReferenceEquals(d.Ring, connection))
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
            connection.Watches.Clear();
            connection.Transactions.Clear();
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

            var request = new Request(conn, header);
            XsError error = Dispatch(ref request, payload);
            if (error != Ok)
            {
                conn.Enqueue(XsMessageWriter.TextMessage(XsMessageType.Error, header.RequestId, header.TransactionId, XsErrors.Name(error)));
            }
        }
    }

    private XsError Dispatch(ref Request r, ReadOnlySpan<byte> payload)
    {
        XsMessageType type = r.Header.Type;
        if (r.Header.TransactionId != 0 && type != XsMessageType.TransactionStart)
        {
            if (!r.Connection.Transactions.TryGetValue(r.Header.TransactionId, out StoreTransaction? tx))
            {
                return XsError.ENOENT;
            }

            r.Transaction = tx;
            if (!r.Connection.IsPrivileged && tx.TouchedCount > QuotasOf(r.Connection).TransactionNodes)
            {
                return XsError.ENOSPC;
            }
        }

        return type switch
        {
            XsMessageType.Read => DoRead(in r, payload),
            XsMessageType.Write => DoWrite(in r, payload),
            XsMessageType.Mkdir => DoMkdir(in r, payload),
            XsMessageType.Rm => DoRm(in r, payload),
            XsMessageType.Directory => DoDirectory(in r, payload),
            XsMessageType.DirectoryPart => DoDirectoryPart(in r, payload),
            XsMessageType.GetPerms => DoGetPerms(in r, payload),
            XsMessageType.SetPerms => DoSetPerms(in r, payload),
            XsMessageType.Watch => DoWatch(in r, payload),
            XsMessageType.Unwatch => DoUnwatch(in r, payload),
            XsMessageType.TransactionStart => DoTransactionStart(in r),
            XsMessageType.TransactionEnd => DoTransactionEnd(in r, payload),
            XsMessageType.ResetWatches => DoResetWatches(in r),
            XsMessageType.GetDomainPath => DoGetDomainPath(in r, payload),
            XsMessageType.Introduce => DoIntroduce(in r, payload),
            XsMessageType.Release => DoRelease(in r, payload),
            XsMessageType.Resume => DoResume(in r, payload),
            XsMessageType.IsDomainIntroduced => DoIsDomainIntroduced(in r, payload),
            XsMessageType.SetTarget => DoSetTarget(in r, payload),
            XsMessageType.Control => DoControl(in r, payload),
            XsMessageType.GetFeature => DoGetFeature(in r, payload),
            XsMessageType.SetFeature => DoSetFeature(in r, payload),
            XsMessageType.GetQuota => DoGetQuota(in r, payload),
            XsMessageType.SetQuota => DoSetQuota(in r, payload),
            _ => XsError.ENOSYS,
        };
    }

    // ---- node operations ---------------------------------------------------------------------------------------

    private XsError DoRead(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError e = PathArg(r.Connection, payload, out string abs);
        if (e != Ok)
        {
            return e;
        }

        e = GetNode(r.Connection, r.View(_tree), abs, PermRead, out StoreNode? node);
        if (e != Ok)
        {
            return e;
        }

        Reply(in r, node!.Value);
        return Ok;
    }

    private XsError DoWrite(in Request r, ReadOnlySpan<byte> payload)
    {
        int nul = payload.IndexOf((byte)0);
        if (nul < 0)
        {
            return XsError.EINVAL;
        }

        XsError e = Canonical(r.Connection, XsText.Latin1.GetString(payload[..nul]), false, out string abs);
        if (e != Ok)
        {
            return e;
        }

        ReadOnlySpan<byte> value = payload[(nul + 1)..];
        NodeView view = r.View(_tree);
        bool unprivileged = !r.Connection.IsPrivileged;
        e = GetNode(r.Connection, view, abs, PermWrite, out StoreNode? node);
        if (node is not null)
        {
            if (unprivileged && ExceedsNodeSize(QuotasOf(r.Connection), node.Permissions.Length, value.Length, node.ChildrenByteCount))
            {
                return XsError.ENOSPC;
            }

            ushort owner = node.Owner;
            node.Value = value.ToArray();
            view.Changed(abs, node, owner);
        }
        else if (e == XsError.ENOENT)
        {
            e = Create(r.Connection, view, abs, value);
            if (e != Ok)
            {
                return e;
            }
        }
        else
        {
            return e;
        }

        Fire(in r, new PendingEvent(abs, false, null, null));
        Reply(in r, OkPayload);
        return Ok;
    }

    private XsError DoMkdir(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError e = PathArg(r.Connection, payload, out string abs);
        if (e != Ok)
        {
            return e;
        }

        NodeView view = r.View(_tree);
        e = GetNode(r.Connection, view, abs, PermWrite, out StoreNode? node);
        if (node is null)
        {
            if (e != XsError.ENOENT)
            {
                return e;
            }

            e = Create(r.Connection, view, abs, default);
            if (e != Ok)
            {
                return e;
            }

            Fire(in r, new PendingEvent(abs, false, null, null));
        }

        Reply(in r, OkPayload);
        return Ok;
    }

    private XsError DoRm(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError e = PathArg(r.Connection, payload, out string abs);
        if (e != Ok)
        {
            return e;
        }

        NodeView view = r.View(_tree);
        e = GetNode(r.Connection, view, abs, PermWrite, out StoreNode? node);
        if (node is null)
        {
            if (e == XsError.ENOENT && view.Get(XsPath.Parent(abs)!) is not null)
            {
                Reply(in r, OkPayload);
                return Ok;
            }

            return e;
        }

        if (abs == "/")
        {
            return XsError.EINVAL;
        }

        Fire(in r, Remove(view, abs, node));
        Reply(in r, OkPayload);
        return Ok;
    }

    /// <summary>Removes <paramref name="node"/> (not the root) and everything below it; returns the change to fire.</summary>
    private static PendingEvent Remove(NodeView view, string abs, StoreNode node)
    {
        var removed = new Dictionary<string, XsPermission[]>(StringComparer.Ordinal);
        RemoveSubtree(view, abs, node, removed);
        string parentPath = XsPath.Parent(abs)!;
        StoreNode parent = view.Get(parentPath)!;
        ushort owner = parent.Owner;
        parent.RemoveChild(abs[(abs.LastIndexOf('/') + 1)..]);
        view.Changed(parentPath, parent, owner);
        return new PendingEvent(abs, true, null, removed);
    }

    private static void RemoveSubtree(NodeView view, string path, StoreNode node, Dictionary<string, XsPermission[]> removed)
    {
        foreach (string child in node.Children)
        {
            string childPath = Child(path, child);
            if (view.Get(childPath) is { } c)
            {
                RemoveSubtree(view, childPath, c, removed);
            }
        }

        removed[path] = node.Permissions;
        view.Remove(path, node);
    }

    private XsError DoDirectory(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError e = PathArg(r.Connection, payload, out string abs);
        StoreNode? node = null;
        if (e != Ok || (e = GetNode(r.Connection, r.View(_tree), abs, PermRead, out node)) != Ok)
        {
            return e;
        }

        if (node!.ChildrenByteCount > XsHeader.PayloadMax)
        {
            return XsError.E2BIG;
        }

        byte[] reply = new byte[node.ChildrenByteCount];
        int at = 0;
        foreach (string c in node.Children)
        {
            at += XsText.Latin1.GetBytes(c, reply.AsSpan(at));
            reply[at++] = 0;
        }

        Reply(in r, reply);
        return Ok;
    }

    private XsError DoDirectoryPart(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 3);
        if (args.Length != 2 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out int offset))
        {
            return XsError.EINVAL;
        }

        XsError e = Canonical(r.Connection, args[0], false, out string abs);
        StoreNode? node = null;
        if (e != Ok || (e = GetNode(r.Connection, r.View(_tree), abs, PermRead, out node)) != Ok)
        {
            return e;
        }

        byte[] children = new byte[node!.ChildrenByteCount];
        int at = 0;
        foreach (string c in node.Children)
        {
            at += XsText.Latin1.GetBytes(c, children.AsSpan(at));
            children[at++] = 0;
        }

        byte[] gen = XsText.Latin1.GetBytes(node.Generation.ToString(CultureInfo.InvariantCulture) + "\0");
        ReadOnlySpan<byte> rest = offset >= children.Length ? default : children.AsSpan(offset);
        int room = XsHeader.PayloadMax - gen.Length - 1;
        bool last = rest.Length <= room;
        if (!last)
        {
            int cut = rest[..room].LastIndexOf((byte)0) + 1;
            rest = rest[..cut];
        }

        byte[] reply = new byte[gen.Length + rest.Length + (last ? 1 : 0)];
        gen.CopyTo(reply, 0);
        rest.CopyTo(reply.AsSpan(gen.Length));
        Reply(in r, reply);
        return Ok;
    }

    private XsError DoGetPerms(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError e = PathArg(r.Connection, payload, out string abs);
        StoreNode? node = null;
        if (e != Ok || (e = GetNode(r.Connection, r.View(_tree), abs, PermRead, out node)) != Ok)
        {
            return e;
        }

        Reply(in r, PermissionBytes(node!.Permissions));
        return Ok;
    }

    private XsError DoSetPerms(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, int.MaxValue);
        if (args.Length < 2)
        {
            return XsError.EINVAL;
        }

        var perms = new XsPermission[args.Length - 1];
        for (int i = 0; i < perms.Length; i++)
        {
            if (!XsPermission.TryParse(args[i + 1], out perms[i]))
            {
                return XsError.EINVAL;
            }
        }

        bool unprivileged = !r.Connection.IsPrivileged;
        if (unprivileged && perms.Length > QuotasOf(r.Connection).Permissions)
        {
            return XsError.ENOSPC;
        }

        XsError e = Canonical(r.Connection, args[0], false, out string abs);
        NodeView view = r.View(_tree);
        StoreNode? node = null;
        if (e != Ok || (e = GetNode(r.Connection, view, abs, PermWrite | PermOwner, out node)) != Ok)
        {
            return e;
        }

        if (unprivileged && perms[0].DomainId != node!.Owner)
        {
            return XsError.EPERM;
        }

        if (unprivileged && ExceedsNodeSize(QuotasOf(r.Connection), perms.Length, node!.Value.Length, node.ChildrenByteCount))
        {
            return XsError.ENOSPC;
        }

        XsPermission[] old = node!.Permissions;
        node.Permissions = perms;
        view.Changed(abs, node, old[0].DomainId);
        Fire(in r, new PendingEvent(abs, false, old, null));
        Reply(in r, OkPayload);
        return Ok;
    }

    /// <summary>
    /// The node-size quota as C xenstored applies it: to the record it stores for a node, a 24-byte header (generation,
    /// permission count, value and children lengths), 8 bytes per permission, the value and the NUL-terminated child
    /// names; a record as large as the quota is already refused.
    /// </summary>
    private static bool ExceedsNodeSize(XenStoreQuotas quotas, int permissionCount, int valueByteCount, int childrenByteCount) =>
        NodeRecordHeaderSize + (PermissionRecordSize * (long)permissionCount) + valueByteCount + childrenByteCount >= quotas.NodeSize;

    /// <summary>Creates <paramref name="abs"/> and its missing ancestors; children inherit their parent's permissions, and an unprivileged creator owns what it creates.</summary>
    private XsError Create(ServerConnection conn, NodeView view, string abs, ReadOnlySpan<byte> value)
    {
        bool unprivileged = !conn.IsPrivileged;
        XenStoreQuotas quotas = QuotasOf(conn);
        var missing = new List<string>(4);
        string p = abs;
        StoreNode? ancestor;
        while ((ancestor = view.Get(p)) is null)
        {
            missing.Add(p);
            p = XsPath.Parent(p)!;
        }

        if ((PermFor(conn, ancestor.Permissions) & PermWrite) == 0)
        {
            return XsError.EACCES;
        }

        if (unprivileged)
        {
            if (view.OwnedBy(conn.DomainId) + missing.Count > quotas.Nodes)
            {
                return XsError.ENOSPC;
            }

            // The new node inherits the ancestor's permissions; the ancestor gains one child name and its NUL.
            string first = missing[^1];
            if (ExceedsNodeSize(quotas, ancestor.Permissions.Length, value.Length, 0) ||
                ExceedsNodeSize(quotas, ancestor.Permissions.Length, ancestor.Value.Length, ancestor.ChildrenByteCount + (first.Length - first.LastIndexOf('/'))))
            {
                return XsError.ENOSPC;
            }
        }

        StoreNode parent = ancestor;
        string parentPath = p;
        for (int i = missing.Count - 1; i >= 0; i--)
        {
            string path = missing[i];
            XsPermission[] perms = parent.Permissions;
            if (unprivileged && perms[0].DomainId != conn.DomainId)
            {
                perms = (XsPermission[])perms.Clone();
                perms[0] = perms[0] with { DomainId = (ushort)conn.DomainId };
            }

            var node = new StoreNode(i == 0 ? value.ToArray() : [], perms);
            ushort owner = parent.Owner;
            parent.AddChild(path[(path.LastIndexOf('/') + 1)..]);
            view.Changed(parentPath, parent, owner);
            view.Add(path, node);
            parent = node;
            parentPath = path;
        }

        return Ok;
    }

    // ---- transactions -------------------------------------------------------------------------------------------

    private XsError DoTransactionStart(in Request r)
    {
        ServerConnection conn = r.Connection;
        if (r.Header.TransactionId != 0)
        {
            return conn.Transactions.ContainsKey(r.Header.TransactionId) ? XsError.EBUSY : XsError.ENOENT;
        }

        if (!conn.IsPrivileged && conn.Transactions.Count > QuotasOf(conn).Transactions)
        {
            return XsError.ENOSPC;
        }

        uint id;
        do
        {
            id = conn.NextTransactionId = unchecked(conn.NextTransactionId + 1);
        }
        while (id == 0 || conn.Transactions.ContainsKey(id));

        conn.Transactions[id] = new StoreTransaction(_tree, id);
        ReplyText(in r, id.ToString(CultureInfo.InvariantCulture));
        return Ok;
    }

    private XsError DoTransactionEnd(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError e = OneArg(payload, out string arg);
        if (e != Ok || arg is not ("T" or "F"))
        {
            return XsError.EINVAL;
        }

        if (r.Transaction is not { } tx)
        {
            return XsError.ENOENT;
        }

        r.Connection.Transactions.Remove(tx.Id);
        if (arg == "T")
        {
            if (!tx.CanCommit())
            {
                return XsError.EAGAIN;
            }

            tx.Apply();
            foreach (PendingEvent pending in tx.Events)
            {
                FireNow(pending);
            }
        }

        Reply(in r, OkPayload);
        return Ok;
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

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

    private XenStoreQuotas QuotasOf(ServerConnection conn) => conn.Domain?.Quotas ?? _quotas;

    private DomainRecord Domain(uint domainId)
    {
        if (!_domains.TryGetValue(domainId, out DomainRecord? d))
        {
            d = new DomainRecord(domainId);
            _domains[domainId] = d;
        }

        return d;
    }

    /// <summary>C xenstored's <c>perm_for_conn</c>: what a connection may do with a node.</summary>
    private static int PermFor(ServerConnection conn, XsPermission[] perms)
    {
        uint owner = perms[0].DomainId;
        uint? target = conn.Domain?.Target;
        if (conn.IsPrivileged || owner == conn.DomainId || owner == target)
        {
            return PermRead | PermWrite | PermOwner;
        }

        for (int i = 1; i < perms.Length; i++)
        {
            if (perms[i].DomainId == conn.DomainId || perms[i].DomainId == target)
            {
                return Bits(perms[i].Access);
            }
        }

        return Bits(perms[0].Access);
    }

    private static int Bits(XsAccess access) => access switch
    {
        XsAccess.Read => PermRead,
        XsAccess.Write => PermWrite,
        XsAccess.Both => PermRead | PermWrite,
        _ => 0,
    };

    /// <summary>
    /// Looks a node up with an access check. A missing node answers ENOENT when its nearest existing ancestor grants
    /// the access, else EACCES (so a domain learns nothing of trees it may not see).
    /// </summary>
    private static XsError GetNode(ServerConnection conn, NodeView view, string abs, int need, out StoreNode? node)
    {
        node = view.Get(abs);
        if (node is not null)
        {
            if ((PermFor(conn, node.Permissions) & need) != need)
            {
                node = null;
                return XsError.EACCES;
            }

            return Ok;
        }

        if (conn.IsPrivileged)
        {
            return XsError.ENOENT;
        }

        string? p = XsPath.Parent(abs);
        while (p is not null)
        {
            if (view.Get(p) is { } ancestor)
            {
                return (PermFor(conn, ancestor.Permissions) & need & (PermRead | PermWrite)) == (need & (PermRead | PermWrite))
                    ? XsError.ENOENT
                    : XsError.EACCES;
            }

            p = XsPath.Parent(p);
        }

        return XsError.ENOENT;
    }

    /// <summary>Resolves and validates a path as C xenstored does (EINVAL for anything malformed or too long).</summary>
    private XsError Canonical(ServerConnection conn, string path, bool allowSpecial, out string abs)
    {
        abs = path;
        if (path.Length == 0)
        {
            return XsError.EINVAL;
        }

        if (path[0] == '@')
        {
            return allowSpecial && path.Length > 1 && XsPath.IsValid("/" + path[1..], false, out _) ? Ok : XsError.EINVAL;
        }

        abs = path[0] == '/' ? path : string.Concat(XsPath.DomainPath(conn.DomainId), "/", path);
        if (!XsPath.IsValid(abs, false, out _))
        {
            return XsError.EINVAL;
        }

        return abs.Length - HomePrefixLength(abs) > QuotasOf(conn).PathLength ? XsError.EINVAL : Ok;
    }

    /// <summary>The length of a leading <c>/local/domain/&lt;domid&gt;/</c>, or 0.</summary>
    private static int HomePrefixLength(string abs)
    {
        const string Prefix = "/local/domain/";
        if (!abs.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return 0;
        }

        int i = Prefix.Length;
        while (i < abs.Length && i - Prefix.Length < 5 && char.IsAsciiDigit(abs[i]))
        {
            i++;
        }

        return i > Prefix.Length && i < abs.Length && abs[i] == '/' ? i + 1 : 0;
    }

    private static string Child(string parent, string name) => parent == "/" ? "/" + name : string.Concat(parent, "/", name);

    /// <summary>The single path argument of a request, resolved and validated.</summary>
    private XsError PathArg(ServerConnection conn, ReadOnlySpan<byte> payload, out string abs)
    {
        XsError e = OneArg(payload, out string path);
        if (e != Ok)
        {
            abs = path;
            return e;
        }

        return Canonical(conn, path, false, out abs);
    }

    /// <summary>C xenstored's <c>onearg</c>: the payload is exactly one NUL-terminated string.</summary>
    private static XsError OneArg(ReadOnlySpan<byte> payload, out string arg)
    {
        int nul = payload.IndexOf((byte)0);
        if (payload.IsEmpty || nul != payload.Length - 1)
        {
            arg = string.Empty;
            return XsError.EINVAL;
        }

        arg = XsText.Latin1.GetString(payload[..nul]);
        return Ok;
    }

    /// <summary>The NUL-terminated strings of a payload, at most <paramref name="max"/> (an unterminated tail is ignored, as C xenstored does).</summary>
    private static string[] Strings(ReadOnlySpan<byte> payload, int max)
    {
        var result = new List<string>(4);
        while (result.Count < max)
        {
            int nul = payload.IndexOf((byte)0);
            if (nul < 0)
            {
                break;
            }

            result.Add(XsText.Latin1.GetString(payload[..nul]));
            payload = payload[(nul + 1)..];
        }

        return [.. result];
    }

    private static byte[] PermissionBytes(XsPermission[] perms)
    {
        var sb = new StringBuilder();
        foreach (XsPermission p in perms)
        {
            sb.Append(p.ToString()).Append('\0');
        }

        return XsText.Latin1.GetBytes(sb.ToString());
    }

    private static void Reply(in Request r, ReadOnlySpan<byte> payload) =>
        Reply(r.Connection, r.Header, r.Header.Type, payload);

    private static void Reply(ServerConnection conn, XsHeader header, XsMessageType type, ReadOnlySpan<byte> payload) =>
        conn.Enqueue(XsMessageWriter.Message(type, header.RequestId, header.TransactionId, payload));

    /// <summary>Replies with <paramref name="text"/> and a NUL (a number, a path, CONTROL's output).</summary>
    private static void ReplyText(in Request r, string text) =>
        r.Connection.Enqueue(XsMessageWriter.TextMessage(r.Header.Type, r.Header.RequestId, r.Header.TransactionId, text));

    /// <summary>One request being handled.</summary>
    private struct Request(ServerConnection connection, XsHeader header)
    {
        public ServerConnection Connection { get; } = connection;

        public XsHeader Header { get; } = header;

        public StoreTransaction? Transaction { get; set; }

        public readonly NodeView View(StoreTree tree) => Transaction is { } tx ? tx : tree;
    }
}
