using System.Runtime.CompilerServices;

namespace Xen.Rings.Blkif;

/// <summary><c>seg[BLKIF_MAX_SEGMENTS_PER_REQUEST]</c>: the 11 inline segments of a request (index it like an array).</summary>
[InlineArray(BlkifConstants.MaxSegmentsPerRequest)]
#pragma warning disable CA1815 // an inline array has no meaningful equality
public struct BlkifSegments
#pragma warning restore CA1815
{
    private BlkifRequestSegment _element0;
}
