using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>What a connection may do with a node: C xenstored's permission bits.</summary>
[Flags]
internal enum StoreAccess
{
    None = 0,
    Read = 1,
    Write = 2,

    /// <summary>SET_PERMS: granted only to the owner (and dom0, and a domain's target holder).</summary>
    Owner = 4,
    All = Read | Write | Owner,
}

/// <summary>
/// The permission rules of xenstore: who owns a node, what its permission list grants, and the look-up that hides
/// what a domain may not see. The engine asks these questions; nothing here changes state.
/// </summary>
internal static class StorePermissions
{
    /// <summary>
    /// C xenstored's <c>perm_for_conn</c>: a privileged connection, the owner (the first entry) and the domain holding
    /// SET_TARGET over the owner get everything; otherwise the first entry naming the domain (or its target) decides,
    /// and the owner's entry is the default for everyone else.
    /// </summary>
    public static StoreAccess For(ServerConnection conn, XsPermission[] perms)
    {
        uint owner = perms[0].DomainId;
        uint? target = conn.State.Domain?.Target;
        if (conn.IsPrivileged || owner == conn.DomainId || owner == target)
        {
            return StoreAccess.All;
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

    /// <summary>Whether <paramref name="conn"/> has every access in <paramref name="need"/> to a node with <paramref name="perms"/>.</summary>
    public static bool Allows(ServerConnection conn, XsPermission[] perms, StoreAccess need) => (For(conn, perms) & need) == need;

    /// <summary>
    /// Looks a node up with an access check. A missing node answers ENOENT when its nearest existing ancestor grants
    /// the read/write part of the access, else EACCES (so a domain learns nothing of trees it may not see).
    /// </summary>
    public static XsError? GetNode(ServerConnection conn, NodeView view, string abs, StoreAccess need, out StoreNode? node)
    {
        node = view.Get(abs);
        if (node is not null)
        {
            if (!Allows(conn, node.Permissions, need))
            {
                node = null;
                return XsError.EACCES;
            }

            return null;
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
                return Allows(conn, ancestor.Permissions, need & (StoreAccess.Read | StoreAccess.Write)) ? XsError.ENOENT : XsError.EACCES;
            }

            p = XsPath.Parent(p);
        }

        return XsError.ENOENT;
    }

    private static StoreAccess Bits(XsAccess access) => access switch
    {
        XsAccess.Read => StoreAccess.Read,
        XsAccess.Write => StoreAccess.Write,
        XsAccess.Both => StoreAccess.Read | StoreAccess.Write,
        _ => StoreAccess.None,
    };
}
