using Xen.Rings.Events;

namespace Xen.Store.Server.Hosting;

/// <summary>Domain 0's own xenstore connection to the kernel: its mapped page and the bound event channel.</summary>
/// <param name="Page">The kernel's xenstore page (<c>/proc/xen/xsd_kva</c>) and what unmaps it.</param>
/// <param name="Channel">The channel bound to the kernel's port (<c>/proc/xen/xsd_port</c>).</param>
internal readonly record struct XenStoreKernelConnection(XenStorePageMapping Page, IEventChannel Channel);
