namespace Xen.Store.Transports;

/// <summary>
/// A byte pipe to a xenstore daemon. <see cref="SendAsync"/> is always given whole messages (header and payload),
/// so a transport that must write one message per system call (the <c>/dev/xen/xenbus</c> device) can; the
/// client serialises its calls. <see cref="ReceiveAsync"/> may return any number of bytes, split anywhere.
/// </summary>
public interface IXenStoreTransport : IAsyncDisposable
{
    /// <summary>A short description for error messages, e.g. <c>unix:/var/run/xenstored/socket</c>.</summary>
    string Description { get; }

    /// <summary>Sends one or more whole messages.</summary>
    /// <exception cref="IOException">The connection failed.</exception>
    ValueTask SendAsync(ReadOnlyMemory<byte> messages, CancellationToken cancellationToken = default);

    /// <summary>Receives at least one byte, or returns 0 when the daemon closed the connection.</summary>
    /// <exception cref="IOException">The connection failed.</exception>
    ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default);
}
