using System.Globalization;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>Node requests (READ, WRITE, MKDIR, RM, DIRECTORY, DIRECTORY_PART, GET_PERMS, SET_PERMS) and node creation under the node-size, node-count and memory quotas.</summary>
internal sealed partial class StoreEngine
{
    private XsError? DoRead(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = PathArg(r.Connection, payload, out string abs);
        if (e != null)
        {
            return e;
        }

        e = StorePermissions.GetNode(r.Connection, r.View(_tree), abs, StoreAccess.Read, out StoreNode? node);
        if (e != null)
        {
            return e;
        }

        Reply(in r, node!.Value);
        return null;
    }

    private XsError? DoWrite(in Request r, ReadOnlySpan<byte> payload)
    {
        int nul = payload.IndexOf((byte)0);
        if (nul < 0)
        {
            return XsError.EINVAL;
        }

        XsError? e = Canonical(r.Connection, XsText.Latin1.GetString(payload[..nul]), false, out string abs);
        if (e != null)
        {
            return e;
        }

        ReadOnlySpan<byte> value = payload[(nul + 1)..];
        NodeView view = r.View(_tree);
        e = StorePermissions.GetNode(r.Connection, view, abs, StoreAccess.Write, out StoreNode? node);
        if (node is not null)
        {
            if (QuotaOf(r.Connection).NodeTooLarge(node.Permissions.Length, value.Length, node.ChildrenByteCount))
            {
                return XsError.ENOSPC;
            }

            int grows = value.Length - node.Value.Length;
            if (MemoryOver(node.Owner, grows))
            {
                return XsError.EIO; // C xenstored's answer: its write_node fails with EIO
            }

            ushort owner = node.Owner;
            node.Value = value.ToArray();
            view.Changed(abs, node, owner);
        }
        else if (e == XsError.ENOENT)
        {
            e = Create(r.Connection, view, abs, value);
            if (e != null)
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
        return null;
    }

    private XsError? DoMkdir(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = PathArg(r.Connection, payload, out string abs);
        if (e != null)
        {
            return e;
        }

        NodeView view = r.View(_tree);
        e = StorePermissions.GetNode(r.Connection, view, abs, StoreAccess.Write, out StoreNode? node);
        if (node is null)
        {
            if (e != XsError.ENOENT)
            {
                return e;
            }

            e = Create(r.Connection, view, abs, default);
            if (e != null)
            {
                return e;
            }

            Fire(in r, new PendingEvent(abs, false, null, null));
        }

        Reply(in r, OkPayload);
        return null;
    }

    private XsError? DoRm(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = PathArg(r.Connection, payload, out string abs);
        if (e != null)
        {
            return e;
        }

        NodeView view = r.View(_tree);
        e = StorePermissions.GetNode(r.Connection, view, abs, StoreAccess.Write, out StoreNode? node);
        if (node is null)
        {
            if (e == XsError.ENOENT && view.Get(XsPath.Parent(abs)!) is not null)
            {
                Reply(in r, OkPayload);
                return null;
            }

            return e;
        }

        if (abs == "/")
        {
            return XsError.EINVAL;
        }

        Fire(in r, Remove(view, abs, node));
        Reply(in r, OkPayload);
        return null;
    }

    /// <summary>Removes <paramref name="node"/> (not the root) and everything below it; returns the change to fire.</summary>
    private static PendingEvent Remove(NodeView view, string abs, StoreNode node)
    {
        var removed = new Dictionary<string, XsPermission[]>(StringComparer.Ordinal);
        RemoveSubtree(view, abs, node, removed);
        string parentPath = XsPath.Parent(abs)!;
        StoreNode parent = view.Get(parentPath)!;
        view.ChildChanged(parentPath, parent, abs[(abs.LastIndexOf('/') + 1)..], added: false);
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

    private XsError? DoDirectory(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = PathArg(r.Connection, payload, out string abs);
        StoreNode? node = null;
        if (e != null || (e = StorePermissions.GetNode(r.Connection, r.View(_tree), abs, StoreAccess.Read, out node)) != null)
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
        return null;
    }

    private XsError? DoDirectoryPart(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, 3);
        if (args.Length != 2)
        {
            return XsError.EINVAL;
        }

        XsError? e = Canonical(r.Connection, args[0], false, out string abs);
        StoreNode? node = null;
        if (e != null || (e = StorePermissions.GetNode(r.Connection, r.View(_tree), abs, StoreAccess.Read, out node)) != null)
        {
            return e;
        }

        // C reads the byte offset with atoi into an unsigned: "abc" is 0, "6x" 6, "-1" past any list.
        uint offset = unchecked((uint)Atoi(args[1]));

        byte[] children = new byte[node!.ChildrenByteCount];
        int at = 0;
        foreach (string c in node.Children)
        {
            at += XsText.Latin1.GetBytes(c, children.AsSpan(at));
            children[at++] = 0;
        }

        byte[] gen = XsText.Latin1.GetBytes(node.Generation.ToString(CultureInfo.InvariantCulture) + "\0");
        ReadOnlySpan<byte> rest = offset >= children.Length ? default : children.AsSpan((int)offset);
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
        return null;
    }

    private XsError? DoGetPerms(in Request r, ReadOnlySpan<byte> payload)
    {
        XsError? e = PathArg(r.Connection, payload, out string abs);
        StoreNode? node = null;
        if (e != null || (e = StorePermissions.GetNode(r.Connection, r.View(_tree), abs, StoreAccess.Read, out node)) != null)
        {
            return e;
        }

        Reply(in r, PermissionBytes(node!.Permissions));
        return null;
    }

    private XsError? DoSetPerms(in Request r, ReadOnlySpan<byte> payload)
    {
        string[] args = Strings(payload, int.MaxValue);
        if (args.Length < 2)
        {
            return XsError.EINVAL;
        }

        // C xenstored's order: the count against the quota, the entries, then the owner must be a domain that exists.
        StoreQuota quota = QuotaOf(r.Connection);
        if (quota.TooManyPermissions(args.Length - 1))
        {
            return XsError.ENOSPC;
        }

        var perms = new XsPermission[args.Length - 1];
        uint owner = 0;
        for (int i = 0; i < perms.Length; i++)
        {
            if (!TryPermission(args[i + 1], out uint domid, out XsAccess access) || (domid > ushort.MaxValue && i > 0))
            {
                return XsError.EINVAL; // a domid above 16 bits is kept by C (and ignored); this server's permissions hold 16 bits
            }

            owner = i == 0 ? domid : owner;
            perms[i] = new XsPermission(access, (ushort)domid);
        }

        if (!DomainMayExist(owner))
        {
            return XsError.ENOENT;
        }

        XsError? e = Canonical(r.Connection, args[0], false, out string abs);
        NodeView view = r.View(_tree);
        StoreNode? node = null;
        if (e != null || (e = StorePermissions.GetNode(r.Connection, view, abs, StoreAccess.Write | StoreAccess.Owner, out node)) != null)
        {
            return e;
        }

        if (!r.Connection.IsPrivileged && perms[0].DomainId != node!.Owner)
        {
            return XsError.EPERM;
        }

        if (quota.NodeTooLarge(perms.Length, node!.Value.Length, node.ChildrenByteCount))
        {
            return XsError.ENOSPC;
        }

        // The new owner is charged the whole node; the same owner only the permissions' difference.
        int size = StoreQuota.RecordSize(perms.Length, node.Value.Length, node.ChildrenByteCount) + abs.Length;
        if (MemoryOver(perms[0].DomainId, perms[0].DomainId == node.Owner ? size - StoreQuota.NodeMemory(abs, node) : size))
        {
            return XsError.EIO; // C xenstored's answer: its write_node fails with EIO
        }

        XsPermission[] old = node!.Permissions;
        node.Permissions = perms;
        view.Changed(abs, node, old[0].DomainId);
        Fire(in r, new PendingEvent(abs, false, old, null));
        Reply(in r, OkPayload);
        return null;
    }

    /// <summary>Creates <paramref name="abs"/> and its missing ancestors; children inherit their parent's permissions, and an unprivileged creator owns what it creates.</summary>
    private XsError? Create(ServerConnection conn, NodeView view, string abs, ReadOnlySpan<byte> value)
    {
        bool unprivileged = !conn.IsPrivileged;
        StoreQuota quota = QuotaOf(conn);
        var missing = new List<string>(4);
        string p = abs;
        StoreNode? ancestor;
        while ((ancestor = view.Get(p)) is null)
        {
            missing.Add(p);
            p = XsPath.Parent(p)!;
        }

        if (!StorePermissions.Allows(conn, ancestor.Permissions, StoreAccess.Write))
        {
            return XsError.EACCES;
        }

        if (quota.TooManyNodes(view.OwnedBy(conn.DomainId), missing.Count))
        {
            return XsError.ENOSPC;
        }

        // The new node inherits the ancestor's permissions; the ancestor gains one child name and its NUL.
        string first = missing[^1];
        if (quota.NodeTooLarge(ancestor.Permissions.Length, value.Length, 0) ||
            quota.NodeTooLarge(ancestor.Permissions.Length, ancestor.Value.Length, ancestor.ChildrenByteCount + (first.Length - first.LastIndexOf('/'))))
        {
            return XsError.ENOSPC;
        }

        // The new nodes are charged to their owner (the creator, or for dom0 the ancestor's owner, whose permissions
        // they inherit), the ancestor's longer child list to the ancestor's owner.
        uint newOwner = unprivileged ? conn.DomainId : ancestor.Owner;
        long newBytes = 0;
        for (int i = 0; i < missing.Count; i++)
        {
            int childBytes = i == 0 ? 0 : missing[i - 1].Length - missing[i].Length; // the child's name and its NUL
            newBytes += StoreQuota.RecordSize(ancestor.Permissions.Length, i == 0 ? value.Length : 0, childBytes) + missing[i].Length;
        }

        int ancestorGrows = first.Length - first.LastIndexOf('/');
        if (newOwner == ancestor.Owner
                ? MemoryOver(newOwner, newBytes + ancestorGrows)
                : MemoryOver(newOwner, newBytes) || MemoryOver(ancestor.Owner, ancestorGrows))
        {
            return XsError.EIO; // C xenstored's answer: its write_node fails with EIO
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
            view.ChildChanged(parentPath, parent, path[(path.LastIndexOf('/') + 1)..], added: true);
            view.Add(path, node);
            parent = node;
            parentPath = path;
        }

        return null;
    }
}
