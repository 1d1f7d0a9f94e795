using Xen.Store.Transports;

namespace Xen.Store.Server;

/// <summary>One end of an in-process connection to a <see cref="XenStoreServer"/> (no socket, no ring).</summary>
internal sealed class InProcessTransport : IXenStoreTransport
{
    private readonly InProcessStream _incoming;
    private readonly InProcessStream _outgoing;

    private InProcessTransport(InProcessStream incoming, InProcessStream outgoing, string description)
    {
        _incoming = incoming;
        _outgoing = outgoing;
        Description = description;
    }

    public string Description { get; }

    /// <summary>Creates the two connected ends.</summary>
    public static (InProcessTransport Client, InProcessTransport Server) CreatePair(string description)
    {
        var toServer = new InProcessStream();
        var toClient = new InProcessStream();
        return (new InProcessTransport(toClient, toServer, description), new InProcessTransport(toServer, toClient, description));
    }

    public ValueTask SendAsync(ReadOnlyMemory<byte> messages, CancellationToken cancellationToken = default) =>
        _outgoing.WriteAsync(messages, cancellationToken);

    public ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
        _incoming.ReadAsync(buffer, cancellationToken);

    public ValueTask DisposeAsync()
    {
        _outgoing.Complete();
        _incoming.Complete();
        return ValueTask.CompletedTask;
    }
}
