using System.Net.Sockets;
using Xen.Rings.Events;

namespace Xen.Rings.Shim;

/// <summary>An event channel whose waits come from a <see cref="DatagramInbox"/> and whose notifications are one datagram to a fixed socket.</summary>
internal sealed class DatagramChannel : IEventChannel
{
    private readonly DatagramInbox _inbox;
    private readonly uint _key;
    private readonly AsyncSignal _signal;
    private readonly UnixDomainSocketEndPoint _target;
    private readonly byte[] _message;
    private readonly bool _ownsInbox;
    private readonly Socket _sender;

    public DatagramChannel(DatagramInbox inbox, uint key, string targetPath, byte[] message, bool ownsInbox)
    {
        _inbox = inbox;
        _key = key;
        _signal = inbox.Subscribe(key);
        _target = ShimEventChannels.EndPoint(targetPath);
        _message = message;
        _ownsInbox = ownsInbox;
        _sender = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified) { Blocking = false };
    }

    public void Notify()
    {
        try
        {
            _sender.SendTo(_message, SocketFlags.None, _target);
        }
        catch (SocketException)
        {
            // Nobody bound (yet), or their queue is full: notifications coalesce, so a lost one is harmless to a
            // peer that re-checks its ring, and a peer not yet listening checks when it starts.
        }
    }

    public ValueTask WaitAsync(CancellationToken cancellationToken = default) => _signal.WaitAsync(cancellationToken);

    public void Dispose()
    {
        _sender.Dispose();
        if (_ownsInbox)
        {
            _inbox.Dispose();
        }
        else
        {
            _inbox.Unsubscribe(_key, _signal);
        }
    }
}
