using System.Runtime.CompilerServices;

namespace Xen.Rings.Blkif;

/// <summary><c>indirect_grefs[BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST]</c>: the grant references of the pages holding the segments.</summary>
[InlineArray(BlkifConstants.MaxIndirectPagesPerRequest)]
#pragma warning disable CA1815 // an inline array has no meaningful equality
public struct BlkifIndirectGrefs
#pragma warning restore CA1815
{
    private uint _element0;
}
