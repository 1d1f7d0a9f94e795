using System.Runtime.InteropServices;

namespace Xen.Rings.Host.Native;

/// <summary>
/// <c>xengnttab.h</c> (libxengnttab.so.1): mapping other domains' grants (<c>/dev/xen/gntdev</c>) and, under the
/// <c>xengntshr_</c> prefix in the same library, granting our own pages (<c>/dev/xen/gntalloc</c>).
/// </summary>
internal static unsafe partial class Gnttab
{
    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengnttab_open", SetLastError = true)]
    public static partial nint Open(nint logger, uint openFlags);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengnttab_close", SetLastError = true)]
    public static partial int Close(nint handle);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengnttab_set_max_grants", SetLastError = true)]
    public static partial int SetMaxGrants(XenHandle handle, uint count);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengnttab_map_grant_ref", SetLastError = true)]
    public static partial nint MapGrantRef(XenHandle handle, uint domid, uint grantRef, int prot);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengnttab_map_domain_grant_refs", SetLastError = true)]
    public static partial nint MapDomainGrantRefs(XenHandle handle, uint count, uint domid, uint* refs, int prot);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengnttab_map_grant_ref_notify", SetLastError = true)]
    public static partial nint MapGrantRefNotify(XenHandle handle, uint domid, uint grantRef, int prot, uint notifyOffset, uint notifyPort);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengnttab_unmap", SetLastError = true)]
    public static partial int Unmap(XenHandle handle, nint address, uint count);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengnttab_grant_copy", SetLastError = true)]
    public static partial int GrantCopy(XenHandle handle, uint count, GrantCopySegmentNative* segments);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengntshr_open", SetLastError = true)]
    public static partial nint ShareOpen(nint logger, uint openFlags);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengntshr_close", SetLastError = true)]
    public static partial int ShareClose(nint handle);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengntshr_share_pages", SetLastError = true)]
    public static partial nint SharePages(XenHandle handle, uint domid, int count, uint* refs, int writable);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengntshr_share_page_notify", SetLastError = true)]
    public static partial nint SharePageNotify(XenHandle handle, uint domid, uint* grantRef, int writable, uint notifyOffset, uint notifyPort);

    [LibraryImport(XenLibrary.Gnttab, EntryPoint = "xengntshr_unshare", SetLastError = true)]
    public static partial int Unshare(XenHandle handle, nint address, uint count);
}

/// <summary>
/// <c>xengnttab_grant_copy_segment_t</c>: two <c>union xengnttab_copy_ptr</c> (a pointer, or
/// <c>{ u32 ref; u16 offset; u16 domid; }</c>), then <c>u16 len</c>, <c>u16 flags</c>, <c>i16 status</c>; 8-byte aligned.
/// </summary>
[StructLayout(LayoutKind.Explicit, Size = 24)]
internal struct GrantCopySegmentNative
{
    public const ushort SourceIsGrant = 1 << 0; // GNTCOPY_source_gref
    public const ushort DestinationIsGrant = 1 << 1; // GNTCOPY_dest_gref

    [FieldOffset(0)] public nint SourceVirtual;
    [FieldOffset(0)] public uint SourceRef;
    [FieldOffset(4)] public ushort SourceOffset;
    [FieldOffset(6)] public ushort SourceDomain;
    [FieldOffset(8)] public nint DestinationVirtual;
    [FieldOffset(8)] public uint DestinationRef;
    [FieldOffset(12)] public ushort DestinationOffset;
    [FieldOffset(14)] public ushort DestinationDomain;
    [FieldOffset(16)] public ushort Length;
    [FieldOffset(18)] public ushort Flags;
    [FieldOffset(20)] public short Status;
}
