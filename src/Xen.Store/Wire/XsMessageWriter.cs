using System.Buffers;

namespace Xen.Store.Wire;

/// <summary>
/// Builds whole xenstore messages (header and payload) into an <see cref="IBufferWriter{T}"/>. A payload is a
/// run of NUL-terminated strings optionally followed by raw bytes (the value of a WRITE), which covers every
/// request of the protocol. The length limit is checked before anything is written.
/// </summary>
public static partial class XsMessageWriter
{
    /// <summary>The payload length of <paramref name="arguments"/> (each NUL-terminated) followed by <paramref name="tail"/>.</summary>
    /// <exception cref="ArgumentException">An argument contains a NUL.</exception>
    public static int PayloadLength(ReadOnlySpan<string> arguments, ReadOnlySpan<byte> tail = default)
    {
        long length = tail.Length;
        foreach (string argument in arguments)
        {
            ArgumentNullException.ThrowIfNull(argument, nameof(arguments));
            if (argument.Contains('\0', StringComparison.Ordinal))
            {
                throw new ArgumentException("A xenstore string argument may not contain a NUL.", nameof(arguments));
            }

            length += XsText.Utf8.GetByteCount(argument) + 1;
        }

        return (int)Math.Min(length, int.MaxValue);
    }

    /// <summary>
    /// Writes one message: the header, then each argument as UTF-8 with a NUL, then <paramref name="tail"/>.
    /// </summary>
    /// <returns>The bytes written (16 + payload).</returns>
    /// <exception cref="ArgumentException">The payload would exceed 4096 bytes (nothing is written), or an argument contains a NUL.</exception>
    public static int Write(IBufferWriter<byte> output, XsMessageType type, uint requestId, uint transactionId, ReadOnlySpan<string> arguments, ReadOnlySpan<byte> tail = default)
    {
        ArgumentNullException.ThrowIfNull(output);
        int total = MessageLength(type, arguments, tail);
        WriteMessage(output.GetSpan(total), total, type, requestId, transactionId, arguments, tail);
        output.Advance(total);
        return total;
    }

    /// <summary>The length of the whole message (16 + payload) <see cref="Write(IBufferWriter{byte}, XsMessageType, uint, uint, ReadOnlySpan{string}, ReadOnlySpan{byte})"/> would write.</summary>
    /// <exception cref="ArgumentException">The payload would exceed 4096 bytes, or an argument contains a NUL.</exception>
    public static int MessageLength(XsMessageType type, ReadOnlySpan<string> arguments, ReadOnlySpan<byte> tail = default)
    {
        int payload = PayloadLength(arguments, tail);
        if (payload > XsHeader.PayloadMax)
        {
            throw new ArgumentException(
                $"A {type} request of {payload} payload bytes exceeds XENSTORE_PAYLOAD_MAX ({XsHeader.PayloadMax}); it was not sent.", nameof(arguments));
        }

        return XsHeader.HeaderLength + payload;
    }

    /// <summary>
    /// Writes a message whose length <see cref="MessageLength"/> gave (so its arguments are already checked) into
    /// <paramref name="span"/>, which holds at least <paramref name="total"/> bytes.
    /// </summary>
    internal static void WriteMessage(Span<byte> span, int total, XsMessageType type, uint requestId, uint transactionId, ReadOnlySpan<string> arguments, ReadOnlySpan<byte> tail)
    {
        new XsHeader(type, requestId, transactionId, (uint)(total - XsHeader.HeaderLength)).Write(span);
        int at = XsHeader.HeaderLength;
        foreach (string argument in arguments)
        {
            at += XsText.Utf8.GetBytes(argument, span[at..]);
            span[at++] = 0;
        }

        tail.CopyTo(span[at..]);
    }

    /// <summary>Writes one message whose payload is given whole (a reply, or a request built elsewhere).</summary>
    /// <returns>The bytes written.</returns>
    /// <exception cref="ArgumentException">The payload exceeds 4096 bytes; nothing is written.</exception>
    public static int WriteRaw(IBufferWriter<byte> output, XsMessageType type, uint requestId, uint transactionId, ReadOnlySpan<byte> payload)
    {
        ArgumentNullException.ThrowIfNull(output);
        if (payload.Length > XsHeader.PayloadMax)
        {
            throw new ArgumentException($"A payload of {payload.Length} bytes exceeds XENSTORE_PAYLOAD_MAX ({XsHeader.PayloadMax}).", nameof(payload));
        }

        int total = XsHeader.HeaderLength + payload.Length;
        Span<byte> span = output.GetSpan(total);
        new XsHeader(type, requestId, transactionId, (uint)payload.Length).Write(span);
        payload.CopyTo(span[XsHeader.HeaderLength..]);
        output.Advance(total);
        return total;
    }
}
