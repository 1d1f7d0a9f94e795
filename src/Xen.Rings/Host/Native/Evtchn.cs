using System.Runtime.InteropServices;

namespace Xen.Rings.Host.Native;

/// <summary><c>xenevtchn.h</c> (libxenevtchn.so.1): a handle is an open <c>/dev/xen/evtchn</c>; ports are <c>evtchn_port_t</c> (u32).</summary>
internal static unsafe partial class Evtchn
{
    [LibraryImport(XenLibrary.Evtchn, EntryPoint = "xenevtchn_open", SetLastError = true)]
    public static partial nint Open(nint logger, uint openFlags);

    [LibraryImport(XenLibrary.Evtchn, EntryPoint = "xenevtchn_close", SetLastError = true)]
    public static partial int Close(nint handle);

    [LibraryImport(XenLibrary.Evtchn, EntryPoint = "xenevtchn_fd", SetLastError = true)]
    public static partial int Fd(XenHandle handle);

    [LibraryImport(XenLibrary.Evtchn, EntryPoint = "xenevtchn_notify", SetLastError = true)]
    public static partial int Notify(XenHandle handle, uint port);

    [LibraryImport(XenLibrary.Evtchn, EntryPoint = "xenevtchn_bind_unbound_port", SetLastError = true)]
    public static partial int BindUnboundPort(XenHandle handle, uint domid);

    [LibraryImport(XenLibrary.Evtchn, EntryPoint = "xenevtchn_bind_interdomain", SetLastError = true)]
    public static partial int BindInterdomain(XenHandle handle, uint domid, uint remotePort);

    [LibraryImport(XenLibrary.Evtchn, EntryPoint = "xenevtchn_bind_virq", SetLastError = true)]
    public static partial int BindVirq(XenHandle handle, uint virq);

    [LibraryImport(XenLibrary.Evtchn, EntryPoint = "xenevtchn_unbind", SetLastError = true)]
    public static partial int Unbind(XenHandle handle, uint port);

    [LibraryImport(XenLibrary.Evtchn, EntryPoint = "xenevtchn_pending", SetLastError = true)]
    public static partial int Pending(XenHandle handle);

    [LibraryImport(XenLibrary.Evtchn, EntryPoint = "xenevtchn_unmask", SetLastError = true)]
    public static partial int Unmask(XenHandle handle, uint port);
}
