using System.Globalization;

namespace Xen.Store.Wire;

/// <summary>
/// One entry of a node's permission list: an access letter and a domain id, on the wire <c>r5</c>, <c>b0</c>,
/// <c>n3</c>. In a list, the first entry names the owner and the access of every domain not listed.
/// </summary>
/// <param name="Access">The access granted.</param>
/// <param name="DomainId">The domain (0..65535; <see cref="DomidAny"/> for any domain where supported).</param>
#pragma warning disable CA1711 // the protocol calls it a permission
public readonly record struct XsPermission(XsAccess Access, ushort DomainId)
{
    /// <summary><c>DOMID_ANY</c> (0x7FF5), valid in permissions where the server advertises DOMID_ANY.</summary>
    public const ushort DomidAny = 0x7FF5;

    /// <summary>Whether the entry grants read access.</summary>
    public bool CanRead => Access is XsAccess.Read or XsAccess.Both;

    /// <summary>Whether the entry grants write access.</summary>
    public bool CanWrite => Access is XsAccess.Write or XsAccess.Both;

    /// <summary>The wire form, e.g. <c>r5</c>.</summary>
    public override string ToString() => string.Create(CultureInfo.InvariantCulture, $"{Letter(Access)}{DomainId}");

    /// <summary>Parses the wire form strictly: one of <c>n r w b</c>, then 1 to 5 decimal digits naming a domain id up to 65535.</summary>
    /// <exception cref="FormatException">The text is not a permission.</exception>
    public static XsPermission Parse(ReadOnlySpan<char> text) =>
        TryParse(text, out XsPermission p) ? p : throw new FormatException($"'{text}' is not a xenstore permission (n|r|w|b followed by a domain id).");

    /// <summary>Parses the wire form strictly.</summary>
    /// <returns>Whether the text is a permission.</returns>
    public static bool TryParse(ReadOnlySpan<char> text, out XsPermission permission)
    {
        permission = default;
        if (text.Length < 2 || text.Length > 6)
        {
            return false;
        }

        XsAccess? access = AccessOf(text[0]);
        if (access is null)
        {
            return false;
        }

        uint value = 0;
        foreach (char c in text[1..])
        {
            if (c is < '0' or > '9')
            {
                return false;
            }

            value = (value * 10) + (uint)(c - '0');
        }

        if (value > ushort.MaxValue)
        {
            return false;
        }

        permission = new XsPermission(access.Value, (ushort)value);
        return true;
    }

    /// <summary>The access a letter stands for (<c>n r w b</c>), or null; the inverse of <see cref="Letter"/>.</summary>
    internal static XsAccess? AccessOf(char letter) => letter switch
    {
        'n' => XsAccess.None,
        'r' => XsAccess.Read,
        'w' => XsAccess.Write,
        'b' => XsAccess.Both,
        _ => null,
    };

    /// <summary>The access letter.</summary>
    public static char Letter(XsAccess access) => access switch
    {
        XsAccess.None => 'n',
        XsAccess.Read => 'r',
        XsAccess.Write => 'w',
        XsAccess.Both => 'b',
        _ => throw new ArgumentOutOfRangeException(nameof(access)),
    };
}
#pragma warning restore CA1711
