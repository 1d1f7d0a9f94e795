using System.Buffers;
using Xen.Rings.Host;

namespace Xen.Consoled.Host;

/// <summary>The console daemon's host on Xen's tool libraries (or the LD_PRELOAD stand-in for them).</summary>
internal sealed class NativeConsoleHost : IConsoleHost
{
    private readonly XenControl _control;
    private readonly GrantTable? _grants;
    private readonly ForeignMemory _foreign;

    private NativeConsoleHost(XenControl control, GrantTable? grants, ForeignMemory foreign)
    {
        _control = control;
        _grants = grants;
        _foreign = foreign;
    }

    /// <summary>Opens the libraries; a grant device that will not open leaves foreign mapping (as xenconsoled does).</summary>
    /// <exception cref="XenHostException">xenctrl, foreign memory or event channels could not be opened.</exception>
    /// <exception cref="DllNotFoundException">Xen's tool libraries are not installed.</exception>
    public static NativeConsoleHost Open()
    {
        var undo = new List<IDisposable>();
        try
        {
            XenControl control = Keep(undo, XenControl.Open());
            GrantTable? grants;
            try
            {
                grants = Keep(undo, GrantTable.Open());
            }
            catch (XenHostException)
            {
                grants = null;
            }

            ForeignMemory foreign = Keep(undo, ForeignMemory.Open());
            return new NativeConsoleHost(control, grants, foreign);
        }
        catch
        {
            foreach (IDisposable item in undo)
            {
                item.Dispose();
            }

            throw;
        }
    }

    public IReadOnlyList<DomainInfo> ListDomains() => _control.GetDomains(firstDomainId: 1);

    public (MemoryManager<byte> Page, bool FromGrant) MapConsolePage(uint domainId, uint ringRef)
    {
        if (_grants is not null)
        {
            try
            {
                return (_grants.MapGrantRef(domainId, GrantTable.ReservedConsole), true);
            }
            catch (XenHostException)
            {
                // No grant 0 (an old guest, or no grant table): the frame number, as xenconsoled falls back to.
            }
        }

        return (_foreign.Map(domainId, [ringRef]), false);
    }

    public MemoryManager<byte> MapGrant(uint domainId, uint grantRef) =>
        (_grants ?? throw new XenHostException("xengnttab_open", 19 /* ENODEV */)).MapGrantRef(domainId, grantRef);

    /// <summary>
    /// Binds the port on an event channel handle of its own, as xenconsoled does: one guest's events then never queue
    /// behind another's (a shared handle is one queue of pending ports, which the LD_PRELOAD stand-in can overflow).
    /// Every handle is waited on by the same poller thread, so this costs a descriptor per console, not a thread.
    /// </summary>
    public IConsoleChannel BindInterdomain(uint domainId, uint remotePort)
    {
        EventChannels handle = EventChannels.Open();
        try
        {
            return new OwnPort(handle, handle.BindInterdomain(domainId, remotePort));
        }
        catch
        {
            handle.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        _foreign.Dispose();
        _grants?.Dispose();
        _control.Dispose();
    }

    private static T Keep<T>(List<IDisposable> undo, T item)
        where T : IDisposable
    {
        undo.Add(item);
        return item;
    }

    /// <summary>A port and the handle it alone is bound on: disposing unbinds it and closes the handle.</summary>
    private sealed class OwnPort(EventChannels handle, EventChannelPort port) : IConsoleChannel
    {
        public void Notify() => port.Notify();

        public void SetEventHandler(Action? handler) => port.SetEventHandler(handler);

        public void Dispose()
        {
            port.Dispose();
            handle.Dispose();
        }
    }
}
