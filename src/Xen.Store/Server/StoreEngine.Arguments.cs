using System.Globalization;
using System.Text;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>Decoding a request's arguments: the one place payload bytes become strings (Latin1, see <see cref="XsText"/>).</summary>
internal sealed partial class StoreEngine
{
    /// <summary>The single path argument of a request, resolved and validated.</summary>
    private XsError? PathArg(ServerConnection conn, ReadOnlySpan<byte> payload, out string abs)
    {
        XsError? e = OneArg(payload, out string path);
        if (e != null)
        {
            abs = path;
            return e;
        }

        return Canonical(conn, path, false, out abs);
    }

    /// <summary>C xenstored's <c>onearg</c>: the payload is exactly one NUL-terminated string.</summary>
    private static XsError? OneArg(ReadOnlySpan<byte> payload, out string arg)
    {
        int nul = payload.IndexOf((byte)0);
        if (payload.IsEmpty || nul != payload.Length - 1)
        {
            arg = string.Empty;
            return XsError.EINVAL;
        }

        arg = XsText.Latin1.GetString(payload[..nul]);
        return null;
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

    /// <summary>A domid argument: a decimal number a domain can have (C xenstored reads it as 16 bits).</summary>
    private static bool TryDomainId(string text, out uint domid) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out domid) && domid <= ushort.MaxValue;

    private static byte[] PermissionBytes(XsPermission[] perms)
    {
        var sb = new StringBuilder();
        foreach (XsPermission p in perms)
        {
            sb.Append(p.ToString()).Append('\0');
        }

        return XsText.Latin1.GetBytes(sb.ToString());
    }
}
