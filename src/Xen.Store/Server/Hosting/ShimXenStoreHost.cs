using System.Globalization;
using Xen.Rings.Events;
using Xen.Rings.Memory;
using Xen.Rings.Shim;

namespace Xen.Store.Server.Hosting;

/// <summary>
/// The stand-in hypervisor of a machine without Xen (the <c>../shared/peers</c> LD_PRELOAD shim, under which the real
/// xenstored, oxenstored, xenconsoled and QEMU run), all in one state directory: domain D's xenstore page is the file
/// <c>xs-ring-D</c>; its event channel with guest port P takes kicks on <c>port-D-P</c> and notifies through
/// <c>domD.evtchn</c>; VIRQ_DOM_EXC arrives on <c>virq-3</c>; and D is gone once <c>dead-D</c> exists or, when a
/// <c>domains</c> folder exists, once <c>domains/D</c> does not.
/// </summary>
/// <param name="stateDirectory">The shim's state directory (short: Unix socket paths there must fit in 108 bytes).</param>
internal sealed class ShimXenStoreHost(string stateDirectory) : IXenStoreHost
{
    /// <summary>The shim's state directory.</summary>
    public string StateDirectory { get; } = stateDirectory;

    public XenStorePageMapping MapXenStorePage(uint domainId, ulong gfn)
    {
        SharedPage page = SharedPage.MapFile(Path.Combine(StateDirectory, $"xs-ring-{domainId}"), SharedPage.PageSize, create: true);
        return new XenStorePageMapping(page.Memory, page);
    }

    public IEventChannel BindInterdomain(uint domainId, uint remotePort) =>
        ShimEventChannels.BindBackend(StateDirectory, domainId, remotePort);

    public IEventChannel? BindDomainException() =>
        ShimEventChannels.BindVirq(StateDirectory, ShimEventChannels.VirqDomainException);

    /// <summary>None: the file convention has no kernel connection (domain 0 talks over the socket).</summary>
    public XenStoreKernelConnection? ConnectKernel() => null;

    public bool DomainExists(uint domainId)
    {
        string domains = Path.Combine(StateDirectory, "domains");
        return Directory.Exists(domains)
            ? File.Exists(Path.Combine(domains, domainId.ToString(CultureInfo.InvariantCulture)))
            : !File.Exists(Path.Combine(StateDirectory, $"dead-{domainId}"));
    }
}
