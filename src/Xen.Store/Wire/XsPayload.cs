using System.Buffers;
using System.Globalization;
using System.Text;

namespace Xen.Store.Wire;

/// <summary>
/// Parsers for the payloads of xenstore replies (and of requests, for a server). Each one checks the shape the
/// protocol promises and throws <see cref="XenStoreProtocolException"/> for anything else.
/// </summary>
public static class XsPayload
{
    /// <summary>
    /// Splits a run of NUL-terminated strings (DIRECTORY, GET_PERMS, request arguments). An empty payload is no
    /// strings (never one empty string). A last string without its NUL is accepted, as the daemons accept it.
    /// </summary>
    public static string[] Strings(ReadOnlySpan<byte> payload)
    {
        if (payload.IsEmpty)
        {
            return [];
        }

        if (payload[^1] == 0)
        {
            payload = payload[..^1];
        }

        int count = payload.Count((byte)0) + 1;
        string[] result = new string[count];
        for (int i = 0; i < count; i++)
        {
            int nul = payload.IndexOf((byte)0);
            ReadOnlySpan<byte> item = nul < 0 ? payload : payload[..nul];
            result[i] = XsText.Utf8Lenient.GetString(item);
            payload = nul < 0 ? default : payload[(nul + 1)..];
        }

        return result;
    }

    /// <summary>The first NUL-terminated string (an error name, a domain path, a transaction id, <c>OK</c>).</summary>
    public static string FirstString(ReadOnlySpan<byte> payload)
    {
        int nul = payload.IndexOf((byte)0);
        return XsText.Utf8Lenient.GetString(nul < 0 ? payload : payload[..nul]);
    }

    /// <summary>Checks an <c>OK\0</c> reply.</summary>
    /// <exception cref="XenStoreProtocolException">The reply is something else.</exception>
    public static void Ok(ReadOnlySpan<byte> payload, XsMessageType type)
    {
        if (!payload.SequenceEqual("OK\0"u8) && !payload.SequenceEqual("OK"u8))
        {
            throw new XenStoreProtocolException($"A {type} reply should be 'OK', not {Describe(payload)}.");
        }
    }

    /// <summary>Parses a TRANSACTION_START reply: the decimal transaction id with a NUL.</summary>
    /// <exception cref="XenStoreProtocolException">Not a decimal id, or 0.</exception>
    public static uint TransactionId(ReadOnlySpan<byte> payload)
    {
        string text = FirstString(payload);
        if (!uint.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out uint id) || id == 0)
        {
            throw new XenStoreProtocolException($"A TRANSACTION_START reply should be a non-zero decimal id, not {Describe(payload)}.");
        }

        return id;
    }

    /// <summary>Parses a <c>T\0</c>/<c>F\0</c> reply (IS_DOMAIN_INTRODUCED).</summary>
    /// <exception cref="XenStoreProtocolException">Anything else.</exception>
    public static bool Boolean(ReadOnlySpan<byte> payload, XsMessageType type) => FirstString(payload) switch
    {
        "T" => true,
        "F" => false,
        _ => throw new XenStoreProtocolException($"A {type} reply should be 'T' or 'F', not {Describe(payload)}."),
    };

    /// <summary>Parses a GET_PERMS reply strictly.</summary>
    /// <exception cref="XenStoreProtocolException">An entry is not a permission, or there is none.</exception>
    public static XsPermission[] Permissions(ReadOnlySpan<byte> payload)
    {
        string[] items = Strings(payload);
        if (items.Length == 0)
        {
            throw new XenStoreProtocolException("A GET_PERMS reply has no permission.");
        }

        var result = new XsPermission[items.Length];
        for (int i = 0; i < items.Length; i++)
        {
            if (!XsPermission.TryParse(items[i], out result[i]))
            {
                throw new XenStoreProtocolException($"A GET_PERMS reply holds '{items[i]}', which is not a permission.");
            }
        }

        return result;
    }

    /// <summary>Parses a WATCH_EVENT payload: <c>path\0token\0</c>.</summary>
    /// <exception cref="XenStoreProtocolException">Fewer than two strings.</exception>
    public static (string Path, string Token) WatchEvent(ReadOnlySpan<byte> payload)
    {
        string[] items = Strings(payload);
        if (items.Length < 2)
        {
            throw new XenStoreProtocolException($"A WATCH_EVENT should carry a path and a token, not {Describe(payload)}.");
        }

        return (items[0], items[1]);
    }

    /// <summary>
    /// Parses one DIRECTORY_PART chunk: <c>gen\0child\0...</c>; the last chunk ends with an extra NUL.
    /// </summary>
    /// <param name="payload">The reply payload.</param>
    /// <param name="generation">The directory's generation (restart the listing when it changes).</param>
    /// <param name="childrenByteCount">The bytes of children (with their NULs) in this chunk: add it to the offset of the next request.</param>
    /// <param name="isLast">Whether this is the last chunk.</param>
    /// <returns>The children in this chunk.</returns>
    /// <exception cref="XenStoreProtocolException">The chunk has no generation.</exception>
    public static string[] DirectoryPart(ReadOnlySpan<byte> payload, out string generation, out int childrenByteCount, out bool isLast)
    {
        int nul = payload.IndexOf((byte)0);
        if (nul <= 0)
        {
            throw new XenStoreProtocolException($"A DIRECTORY_PART reply should start with a generation, not {Describe(payload)}.");
        }

        generation = XsText.Utf8Lenient.GetString(payload[..nul]);
        ReadOnlySpan<byte> rest = payload[(nul + 1)..];
        isLast = rest.IsEmpty || rest[^1] == 0 && (rest.Length == 1 || rest[^2] == 0);
        if (isLast && !rest.IsEmpty)
        {
            rest = rest[..^1];
        }

        childrenByteCount = rest.Length;
        return Strings(rest);
    }

    /// <summary>Copies a payload out of a sequence into a new array (what a READ returns).</summary>
    public static byte[] ToArray(in ReadOnlySequence<byte> payload) => payload.IsEmpty ? [] : payload.ToArray();

    /// <summary>A short printable form of a payload for error messages.</summary>
    public static string Describe(ReadOnlySpan<byte> payload)
    {
        var sb = new StringBuilder("'");
        foreach (byte b in payload[..Math.Min(payload.Length, 48)])
        {
            sb.Append(b is >= 32 and < 127 ? (char)b : b == 0 ? "\\0" : $"\\x{b:x2}");
        }

        return sb.Append(payload.Length > 48 ? "...'" : "'").ToString();
    }
}
