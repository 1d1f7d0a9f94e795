using System.Buffers.Binary;
using System.Net.Sockets;
using Xen.Rings.Events;

namespace Xen.Rings.Shim;

/// <summary>
/// Event channels over the datagram-socket convention that stands in for the hypervisor on a machine without
/// Xen (the LD_PRELOAD shim under which the real xenstored, oxenstored, xenconsoled and QEMU run). All sockets
/// live in one state directory:
/// <list type="bullet">
/// <item><c>port-&lt;domid&gt;-&lt;port&gt;</c>: bound by the back end (daemon) for a guest's channel; the guest
/// kicks it with 8 bytes <c>&lt;u32 LE domid&gt;&lt;u32 LE port&gt;</c>.</item>
/// <item><c>dom&lt;domid&gt;.evtchn</c>: bound by the guest; back-end notifications arrive as 4 bytes
/// <c>&lt;u32 LE port&gt;</c> naming the guest-side port.</item>
/// <item><c>virq-&lt;virq&gt;</c>: bound by a daemon for a virtual IRQ (VIRQ_DOM_EXC = 3: a domain died, rescan
/// them); whoever plays the hypervisor raises it with 8 bytes <c>&lt;u32 LE 0xFFFFFFFF&gt;&lt;u32 LE virq&gt;</c>.</item>
/// </list>
/// </summary>
/// <remarks>
/// A guest binds its domain once (<see cref="BindGuest"/>) and opens a channel per port; a back end binds one
/// socket per guest channel (<see cref="BindBackend"/>). Socket paths must fit in 108 bytes, so keep the
/// state directory short. Notifications to an end that is not listening are lost, as the shim does.
/// </remarks>
internal static class ShimEventChannels
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

    /// <summary>The VIRQ number of VIRQ_DOM_EXC, raised when a domain dies (xenstored then looks for dead domains).</summary>
    public const uint VirqDomainException = 3;

    /// <summary>The socket a daemon binds to hear virtual IRQ <paramref name="virq"/>.</summary>
    public static string VirqSocketPath(string stateDirectory, uint virq) =>
        Path.Combine(stateDirectory, $"virq-{virq}");

    /// <summary>
    /// Binds virtual IRQ <paramref name="virq"/> (e.g. <see cref="VirqDomainException"/>) on <c>virq-&lt;virq&gt;</c>:
    /// the channel's waits complete when the 8-byte datagram <c>&lt;0xFFFFFFFF&gt;&lt;virq&gt;</c> arrives (other
    /// datagrams are ignored). Its <see cref="IEventChannel.Notify"/> throws <see cref="NotSupportedException"/>:
    /// a VIRQ only comes from the hypervisor.
    /// </summary>
    /// <exception cref="ArgumentException">The socket path is longer than a Unix socket allows.</exception>
    /// <exception cref="SocketException">The socket could not be bound.</exception>
    public static IEventChannel BindVirq(string stateDirectory, uint virq)
    {
        var inbox = new DatagramInbox(VirqSocketPath(stateDirectory, virq), message => IsVirqMessage(message, virq) ? 0u : null);
        return new VirqChannel(inbox, virq);
    }

    /// <summary>Whether a datagram raises <paramref name="virq"/>: exactly <c>&lt;u32 LE 0xFFFFFFFF&gt;&lt;u32 LE virq&gt;</c>.</summary>
    internal static bool IsVirqMessage(ReadOnlySpan<byte> message, uint virq) =>
        message.Length == 8 &&
        BinaryPrimitives.ReadUInt32LittleEndian(message) == uint.MaxValue &&
        BinaryPrimitives.ReadUInt32LittleEndian(message[4..]) == virq;

    /// <summary>
    /// Raises virtual IRQ <paramref name="virq"/> as the stand-in hypervisor does: one datagram to
    /// <c>virq-&lt;virq&gt;</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The socket path is longer than a Unix socket allows.</exception>
    /// <exception cref="SocketException">Nobody has bound the VIRQ (no daemon would hear it).</exception>
    public static void RaiseVirq(string stateDirectory, uint virq)
    {
        byte[] message = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(message, uint.MaxValue);
        BinaryPrimitives.WriteUInt32LittleEndian(message.AsSpan(4), virq);
        UnixDomainSocketEndPoint target = EndPoint(VirqSocketPath(stateDirectory, virq));
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        socket.SendTo(message, SocketFlags.None, target);
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
