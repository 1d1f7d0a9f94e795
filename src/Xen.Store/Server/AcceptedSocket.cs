namespace Xen.Store.Server;

/// <summary>
/// The server's end of an accepted Unix-socket connection, in non-blocking mode, with the calls
/// <see cref="SocketConnection"/> makes: synchronous ones that never block (a socket worker must never be held by one
/// client), a park that waits for readability holding no thread and no buffer, and an asynchronous send for output the
/// client is slow to take. Errors become <see cref="IOException"/>. On Linux the connection is a bare descriptor
/// (<see cref="FdSocket"/>, accepted by <see cref="FdAcceptor"/>); elsewhere the runtime's socket
/// (<see cref="ManagedSocket"/>).
/// </summary>
internal abstract class AcceptedSocket(string description) : IDisposable
{
    public string Description { get; } = description;

    /// <summary>
    /// Waits up to <paramref name="timeout"/> (zero: not at all) for a <see cref="TryReceive"/> that would not find the
    /// socket empty (data, end of stream or an error): <c>poll</c> on this one socket, so the data's arrival wakes the
    /// waiting thread directly.
    /// </summary>
    public abstract bool WaitReadable(TimeSpan timeout);

    /// <summary>Receives what is there: the byte count, 0 when the client closed its end, -1 when nothing is there yet.</summary>
    /// <exception cref="IOException">The connection failed.</exception>
    public abstract int TryReceive(Span<byte> buffer);

    /// <summary>Sends what the socket takes now, up to all of <paramref name="messages"/>; the byte count sent.</summary>
    /// <exception cref="IOException">The connection failed.</exception>
    public abstract int TrySend(ReadOnlySpan<byte> messages);

    /// <summary>Sends all of <paramref name="messages"/>, waiting (with no thread) while the client does not read.</summary>
    /// <exception cref="IOException">The connection failed.</exception>
    public abstract Task SendAsync(ReadOnlyMemory<byte> messages);

    /// <summary>
    /// Waits, holding no thread, until the socket is readable (data, end of stream, an error or <see cref="Shutdown"/>),
    /// then calls <paramref name="connection"/>'s <see cref="SocketConnection.Readable"/> once. Errors are left for
    /// <see cref="TryReceive"/> to report.
    /// </summary>
    public abstract void Park(SocketConnection connection);

    /// <summary>Shuts the socket down both ways, waking whatever waits on it; errors are ignored (it may be gone already).</summary>
    public abstract void Shutdown();

    /// <summary>
    /// While <see cref="SendAsync"/> waits for the client to read (and cannot send meanwhile): the bytes it has yet to
    /// send; otherwise null (a live update cannot then know what is sent).
    /// </summary>
    public virtual ReadOnlyMemory<byte>? ParkedSend => null;

    /// <summary>The descriptor a live update hands to the new process, or -1 when there is none to hand (the runtime's socket).</summary>
    public virtual int Descriptor => -1;

    /// <summary>Closes the socket (not parked, no send pending on it).</summary>
    public abstract void Dispose();
}
