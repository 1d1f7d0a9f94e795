using System.Runtime.InteropServices;

namespace Xen.Rings.Host.Native;

/// <summary>The little of <c>xenctrl.h</c> (libxenctrl.so.4.17) a daemon needs: open, close, and the domain list.</summary>
internal static unsafe partial class XenCtrl
{
    /// <summary>
    /// <c>sizeof(xc_domaininfo_t)</c> (<c>struct xen_domctl_getdomaininfo</c>, domctl interface 0x15, x86-64): the
    /// stride of the list <c>xc_domain_getinfolist</c> writes. Checked against the header by a compiled C program.
    /// </summary>
    public const int DomainInfoSize = 112;

    /// <summary>
    /// Slack after the last entry, so that a libxenctrl whose struct grew writes into our buffer, not past it.
    /// </summary>
    public const int DomainInfoSlack = 256;

    /// <summary><c>xen_domctl_getdomaininfo.domain</c>: a <c>domid_t</c> (u16) at offset 0.</summary>
    public const int DomainInfoDomainOffset = 0;

    /// <summary><c>xen_domctl_getdomaininfo.flags</c>: u32 XEN_DOMINF_* at offset 4.</summary>
    public const int DomainInfoFlagsOffset = 4;

    [LibraryImport(XenLibrary.Ctrl, EntryPoint = "xc_interface_open", SetLastError = true)]
    public static partial nint InterfaceOpen(nint logger, nint domctlLogger, uint openFlags);

    [LibraryImport(XenLibrary.Ctrl, EntryPoint = "xc_interface_close", SetLastError = true)]
    public static partial int InterfaceClose(nint handle);

    [LibraryImport(XenLibrary.Ctrl, EntryPoint = "xc_domain_getinfolist", SetLastError = true)]
    public static partial int DomainGetInfoList(XenHandle handle, uint firstDomain, uint maxDomains, byte* info);
}
