using System.Buffers;
using Xen.Rings.Host.Native;

namespace Xen.Rings.Host;

/// <summary>
/// Pages of shared memory that Xen mapped into this process: another domain's grants (<see cref="GrantTable"/>), its
/// frames (<see cref="ForeignMemory"/>), or our own pages granted to it (<see cref="GrantSharer"/>). As a
/// <see cref="MemoryManager{T}"/> its <see cref="MemoryManager{T}.Memory"/> is what every ring view takes, so a
/// console, xenstore or blkif ring works on a real mapping unchanged.
/// </summary>
/// <remarks>
/// Dispose it to unmap. The memory is gone after that: stop every ring over it first (the peer may still write it
/// until then; a ring view treats its contents as hostile either way). <see cref="MemoryManager{T}.GetSpan"/> after
/// disposal throws <see cref="ObjectDisposedException"/>. Pinning is free: the pages never move.
/// </remarks>
public sealed unsafe class MappedPages : MemoryManager<byte>
{
    /// <summary>The size of one page, in bytes.</summary>
    public const int PageSize = 4096;

    private readonly XenHandle? _owner;
    private readonly Func<XenHandle?, nint, int, int> _unmap;
    private readonly uint[] _grantRefs;
    private nint _address;
    private int _ownerReferenced;

    /// <summary>Takes ownership of a mapping: <paramref name="unmap"/> is called once, on disposal.</summary>
    /// <param name="owner">The library handle that mapped (kept open until the unmap); null for a plain <c>mmap</c>.</param>
    /// <param name="address">The first byte.</param>
    /// <param name="pageCount">How many pages.</param>
    /// <param name="domainId">The other domain.</param>
    /// <param name="grantRefs">The refs of pages this process granted, else empty.</param>
    /// <param name="unmap">Unmaps (owner, address, page count); its result is ignored.</param>
    internal MappedPages(XenHandle? owner, nint address, int pageCount, uint domainId, uint[] grantRefs, Func<XenHandle?, nint, int, int> unmap)
    {
        _owner = owner;
        _address = address;
        PageCount = pageCount;
        DomainId = domainId;
        _grantRefs = grantRefs;
        _unmap = unmap;
        bool added = false;
        owner?.DangerousAddRef(ref added); // the library handle that mapped must outlive the mapping
        _ownerReferenced = added ? 1 : 0;
    }

    /// <summary>How many pages are mapped.</summary>
    public int PageCount { get; }

    /// <summary>The mapping's size in bytes (<see cref="PageCount"/> × 4096).</summary>
    public int ByteCount => PageCount * PageSize;

    /// <summary>The other domain: the one whose grants or frames these are, or the one these pages are granted to.</summary>
    public uint DomainId { get; }

    /// <summary>
    /// For pages this process granted (<see cref="GrantSharer"/>): the grant reference of each page, to advertise to the
    /// other domain (in xenstore, say). Empty for mappings of another domain's memory.
    /// </summary>
    public ReadOnlySpan<uint> GrantRefs => _grantRefs;

    /// <summary>The address of the first byte (for native code that wants the raw pointer).</summary>
    /// <exception cref="ObjectDisposedException">The pages were unmapped.</exception>
    public nint Address
    {
        get
        {
            ObjectDisposedException.ThrowIf(_address == 0, this);
            return _address;
        }
    }

    /// <inheritdoc/>
    public override Span<byte> GetSpan() => new((void*)Address, ByteCount);

    /// <inheritdoc/>
    public override MemoryHandle Pin(int elementIndex = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(elementIndex);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(elementIndex, ByteCount);
        return new MemoryHandle((byte*)Address + elementIndex);
    }

    /// <inheritdoc/>
    public override void Unpin()
    {
    }

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        nint address = Interlocked.Exchange(ref _address, 0);
        if (address == 0)
        {
            return;
        }

        // An unmap that fails leaves the pages mapped; nothing here can repair that, and the mapping is unusable to us
        // either way, so it is not an exception from Dispose.
        _ = _unmap(_owner, address, PageCount);
        if (Interlocked.Exchange(ref _ownerReferenced, 0) == 1)
        {
            _owner!.DangerousRelease();
        }
    }
}
