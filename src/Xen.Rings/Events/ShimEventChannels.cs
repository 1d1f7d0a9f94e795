using System.Buffers.Binary;
using System.Net.Sockets;

namespace Xen.Rings.Events;

/// <summary>
/// Event channels over the datagram-socket convention that stands in for the hypervisor on a machine without
/// Xen (the LD_PRELOAD shim under which the real xenstored, oxenstored, xenconsoled and QEMU run). All sockets
/// live in one state directory:
/// <list type="bullet">
/// <item><c>port-&lt;domid&gt;-&lt;port&gt;</c>: bound by the back end (daemon) for a guest's channel; the guest
/// kicks it with 8 bytes <c>&lt;u32 LE domid&gt;&lt;u32 LE port&gt;</c>.</item>
/// <item><c>dom&lt;domid&gt;.evtchn</c>: bound by the guest; back-end notifications arrive as 4 bytes
/// <c>&lt;u32 LE port&gt;</c> naming the guest-side port.</item>
/// </list>
/// </summary>
/// <remarks>
/// A guest binds its domain once (<see cref="BindGuest"/>) and opens a channel per port; a back end binds one
/// socket per guest channel (<see cref="BindBackend"/>). Socket paths must fit in 108 bytes, so keep the
/// state directory short. Notifications to an end that is not listening are lost, as the shim does.
/// </remarks>
public static class ShimEventChannels
{
    /// <summary>The socket a back end binds for guest <paramref name="domainId"/>'s port <paramref name="guestPort"/>.</summary>
    public static string BackendSocketPath(string stateDirectory, uint domainId, uint guestPort) =>
        Path.Combine(stateDirectory, $"port-{domainId}-{guestPort}");

    /// <summary>The socket guest <paramref name="domainId"/> binds to receive notifications.</summary>
    public static string GuestSocketPath(string stateDirectory, uint domainId) =>
        Path.Combine(stateDirectory, $"dom{domainId}.evtchn");

    /// <summary>
    /// Binds guest <paramref name="domainId"/>'s notification socket (replacing a stale one). Open channels
    /// with <see cref="ShimGuestDomain.OpenChannel"/>.
    /// </summary>
    /// <exception cref="ArgumentException">The socket path is longer than a Unix socket allows.</exception>
    /// <exception cref="SocketException">The socket could not be bound.</exception>
    public static ShimGuestDomain BindGuest(string stateDirectory, uint domainId) => new(stateDirectory, domainId);

    /// <summary>
    /// Binds the back-end end of guest <paramref name="domainId"/>'s channel <paramref name="guestPort"/>: receives
    /// the guest's kicks on <c>port-&lt;domid&gt;-&lt;port&gt;</c> and notifies it through <c>dom&lt;domid&gt;.evtchn</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The socket path is longer than a Unix socket allows.</exception>
    /// <exception cref="SocketException">The socket could not be bound.</exception>
    public static IEventChannel BindBackend(string stateDirectory, uint domainId, uint guestPort)
    {
        var inbox = new DatagramInbox(BackendSocketPath(stateDirectory, domainId, guestPort), static _ => 0u);
        var notification = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(notification, guestPort);
        return new DatagramChannel(inbox, 0, GuestSocketPath(stateDirectory, domainId), notification, ownsInbox: true);
    }

    internal static UnixDomainSocketEndPoint EndPoint(string path)
    {
        try
        {
            return new UnixDomainSocketEndPoint(path);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"The socket path '{path}' is too long for a Unix socket; use a shorter state directory.", nameof(path), e);
        }
    }
}
