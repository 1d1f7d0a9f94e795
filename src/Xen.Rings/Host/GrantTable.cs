using System.Buffers;
using Xen.Rings.Host.Native;

namespace Xen.Rings.Host;

/// <summary>
/// Maps pages other domains granted to this one (libxengnttab's <c>xengnttab_*</c>, <c>/dev/xen/gntdev</c>): what a
/// back end (xenstored, a console daemon, a disk backend) does with a guest's ring.
/// </summary>
/// <remarks>
/// Thread-safe. Mappings outlive nothing: disposing the table while mappings are live keeps the library handle open
/// until the last of them is disposed.
/// </remarks>
public sealed unsafe class GrantTable : IDisposable
{
    /// <summary><c>GNTTAB_RESERVED_CONSOLE</c>: the grant ref of every guest's console page.</summary>
    public const uint ReservedConsole = 0;

    /// <summary><c>GNTTAB_RESERVED_XENSTORE</c>: the grant ref of every guest's xenstore page.</summary>
    public const uint ReservedXenStore = 1;

    private readonly XenHandle _handle;

    private GrantTable(XenHandle handle) => _handle = handle;

    /// <summary>Opens the grant table device (<c>xengnttab_open</c>).</summary>
    /// <exception cref="DllNotFoundException">libxengnttab.so.1 is not installed (the message names its package).</exception>
    /// <exception cref="XenHostException">The device could not be opened (no Xen, or not permitted).</exception>
    public static GrantTable Open() =>
        new(XenHandle.Open(XenLibrary.Gnttab, "xengnttab_open", static () => Gnttab.Open(0, 0), Gnttab.Close));

    /// <summary>
    /// Sets how many grants this handle may map at once (<c>xengnttab_set_max_grants</c>; C xenstored asks for one per
    /// possible domain).
    /// </summary>
    /// <exception cref="XenHostException">The device refused.</exception>
    public void SetMaxGrants(uint count)
    {
        if (Gnttab.SetMaxGrants(_handle, count) != 0)
        {
            throw XenHostException.FromLastError($"xengnttab_set_max_grants({count})");
        }
    }

    /// <summary>Maps grant <paramref name="grantRef"/> of domain <paramref name="domainId"/> (<c>xengnttab_map_grant_ref</c>).</summary>
    /// <param name="domainId">The granting domain.</param>
    /// <param name="grantRef">Its grant reference (<see cref="ReservedXenStore"/>, <see cref="ReservedConsole"/>, or one it advertised).</param>
    /// <param name="writable">Map read-write (the default) or read-only.</param>
    /// <returns>One page; dispose it to unmap.</returns>
    /// <exception cref="XenHostException">The grant could not be mapped (a bad domid or ref, a grant not made to us).</exception>
    /// <exception cref="ObjectDisposedException">The table was disposed.</exception>
    public MappedPages MapGrantRef(uint domainId, uint grantRef, bool writable = true)
    {
        nint address = Gnttab.MapGrantRef(_handle, domainId, grantRef, Prot(writable));
        return address == 0
            ? throw XenHostException.FromLastError($"xengnttab_map_grant_ref(domain {domainId}, ref {grantRef})")
            : Mapping(address, 1, domainId);
    }

    /// <summary>
    /// Maps grants <paramref name="grantRefs"/> of domain <paramref name="domainId"/> as one contiguous range, in order
    /// (<c>xengnttab_map_domain_grant_refs</c>): a multi-page ring.
    /// </summary>
    /// <exception cref="ArgumentException">No refs were given.</exception>
    /// <exception cref="XenHostException">A grant could not be mapped (then none is).</exception>
    /// <exception cref="ObjectDisposedException">The table was disposed.</exception>
    public MappedPages MapGrantRefs(uint domainId, ReadOnlySpan<uint> grantRefs, bool writable = true)
    {
        if (grantRefs.IsEmpty)
        {
            throw new ArgumentException("At least one grant ref is needed.", nameof(grantRefs));
        }

        nint address;
        fixed (uint* refs = grantRefs)
        {
            address = Gnttab.MapDomainGrantRefs(_handle, (uint)grantRefs.Length, domainId, refs, Prot(writable));
        }

        return address == 0
            ? throw XenHostException.FromLastError($"xengnttab_map_domain_grant_refs(domain {domainId}, {grantRefs.Length} refs from {grantRefs[0]})")
            : Mapping(address, grantRefs.Length, domainId);
    }

