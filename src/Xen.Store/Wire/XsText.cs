using System.Text;

namespace Xen.Store.Wire;

/// <summary>
/// The one rule for text on the wire. A payload is bytes: xs_wire.h has no character set, and the daemons store and
/// return whatever bytes they are given. Where code here needs a .NET string, it converts at one of two points:
/// <list type="bullet">
/// <item><description>
/// The client's callers speak strings: their paths, tokens and string values go out as UTF-8 (<see cref="Utf8"/>,
/// which refuses unpaired surrogates rather than sending replacement bytes), and strings read back are decoded as
/// UTF-8 (<see cref="Utf8Lenient"/>: bytes that are not UTF-8 become U+FFFD; callers that need the exact bytes use the
/// byte overloads).
/// </description></item>
/// <item><description>
/// The server keeps a guest's bytes as strings with <see cref="Latin1"/>, one char per byte, so every byte sequence it
/// stores or echoes (paths, watch tokens, permission lists) goes back out exactly as it came in. Everything the server
/// makes up itself (numbers, error names, domain paths, quota names) is ASCII, which reads the same either way.
/// </description></item>
/// </list>
/// </summary>
internal static class XsText
{
    /// <summary>UTF-8 without a byte-order mark that throws on a string it cannot encode.</summary>
    public static readonly UTF8Encoding Utf8 = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true);

    /// <summary>UTF-8 that decodes invalid bytes to U+FFFD instead of throwing.</summary>
    public static readonly UTF8Encoding Utf8Lenient = new(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: false);

    /// <summary>ISO-8859-1: byte N is char N, both ways, for every byte.</summary>
    public static Encoding Latin1 => Encoding.Latin1;
}
