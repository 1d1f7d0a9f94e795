using Xen.Rings.Host.Native;

namespace Xen.Rings.Host;

/// <summary>
/// Grants pages of this domain to another (libxengnttab's <c>xengntshr_*</c>, <c>/dev/xen/gntalloc</c>): the guest or
/// front-end side of a ring, which allocates the ring page and tells its peer the grant reference.
/// </summary>
/// <remarks>Thread-safe. Disposing it while shares are live keeps the library handle open until the last is unshared.</remarks>
public sealed unsafe class GrantSharer : IDisposable
{
    private readonly XenHandle _handle;

    private GrantSharer(XenHandle handle) => _handle = handle;

    /// <summary>Opens the grant allocation device (<c>xengntshr_open</c>).</summary>
    /// <exception cref="DllNotFoundException">libxengnttab.so.1 is not installed (the message names its package).</exception>
    /// <exception cref="XenHostException">The device could not be opened (no Xen, or not permitted).</exception>
    public static GrantSharer Open() =>
        new(XenHandle.Open(XenLibrary.Gnttab, "xengntshr_open", static () => Gnttab.ShareOpen(0, 0), Gnttab.ShareClose));

    /// <summary>
    /// Allocates <paramref name="pageCount"/> zeroed pages and grants them to domain <paramref name="domainId"/>
    /// (<c>xengntshr_share_pages</c>); <see cref="MappedPages.GrantRefs"/> has their refs. Dispose to unshare.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="pageCount"/> is not positive.</exception>
    /// <exception cref="XenHostException">The pages could not be granted.</exception>
    /// <exception cref="ObjectDisposedException">The sharer was disposed.</exception>
    public MappedPages SharePages(uint domainId, int pageCount, bool writable = true)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(pageCount);
        uint[] refs = new uint[pageCount];
        nint address;
        fixed (uint* p = refs)
        {
            address = Gnttab.SharePages(_handle, domainId, pageCount, p, writable ? 1 : 0);
        }

        return address == 0
            ? throw XenHostException.FromLastError($"xengntshr_share_pages(domain {domainId}, {pageCount} pages)")
            : Sharing(address, pageCount, domainId, refs);
    }

    /// <summary>
    /// Grants one zeroed page to domain <paramref name="domainId"/> with an unshare notification
    /// (<c>xengntshr_share_page_notify</c>): when the share ends, even because this process died, the byte at
    /// <paramref name="notifyOffset"/> is cleared and/or local port <paramref name="notifyPort"/> is notified.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="notifyOffset"/> is not within the page.</exception>
    /// <exception cref="XenHostException">The page could not be granted.</exception>
    /// <exception cref="ObjectDisposedException">The sharer was disposed.</exception>
    public MappedPages SharePageNotify(uint domainId, uint? notifyOffset, uint? notifyPort, bool writable = true)
    {
        if (notifyOffset is uint offset)
        {
            ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual(offset, (uint)MappedPages.PageSize, nameof(notifyOffset));
        }

        uint grantRef;
        nint address = Gnttab.SharePageNotify(_handle, domainId, &grantRef, writable ? 1 : 0,
            notifyOffset ?? uint.MaxValue, notifyPort ?? uint.MaxValue);
        return address == 0
            ? throw XenHostException.FromLastError($"xengntshr_share_page_notify(domain {domainId})")
            : Sharing(address, 1, domainId, [grantRef]);
    }

    /// <summary>Closes the handle once every share made through it has ended.</summary>
    public void Dispose() => _handle.Dispose();

    private MappedPages Sharing(nint address, int pageCount, uint domainId, uint[] refs) =>
        new(_handle, address, pageCount, domainId, refs, static (h, a, n) => Gnttab.Unshare(h!, a, (uint)n));
}
