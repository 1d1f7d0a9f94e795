using System.Buffers.Binary;
using Xen.Rings.Events;

namespace Xen.Rings.Shim;

/// <summary>
/// A guest domain's end of the shim's event channels: one bound <c>dom&lt;domid&gt;.evtchn</c> socket whose
/// notifications are routed by port to the channels opened on it. Create with <see cref="ShimEventChannels.BindGuest"/>.
/// </summary>
internal sealed class ShimGuestDomain : IDisposable
{
    private readonly DatagramInbox _inbox;
    private readonly string _stateDirectory;

    internal ShimGuestDomain(string stateDirectory, uint domainId)
    {
        _stateDirectory = stateDirectory;
        DomainId = domainId;
        _inbox = new DatagramInbox(ShimEventChannels.GuestSocketPath(stateDirectory, domainId),
            static message => message.Length == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(message) : null);
    }

    /// <summary>The guest's domain id.</summary>
    public uint DomainId { get; }

    /// <summary>
    /// Opens the guest end of channel <paramref name="guestPort"/>: <see cref="IEventChannel.Notify"/> kicks the
    /// back end's <c>port-&lt;domid&gt;-&lt;port&gt;</c> socket, waits complete on notifications naming the port.
    /// Disposing the channel fails its own waits and leaves the domain's socket bound. A notification for the port
    /// that arrived while no channel was open on it is pending for the new channel.
    /// </summary>
    public IEventChannel OpenChannel(uint guestPort)
    {
        var kick = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(kick, DomainId);
        BinaryPrimitives.WriteUInt32LittleEndian(kick.AsSpan(4), guestPort);
        return new DatagramChannel(_inbox, guestPort,
            ShimEventChannels.BackendSocketPath(_stateDirectory, DomainId, guestPort), kick, ownsInbox: false);
    }

    /// <summary>Unbinds the socket; waits on every channel opened here fail with <see cref="ObjectDisposedException"/>.</summary>
    public void Dispose() => _inbox.Dispose();
}
