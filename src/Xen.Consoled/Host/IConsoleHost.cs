using System.Buffers;
using Xen.Rings.Host;

namespace Xen.Consoled.Host;

/// <summary>
/// Everything the console daemon needs from the hypervisor, as xenconsoled gets it from libxenctrl (the domain list),
/// libxengnttab / libxenforeignmemory (the console page) and libxenevtchn (its event channel).
/// </summary>
internal interface IConsoleHost : IDisposable
{
    /// <summary>Every domain but dom0, with its flags (<c>xc_domain_getinfolist</c> from domain 1).</summary>
    IReadOnlyList<DomainInfo> ListDomains();

    /// <summary>
    /// Maps domain <paramref name="domainId"/>'s console page: its reserved grant 0 (<c>GNTTAB_RESERVED_CONSOLE</c>) when
    /// grant tables work, else frame <paramref name="ringRef"/> (<c>console/ring-ref</c>) as foreign memory.
    /// </summary>
    /// <returns>The page, and whether it came from grant 0 (else from the frame, to be remapped when <c>ring-ref</c> changes).</returns>
    /// <exception cref="XenHostException">Neither could be mapped.</exception>
    (MemoryManager<byte> Page, bool FromGrant) MapConsolePage(uint domainId, uint ringRef);

    /// <summary>Maps grant <paramref name="grantRef"/> of domain <paramref name="domainId"/> (a secondary console's page).</summary>
    /// <exception cref="XenHostException">It could not be mapped.</exception>
    MemoryManager<byte> MapGrant(uint domainId, uint grantRef);

    /// <summary>Binds the daemon's end of the console's event channel (<c>xenevtchn_bind_interdomain</c>).</summary>
    /// <exception cref="XenHostException">The bind failed.</exception>
    IConsoleChannel BindInterdomain(uint domainId, uint remotePort);
}
