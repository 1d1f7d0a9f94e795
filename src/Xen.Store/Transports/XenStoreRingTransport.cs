using Xen.Rings.Events;
using Xen.Rings.XenStore;

namespace Xen.Store.Transports;

/// <summary>
/// The guest side of the xenstore ring: requests go into <c>req[]</c>, replies and watch events come out of
/// <c>rsp[]</c>, and the event channel says when either side moved. Waiting is on notifications, never spinning.
/// </summary>
/// <remarks>
/// A guest maps its xenstore page (a file under <c>/dev/shm</c> with <see cref="Xen.Rings.Memory.SharedPage.MapFile"/>
/// where a stand-in hypervisor keeps it) and opens its event channel after dom0 has sent INTRODUCE. A ring the server corrupts, or whose
/// <c>error</c> field the server sets, fails the connection with <see cref="IOException"/>.
/// </remarks>
public sealed class XenStoreRingTransport : IXenStoreTransport
{
    private const int ReaderSignal = 0;
    private const int WriterSignal = 1;

    private readonly Memory<byte> _page;
    private readonly IEventChannel _channel;
    private readonly bool _ownsChannel;
    private readonly NotificationPump _pump;

    /// <summary>Creates the transport over a mapped xenstore page and its event channel.</summary>
    /// <param name="page">The guest's xenstore page.</param>
    /// <param name="channel">The xenstore event channel.</param>
    /// <param name="ownsChannel">Whether disposing the transport disposes the channel.</param>
    /// <exception cref="ArgumentException">The page is too small.</exception>
    public XenStoreRingTransport(Memory<byte> page, IEventChannel channel, bool ownsChannel = false)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _ = new XenStoreGuestRing(page.Span); // validates the size
        _page = page;
        _channel = channel;
        _ownsChannel = ownsChannel;
        _pump = new NotificationPump(channel, 2);
        Description = "xenstore ring";
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <summary>
    /// Runs the reconnection handshake: asks the server to reset the connection (dropping its watches, transactions
    /// and partial packets) and waits until it has zeroed the indices. Nothing else may use the transport meanwhile.
    /// </summary>
    /// <exception cref="InvalidOperationException">The server does not offer reconnection.</exception>
    public async ValueTask ReconnectAsync(CancellationToken cancellationToken = default)
    {
        new XenStoreGuestRing(_page.Span).RequestReconnect();
        _channel.Notify();
        while (!new XenStoreGuestRing(_page.Span).IsReconnectComplete)
        {
            await _pump.WaitAsync(ReaderSignal, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// A <see cref="Client.XenStoreClientOptions.Reconnect"/> factory for a guest's ring: when the connection breaks (the
    /// server set the ring's <c>error</c> field, or the indices went bad), it opens a fresh transport over the same page
    /// and event channel and runs the reconnection handshake (<see cref="ReconnectAsync"/>), after which the client
    /// registers its watches again. The channel stays the caller's: no transport made here disposes it.
    /// </summary>
    /// <param name="page">The guest's xenstore page.</param>
    /// <param name="channel">The xenstore event channel.</param>
    /// <exception cref="ArgumentException">The page is too small.</exception>
    public static Func<CancellationToken, ValueTask<IXenStoreTransport>> Reconnector(Memory<byte> page, IEventChannel channel)
    {
        ArgumentNullException.ThrowIfNull(channel);
        _ = new XenStoreGuestRing(page.Span); // validates the size
        return async cancellationToken =>
        {
            var transport = new XenStoreRingTransport(page, channel, ownsChannel: false);
            try
            {
                await transport.ReconnectAsync(cancellationToken).ConfigureAwait(false);
                return transport;
            }
            catch
            {
                await transport.DisposeAsync().ConfigureAwait(false);
                throw;
            }
        };
    }

    /// <inheritdoc/>
    public async ValueTask SendAsync(ReadOnlyMemory<byte> messages, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            int n;
            try
            {
                n = CheckedRing().Write(messages.Span);
            }
            catch (Xen.Rings.RingCorruptedException e)
            {
                throw Broken(e);
            }

            if (n != 0)
            {
                _channel.Notify();
                messages = messages[n..];
            }

            if (messages.IsEmpty)
            {
                return;
            }

            await _pump.WaitAsync(WriterSignal, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            int n;
            try
            {
                n = CheckedRing().Read(buffer.Span);
            }
            catch (Xen.Rings.RingCorruptedException e)
            {
                throw Broken(e);
            }

            if (n != 0)
            {
                _channel.Notify();
                return n;
            }

            await _pump.WaitAsync(ReaderSignal, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _pump.Dispose();
        if (_ownsChannel)
        {
            _channel.Dispose();
        }

        return ValueTask.CompletedTask;
    }

    private XenStoreGuestRing CheckedRing()
    {
        var ring = new XenStoreGuestRing(_page.Span);
        if (ring.Error != XenStoreRingError.None)
        {
            throw new IOException($"xenstore ring: the server reported error {ring.Error}.");
        }

        return ring;
    }

    private static IOException Broken(Xen.Rings.RingCorruptedException e) => new($"xenstore ring: {e.Message}", e);
}
