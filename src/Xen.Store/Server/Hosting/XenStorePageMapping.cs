namespace Xen.Store.Server.Hosting;

/// <summary>A guest's mapped xenstore page and what unmaps it.</summary>
/// <param name="Page">The page's bytes (4096).</param>
/// <param name="Owner">Unmaps the page; disposed once, when the domain's connection has ended.</param>
internal readonly record struct XenStorePageMapping(Memory<byte> Page, IDisposable Owner);
