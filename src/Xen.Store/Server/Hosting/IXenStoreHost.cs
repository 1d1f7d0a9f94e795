using Xen.Rings.Events;

namespace Xen.Store.Server.Hosting;

/// <summary>
/// Everything the embedded xenstored needs from the hypervisor, as C xenstored gets it from libxengnttab (the guest's
/// xenstore page), libxenevtchn (its interdomain event channel, VIRQ_DOM_EXC) and libxenctrl (whether a domain still
/// exists). INTRODUCE calls <see cref="MapXenStorePage"/> and <see cref="BindInterdomain"/> while it holds the
/// server's request lock, as SET_PERMS calls <see cref="DomainExists"/> for an owner the server does not know (C xenstored
/// asks libxenctrl there too), so they must not call back into the server.
/// A mapping or bind that fails with <see cref="Xen.Rings.Host.XenHostException"/> answers INTRODUCE with its errno.
/// </summary>
internal interface IXenStoreHost
{
    /// <summary>
    /// Maps domain <paramref name="domainId"/>'s xenstore page (the one INTRODUCE names by <paramref name="gfn"/>; a
    /// grant-table host maps <c>GNTTAB_RESERVED_XENSTORE</c> instead).
    /// </summary>
    /// <returns>The page (4096 bytes), and what unmaps it once the domain's connection ends.</returns>
    /// <exception cref="IOException">The page could not be mapped.</exception>
    /// <exception cref="UnauthorizedAccessException">The host may not map it.</exception>
    XenStorePageMapping MapXenStorePage(uint domainId, ulong gfn);

    /// <summary>
    /// Binds the back-end end of domain <paramref name="domainId"/>'s xenstore event channel, whose guest end is
    /// <paramref name="remotePort"/> (<c>xenevtchn_bind_interdomain</c>). The server disposes it when the connection ends.
    /// </summary>
    /// <exception cref="ArgumentException">The host cannot express the channel (a path too long, say).</exception>
    /// <exception cref="System.Net.Sockets.SocketException">The channel could not be bound.</exception>
    IEventChannel BindInterdomain(uint domainId, uint remotePort);

    /// <summary>
    /// Binds VIRQ_DOM_EXC, the signal that some domain died (the server then asks <see cref="DomainExists"/> of every
    /// introduced one), or returns null when the host has no such signal. Called once, when the server is created; the
    /// server disposes the channel.
    /// </summary>
    /// <exception cref="ArgumentException">The host cannot express the channel.</exception>
    /// <exception cref="System.Net.Sockets.SocketException">The channel could not be bound.</exception>
    IEventChannel? BindDomainException();

    /// <summary>
    /// Connects to the host's own kernel as C xenstored's <c>dom0_init</c> does: maps domain 0's xenstore page and binds
    /// its event channel, which the server then serves as domain 0's (privileged) ring connection. Null when the host
    /// has no kernel connection to offer. Called once, when the server is created; the server disposes both.
    /// </summary>
    /// <exception cref="Xen.Rings.Host.XenHostException">The kernel's page or port could not be read, mapped or bound.</exception>
    XenStoreKernelConnection? ConnectKernel();

    /// <summary>Whether domain <paramref name="domainId"/> still exists (<c>xc_domain_getinfo</c>).</summary>
    bool DomainExists(uint domainId);
}
