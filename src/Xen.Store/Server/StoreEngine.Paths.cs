using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>Path resolution: a request's path made absolute and checked as C xenstored checks it.</summary>
internal sealed partial class StoreEngine
{
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

        return QuotaOf(conn).PathTooLong(abs.Length - HomePrefixLength(abs)) ? XsError.EINVAL : null;
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
