using Xen.Rings.Events;
using Xen.Rings.Host;

namespace Xen.Store.Server.Hosting;

/// <summary>
/// The hypervisor of a real Xen host, reached the way C xenstored reaches it: libxenctrl for domain info, libxengnttab
/// for each guest's xenstore page (grant ref <c>GNTTAB_RESERVED_XENSTORE</c>), libxenevtchn for the guests' channels
/// and VIRQ_DOM_EXC, and the kernel's <c>/proc/xen/xsd_kva</c> and <c>/proc/xen/xsd_port</c> for dom0's own
/// connection. Where the grant mapping fails, the guest's page is mapped by frame number with libxenforeignmemory (as
/// oxenstored maps every guest); when neither works, INTRODUCE answers the grant mapping's errno, as C xenstored does.
/// </summary>
/// <remarks>
/// Under the LD_PRELOAD stand-in hypervisor of a machine without Xen, the same calls reach the stand-in, exactly as
/// for C xenstored. One instance serves one server; dispose it after the server (mappings and ports made through it
/// keep their library handles open until they are themselves released).
/// </remarks>
internal sealed class NativeXenStoreHost : IXenStoreHost, IDisposable
{
    /// <summary>
    /// <c>DOMID_FIRST_RESERVED</c>: one grant mapping per possible domain, the limit C xenstored sets on its grant handle.
    /// </summary>
    private const uint DomidFirstReserved = 0x7FF0;

    private readonly XenControl _control;
    private readonly GrantTable? _grants;
    private readonly ForeignMemory? _foreign;
    private readonly EventChannels _events;

    private NativeXenStoreHost(XenControl control, GrantTable? grants, ForeignMemory? foreign, EventChannels events)
    {
        _control = control;
        _grants = grants;
        _foreign = foreign;
        _events = events;
    }

    /// <summary>
    /// Opens the hypervisor interfaces in C xenstored's order. Either page mapper may be missing (the other is then used
    /// alone), not both.
    /// </summary>
    /// <exception cref="XenHostException">An interface could not be opened; <see cref="XenHostException.Call"/> names it.</exception>
    /// <exception cref="DllNotFoundException">One of Xen's libraries is not installed (the message names its package).</exception>
    public static NativeXenStoreHost Open()
    {
        var opened = new List<IDisposable>();
        try
        {
            XenControl control = Track(opened, XenControl.Open());
            GrantTable? grants = TryOpen(opened, GrantTable.Open, out XenHostException? grantError);
            grants?.SetMaxGrants(DomidFirstReserved);
            ForeignMemory? foreign = TryOpen(opened, ForeignMemory.Open, out _); // only the fallback while grants map
            if (grants is null && foreign is null)
            {
                throw grantError!;
            }

            EventChannels events = Track(opened, EventChannels.Open());
            return new NativeXenStoreHost(control, grants, foreign, events);
        }
        catch
        {
            foreach (IDisposable d in opened)
            {
                d.Dispose();
            }

            throw;
        }
    }

    public XenStorePageMapping MapXenStorePage(uint domainId, ulong gfn)
    {
        XenHostException? grantError = null;
        if (_grants is not null)
        {
            try
            {
                return Owned(_grants.MapGrantRef(domainId, GrantTable.ReservedXenStore));
            }
            catch (XenHostException e)
            {
                grantError = e;
            }
        }

        if (_foreign is not null)
        {
            try
            {
                return Owned(_foreign.Map(domainId, [gfn]));
            }
            catch (XenHostException) when (grantError is not null)
            {
                // Neither mapping worked: answer the grant mapping's error, the one C xenstored answers.
            }
        }

        throw grantError!;
    }

    public IEventChannel BindInterdomain(uint domainId, uint remotePort) => _events.BindInterdomain(domainId, remotePort);

    public IEventChannel? BindDomainException() => _events.BindVirq(EventChannels.VirqDomainException);

    public XenStoreKernelConnection? ConnectKernel()
    {
        uint port = XenBusBackend.ReadPort();
        MappedPages page = XenBusBackend.MapInterface();
        try
        {
            return new XenStoreKernelConnection(Owned(page), _events.BindInterdomain(0, port));
        }
        catch
        {
            ((IDisposable)page).Dispose();
            throw;
        }
    }

    /// <summary>
    /// Whether the domain exists and is not dying (<c>xc_domain_getinfolist</c> from its domid, which answers the next
    /// domain when it is gone), C xenstored's test before it releases a domain.
    /// </summary>
    public bool DomainExists(uint domainId) => _control.TryGetDomainInfo(domainId, out DomainInfo info) && !info.IsDying;

    public void Dispose()
    {
        _events.Dispose();
        _foreign?.Dispose();
        _grants?.Dispose();
        _control.Dispose();
    }

    private static XenStorePageMapping Owned(MappedPages pages) => new(pages.Memory, pages);

    private static T Track<T>(List<IDisposable> opened, T handle)
        where T : IDisposable
    {
        opened.Add(handle);
        return handle;
    }

    private static T? TryOpen<T>(List<IDisposable> opened, Func<T> open, out XenHostException? error)
        where T : class, IDisposable
    {
        try
        {
            error = null;
            return Track(opened, open());
        }
        catch (XenHostException e)
        {
            error = e;
            return null;
        }
    }
}