    /// <summary>
    /// Maps one grant with an unmap notification (<c>xengnttab_map_grant_ref_notify</c>): when the mapping goes away,
    /// even because this process died, the byte at <paramref name="notifyOffset"/> is cleared and/or
    /// <paramref name="notifyPort"/> (a local event channel port) is notified, so the granting domain learns that its
    /// peer is gone (vchan does this).
    /// </summary>
    /// <param name="domainId">The granting domain.</param>
    /// <param name="grantRef">The grant.</param>
    /// <param name="notifyOffset">The byte to clear, or null for none.</param>
    /// <param name="notifyPort">The local port to notify, or null for none.</param>
    /// <param name="writable">Map read-write (the default) or read-only.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="notifyOffset"/> is not within the page.</exception>
    /// <exception cref="XenHostException">The grant could not be mapped.</exception>
    /// <exception cref="ObjectDisposedException">The table was disposed.</exception>
    public MappedPages MapGrantRefNotify(uint domainId, uint grantRef, uint? notifyOffset, uint? notifyPort, bool writable = true)
    {
        if (notifyOffset is uint offset)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(offset, (uint)MappedPages.PageSize, nameof(notifyOffset));
        }

        // No byte: an offset past the page; no port: -1 (what libxenvchan passes).
        nint address = Gnttab.MapGrantRefNotify(_handle, domainId, grantRef, Prot(writable),
            notifyOffset ?? uint.MaxValue, notifyPort ?? uint.MaxValue);
        return address == 0
            ? throw XenHostException.FromLastError($"xengnttab_map_grant_ref_notify(domain {domainId}, ref {grantRef})")
            : Mapping(address, 1, domainId);
    }

    /// <summary>
    /// Copies between local memory and other domains' grants without mapping them (<c>xengnttab_grant_copy</c>). Each
    /// segment's <see cref="GrantCopySegment.Status"/> says how it went; the call itself throws only when the device
    /// refused the whole batch.
    /// </summary>
    /// <exception cref="XenHostException">The batch was refused.</exception>
    /// <exception cref="ObjectDisposedException">The table was disposed.</exception>
    public void GrantCopy(Span<GrantCopySegment> segments)
    {
        if (segments.IsEmpty)
        {
            return;
        }

        // Pooled, not allocated: a disk backend copies every request's segments this way.
        GrantCopySegmentNative[] native = ArrayPool<GrantCopySegmentNative>.Shared.Rent(segments.Length);
        MemoryHandle[] pins = ArrayPool<MemoryHandle>.Shared.Rent(segments.Length);
        int pinned = 0;
        try
        {
            for (int i = 0; i < segments.Length; i++)
            {
                native[i] = segments[i].ToNative(out pins[i]);
                pinned++;
            }

            int rc;
            fixed (GrantCopySegmentNative* p = native)
            {
                rc = Gnttab.GrantCopy(_handle, (uint)segments.Length, p);
            }

            if (rc != 0)
            {
                throw XenHostException.FromLastError($"xengnttab_grant_copy({segments.Length} segments)");
            }

            for (int i = 0; i < segments.Length; i++)
            {
                segments[i].Status = (GrantCopyStatus)native[i].Status;
            }
        }
        finally
        {
            for (int i = 0; i < pinned; i++)
            {
                pins[i].Dispose();
            }

            ArrayPool<MemoryHandle>.Shared.Return(pins, clearArray: true);
            ArrayPool<GrantCopySegmentNative>.Shared.Return(native);
        }
    }

    /// <summary>Closes the handle once every mapping made through it is unmapped.</summary>
    public void Dispose() => _handle.Dispose();

    private MappedPages Mapping(nint address, int pageCount, uint domainId) =>
        new(_handle, address, pageCount, domainId, [], static (h, a, n) => Gnttab.Unmap(h!, a, (uint)n));

    private static int Prot(bool writable) => writable ? LibC.ProtRead | LibC.ProtWrite : LibC.ProtRead;
}
