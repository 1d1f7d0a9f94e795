using Xen.Store.Wire;

namespace Xen.Store.Client;

/// <summary>
/// The request half of a connection, which is all that the operations a client shares with its transactions
/// (<see cref="XenStoreOperations"/>) need of it: send one request in a transaction and hand back its reply.
/// </summary>
internal interface IRequestSender
{
    /// <summary>Sends a request and returns its reply's payload (a new array).</summary>
    /// <param name="type">The request type.</param>
    /// <param name="transactionId">The transaction, or 0.</param>
    /// <param name="arguments">The NUL-terminated strings of the payload.</param>
    /// <param name="tail">Raw bytes after them (a WRITE's value).</param>
    /// <param name="subject">The path the request is about, for error messages; null for none.</param>
    /// <param name="cancellationToken">Stops the wait (the request may still be carried out).</param>
    ValueTask<byte[]> RequestAsync(XsMessageType type, uint transactionId, ReadOnlySpan<string> arguments, ReadOnlySpan<byte> tail, string? subject, CancellationToken cancellationToken);

    /// <summary>Sends a request whose reply must be <c>OK</c>.</summary>
    ValueTask RequestOkAsync(XsMessageType type, uint transactionId, string[] arguments, ReadOnlyMemory<byte> tail, string? subject, CancellationToken cancellationToken);

    /// <summary>Sends a request with one argument whose reply must be <c>OK</c> (WRITE, MKDIR, RM, ...).</summary>
    ValueTask RequestOkAsync(XsMessageType type, uint transactionId, string argument, ReadOnlyMemory<byte> tail, string? subject, CancellationToken cancellationToken);
}
