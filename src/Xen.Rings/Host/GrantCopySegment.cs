using System.Buffers;
using Xen.Rings.Host.Native;

namespace Xen.Rings.Host;

/// <summary>
/// One copy of <see cref="GrantTable.GrantCopy"/>: between <see cref="Local"/> and <see cref="Length"/> bytes at
/// <see cref="Offset"/> in grant <see cref="GrantRef"/> of <see cref="DomainId"/>, in the direction <see cref="ToGrant"/>
/// says. A copy may not cross a page boundary of the grant.
/// </summary>
public struct GrantCopySegment
{
    /// <summary>Creates a copy from <paramref name="local"/> into the grant (<paramref name="toGrant"/> true) or from the grant into it.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The range does not fit in one page of the grant.</exception>
    public GrantCopySegment(Memory<byte> local, uint domainId, uint grantRef, ushort offset, bool toGrant)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(offset + local.Length, MappedPages.PageSize, nameof(local));
        Local = local;
        DomainId = domainId;
        GrantRef = grantRef;
        Offset = offset;
        ToGrant = toGrant;
    }

    /// <summary>The local buffer (pinned for the call).</summary>
    public Memory<byte> Local { get; }

    /// <summary>The domain that granted the page.</summary>
    public uint DomainId { get; }

    /// <summary>The grant reference.</summary>
    public uint GrantRef { get; }

    /// <summary>The byte offset within the granted page.</summary>
    public ushort Offset { get; }

    /// <summary>True: local → grant (<c>GNTCOPY_dest_gref</c>); false: grant → local (<c>GNTCOPY_source_gref</c>).</summary>
    public bool ToGrant { get; }

    /// <summary>How many bytes (the length of <see cref="Local"/>).</summary>
    public readonly int Length => Local.Length;

    /// <summary>The outcome, set by <see cref="GrantTable.GrantCopy"/>.</summary>
    public GrantCopyStatus Status { get; internal set; }

    internal readonly unsafe GrantCopySegmentNative ToNative(out MemoryHandle pin)
    {
        pin = Local.Pin();
        var native = new GrantCopySegmentNative { Length = (ushort)Local.Length };
        if (ToGrant)
        {
            native.SourceVirtual = (nint)pin.Pointer;
            native.DestinationRef = GrantRef;
            native.DestinationOffset = Offset;
            native.DestinationDomain = checked((ushort)DomainId);
            native.Flags = GrantCopySegmentNative.DestinationIsGrant;
        }
        else
        {
            native.SourceRef = GrantRef;
            native.SourceOffset = Offset;
            native.SourceDomain = checked((ushort)DomainId);
            native.DestinationVirtual = (nint)pin.Pointer;
            native.Flags = GrantCopySegmentNative.SourceIsGrant;
        }

        return native;
    }
}
