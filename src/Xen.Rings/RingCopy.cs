using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;

namespace Xen.Rings;

/// <summary>
/// The block copy between a caller's buffer and a ring's data area, inlined into the ring's copying calls.
/// </summary>
/// <remarks>
/// Why not just <c>Unsafe.CopyBlockUnaligned</c>: that calls the runtime's general <c>Memmove</c>, which first
/// checks for overlap and dispatches on the size class; a ring copy moves a few hundred bytes to a few KiB
/// between buffers that do not overlap, and half of the copies (the wrap) are of a length that changes from
/// call to call. An inlined loop of four 32-byte vectors with an overlapping last block took a console chunk
/// (write plus read of 1 KiB through the 2 KiB <c>out[]</c> ring) from 23.2 to 19.8 ns on the machine in
/// benchmarks/README.md, within 1 ns of two plain copies with no ring. Copies shorter than the loop's block, or on hardware without 256-bit vectors, go to
/// the runtime's copy. Every access is within <c>[0, byteCount)</c> of both references, whatever the length;
/// bytes near the end may be read twice, which is harmless because the caller validates what it copied, not
/// what it read twice. The two regions must not overlap.
/// </remarks>
internal static class RingCopy
{
    private const int BlockBytes = 4 * 32;

    /// <summary>Copies <paramref name="byteCount"/> bytes from <paramref name="source"/> to <paramref name="destination"/>.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public static void Copy(ref byte destination, ref byte source, uint byteCount)
    {
        if (Vector256.IsHardwareAccelerated && byteCount >= BlockBytes)
        {
            nuint last = byteCount - (nuint)BlockBytes;
            for (nuint i = 0; i < last; i += BlockBytes)
            {
                CopyBlock(ref destination, ref source, i);
            }

            CopyBlock(ref destination, ref source, last);
        }
        else
        {
            Unsafe.CopyBlockUnaligned(ref destination, ref source, byteCount);
        }
    }

    /// <summary>128 bytes at <paramref name="offset"/>: all four loads before the stores.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void CopyBlock(ref byte destination, ref byte source, nuint offset)
    {
        Vector256<byte> a = Vector256.LoadUnsafe(ref source, offset);
        Vector256<byte> b = Vector256.LoadUnsafe(ref source, offset + 32);
        Vector256<byte> c = Vector256.LoadUnsafe(ref source, offset + 64);
        Vector256<byte> d = Vector256.LoadUnsafe(ref source, offset + 96);
        a.StoreUnsafe(ref destination, offset);
        b.StoreUnsafe(ref destination, offset + 32);
        c.StoreUnsafe(ref destination, offset + 64);
        d.StoreUnsafe(ref destination, offset + 96);
    }
}
