using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>Permissions (C xenstored's <c>perm_for_conn</c> and the look-up that hides what a domain may not see) and path resolution.</summary>
internal sealed partial class StoreEngine
{
    /// <summary>C xenstored's <c>perm_for_conn</c>: what a connection may do with a node.</summary>
    private static int PermFor(ServerConnection conn, XsPermission[] perms)
    {
        uint owner = perms[0].DomainId;
        uint? target = conn.State.Domain?.Target;
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
    private static XsError? GetNode(ServerConnection conn, NodeView view, string abs, int need, out StoreNode? node)
    {
        node = view.Get(abs);
        if (node is not null)
        {
            if ((PermFor(conn, node.Permissions) & need) != need)
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
                return (PermFor(conn, ancestor.Permissions) & need & (PermRead | PermWrite)) == (need & (PermRead | PermWrite))
                    ? XsError.ENOENT
                    : XsError.EACCES;
            }

            p = XsPath.Parent(p);
        }

        return XsError.ENOENT;
    }

    /// <summary>Resolves and validates a path as C xenstored does (EINVAL for anything malformed or too long).</summary>
    private XsError? Canonical(ServerConnection conn, string path, bool allowSpecial, out string abs)
    {
        abs = path;
        if (path.Length == 0)
        {
            return XsError.EINVAL;
        }

        if (path[0] == '@')
        {
            return allowSpecial && path.Length > 1 && XsPath.IsValid("/" + path[1..], false, out _) ? null : XsError.EINVAL;
        }

        abs = path[0] == '/' ? path : string.Concat(XsPath.DomainPath(conn.DomainId), "/", path);
        if (!XsPath.IsValid(abs, false, out _))
        {
            return XsError.EINVAL;
        }

        return abs.Length - HomePrefixLength(abs) > QuotasOf(conn).PathLength ? XsError.EINVAL : null;
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
}
