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

    /// <summary>
    /// A domid argument of a toolstack request read the way C xenstored reads it, with <c>atoi</c>: leading blanks and
    /// a sign, then the digits up to the first other character (none: 0), the <c>int</c> taken as unsigned. So
    /// <c>5x</c> is 5, <c>abc</c> 0 and <c>-1</c> 4294967295, which no domain has.
    /// </summary>
    private static uint AtoiDomainId(string text) => unchecked((uint)Atoi(text));

    /// <summary>C's <c>atoi</c> (glibc's: <c>(int)strtol(text, NULL, 10)</c>): blanks, a sign, the digits up to the first other character, 0 without any.</summary>
    private static int Atoi(string text) => unchecked((int)CStrtol(text, 10, out _));

    /// <summary>
    /// A domid argument of the server's own requests and commands (GET/SET_FEATURE, GET/SET_QUOTA, <c>quota</c>): a
    /// decimal number a domain can have.
    /// </summary>
    private static bool TryDomainId(string text, out uint domid) =>
        uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out domid) && domid <= ushort.MaxValue;

    /// <summary>
    /// Xen 4.22's <c>parse_domid</c> for GET/SET_FEATURE: <c>strtoul</c> of the whole argument in decimal (leading blanks
    /// and a sign allowed; the empty string is 0), at most 65535.
    /// </summary>
    private static bool TryParseDomid(string text, out uint domid)
    {
        long value = CStrtol(text, 10, out int end);
        domid = (uint)Math.Clamp(value, 0, uint.MaxValue);
        return end == text.Length && value is >= 0 and <= ushort.MaxValue;
    }

    /// <summary>
    /// C's <c>strtol</c> (glibc, 64-bit <c>long</c>): leading white space, an optional sign, then digits of
    /// <paramref name="radix"/>; radix 0 reads <c>0x</c> as hexadecimal and a leading <c>0</c> as octal. Past the range
    /// of <c>long</c> it gives <c>long.MaxValue</c> or <c>long.MinValue</c>, as strtol does with ERANGE.
    /// </summary>
    /// <param name="text">The argument.</param>
    /// <param name="radix">10, 16, 8, or 0 to take it from the prefix.</param>
    /// <param name="end">Where the number ends: the index after its last digit, or 0 when there is none.</param>
    private static long CStrtol(string text, int radix, out int end)
    {
        int i = 0;
        while (i < text.Length && text[i] is ' ' or '\t' or '\n' or '\v' or '\f' or '\r')
        {
            i++;
        }

        bool negative = false;
        if (i < text.Length && text[i] is '+' or '-')
        {
            negative = text[i] == '-';
            i++;
        }

        if ((radix is 0 or 16) && i + 2 < text.Length && text[i] == '0' && (text[i + 1] is 'x' or 'X') && Uri.IsHexDigit(text[i + 2]))
        {
            radix = 16;
            i += 2;
        }
        else if (radix == 0)
        {
            radix = i < text.Length && text[i] == '0' ? 8 : 10;
        }

        int start = i;
        ulong magnitude = 0;
        bool overflow = false;
        for (; i < text.Length; i++)
        {
            int digit = text[i] switch
            {
                >= '0' and <= '9' => text[i] - '0',
                >= 'a' and <= 'z' => text[i] - 'a' + 10,
                >= 'A' and <= 'Z' => text[i] - 'A' + 10,
                _ => 99,
            };
            if (digit >= radix)
            {
                break;
            }

            if (!overflow)
            {
                ulong next = (magnitude * (ulong)radix) + (ulong)digit;
                overflow = magnitude > (ulong.MaxValue - (ulong)digit) / (ulong)radix || next > (ulong)long.MaxValue + 1;
                magnitude = next;
            }
        }

        end = i > start ? i : 0;
        if (end == 0)
        {
            return 0;
        }

        if (overflow || magnitude > (ulong)long.MaxValue + (negative ? 1UL : 0UL))
        {
            return negative ? long.MinValue : long.MaxValue;
        }

        return negative ? unchecked(-(long)magnitude) : (long)magnitude;
    }

    /// <summary>
    /// One SET_PERMS entry read as C's <c>xs_strings_to_perms</c> reads it: <c>r</c>, <c>w</c>, <c>b</c> or <c>n</c>,
    /// then a domid that <c>strtol</c> reads whole, in any base (<c>n0x10</c> is domain 16, <c>n010</c> domain 8,
    /// <c>b 5</c> domain 5), taken as 32 bits.
    /// </summary>
    private static bool TryPermission(string text, out uint domid, out XsAccess access)
    {
        domid = 0;
        XsAccess? letter = text.Length < 2 ? null : XsPermission.AccessOf(text[0]);
        access = letter.GetValueOrDefault();
        if (letter is null)
        {
            return false;
        }

        string number = text[1..];
        domid = unchecked((uint)CStrtol(number, 0, out int end));
        return end == number.Length;
    }

    /// <summary>
    /// Whether a SET_PERMS owner names a domain: one this server knows, else one the host says exists (C xenstored asks
    /// libxenctrl); without a host, any domid below the reserved ones (<c>DOMID_FIRST_RESERVED</c>, 0x7FF0).
    /// </summary>
    private bool DomainMayExist(uint domid) =>
        domid <= ushort.MaxValue && (_domains.ContainsKey(domid) || (DomainExists?.Invoke(domid) ?? domid < DomidFirstReserved));

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
