using System.Text;

namespace Xen.Tool.Commands;

/// <summary>
/// The escaped text form of a xenstore value used by xenstore-utils: <c>xenstore-read</c> and <c>xenstore-ls</c> print
/// values escaped (<see cref="Sanitise"/>), <c>xenstore-write</c> takes them escaped (<see cref="Unsanitise"/>) unless
/// <c>-R</c> is given.
/// </summary>
/// <remarks>
/// The escapes: printable ASCII except the backslash stands for itself; <c>\t \n \r \\</c>; bytes below 8 as three
/// octal digits (<c>\007</c>); every other byte as <c>\x</c> and two lowercase hex digits. Unescaping accepts more
/// than escaping produces, with the C library's <c>sscanf</c> rules for the numeric forms, so the same argument
/// writes the same bytes as with xenstore-write (see <see cref="Unsanitise"/>).
/// </remarks>
internal static class XsValueText
{
    /// <summary>The escaped form of <paramref name="value"/> (ASCII only).</summary>
    public static string Sanitise(ReadOnlySpan<byte> value)
    {
        var text = new StringBuilder(value.Length + 8);
        foreach (byte c in value)
        {
            if (c is >= (byte)' ' and <= (byte)'~' && c != (byte)'\\')
            {
                text.Append((char)c);
                continue;
            }

            text.Append('\\');
            switch (c)
            {
                case (byte)'\t': text.Append('t'); break;
                case (byte)'\n': text.Append('n'); break;
                case (byte)'\r': text.Append('r'); break;
                case (byte)'\\': text.Append('\\'); break;
                default:
                    if (c < 8)
                    {
                        text.Append('0').Append('0').Append((char)('0' + c));
                    }
                    else
                    {
                        text.Append('x').Append(HexDigit(c >> 4)).Append(HexDigit(c & 0xF));
                    }

                    break;
            }
        }

        return text.ToString();
    }

    /// <summary>
    /// The bytes an escaped argument stands for. The argument is taken as UTF-8. After a backslash: <c>t n r \</c> as
    /// in C; <c>x</c> then up to two hex digits (leading blanks skipped, an optional sign and <c>0x</c> prefix counted
    /// in the two, a negative number wrapping to its low byte), or a plain <c>x</c> when no digit follows; an octal
    /// digit starts up to three octal digits (the low byte of the number); a backslash at the very end is a NUL byte;
    /// any other byte stands for itself (the backslash is dropped).
    /// </summary>
    public static byte[] Unsanitise(string text)
    {
        byte[] input = Encoding.UTF8.GetBytes(text);
        var output = new List<byte>(input.Length);
        int i = 0;
        while (i < input.Length)
        {
            byte c = input[i++];
            if (c != (byte)'\\')
            {
                output.Add(c);
                continue;
            }

            if (i == input.Length)
            {
                output.Add(0);
                break;
            }

            c = input[i++];
            switch (c)
            {
                case (byte)'t': output.Add((byte)'\t'); break;
                case (byte)'n': output.Add((byte)'\n'); break;
                case (byte)'r': output.Add((byte)'\r'); break;
                case (byte)'\\': output.Add((byte)'\\'); break;
                case (byte)'x':
                    if (ScanNumber(input, ref i, 16, 2, skipBlanks: true, out uint hex))
                    {
                        output.Add(unchecked((byte)hex));
                    }
                    else
                    {
                        output.Add((byte)'x');
                    }

                    break;
                case >= (byte)'0' and <= (byte)'7':
                    i--;
                    ScanNumber(input, ref i, 8, 3, skipBlanks: false, out uint octal);
                    output.Add(unchecked((byte)octal));
                    break;
                default:
                    output.Add(c);
                    break;
            }
        }

        return [.. output];
    }

    /// <summary>
    /// <c>sscanf("%Nx")</c> / <c>sscanf("%No")</c>: blanks skipped (not counted in the width), then within
    /// <paramref name="width"/> characters an optional sign, for base 16 an optional <c>0x</c>, and digits. On no digit
    /// nothing is consumed.
    /// </summary>
    private static bool ScanNumber(byte[] input, ref int index, int radix, int width, bool skipBlanks, out uint value)
    {
        value = 0;
        int i = index;
        if (skipBlanks)
        {
            while (i < input.Length && input[i] is (byte)' ' or (byte)'\t' or (byte)'\n' or (byte)'\v' or (byte)'\f' or (byte)'\r')
            {
                i++;
            }
        }

        bool negative = false;
        if (width > 0 && i < input.Length && input[i] is (byte)'+' or (byte)'-')
        {
            negative = input[i] == (byte)'-';
            i++;
            width--;
        }

        int digits = 0;
        if (radix == 16 && width > 0 && i < input.Length && input[i] == (byte)'0')
        {
            i++;
            width--;
            digits++;
            if (width > 0 && i < input.Length && input[i] is (byte)'x' or (byte)'X')
            {
                i++;
                width--;
            }
        }

        while (width > 0 && i < input.Length && DigitValue(input[i]) is int d && d < radix)
        {
            value = unchecked((value * (uint)radix) + (uint)d);
            i++;
            width--;
            digits++;
        }

        if (digits == 0)
        {
            value = 0;
            return false;
        }

        if (negative)
        {
            value = unchecked(0u - value);
        }

        index = i;
        return true;
    }

    private static int? DigitValue(byte c) => c switch
    {
        >= (byte)'0' and <= (byte)'9' => c - '0',
        >= (byte)'a' and <= (byte)'f' => c - 'a' + 10,
        >= (byte)'A' and <= (byte)'F' => c - 'A' + 10,
        _ => null,
    };

    private static char HexDigit(int nibble) => (char)(nibble < 10 ? '0' + nibble : 'a' + nibble - 10);
}
