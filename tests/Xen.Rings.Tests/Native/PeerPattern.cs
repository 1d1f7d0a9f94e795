using Xen.Rings.Blkif;

namespace Xen.Rings.Tests.Native;

/// <summary>
/// The deterministic data both ends of a ring-peer test derive from a seed; the same definitions as the comment at
/// the top of <c>tests/native/xen_ring_peer.c</c>, so each side can check every byte and field the other sent.
/// </summary>
internal static class PeerPattern
{
    private const ulong Golden = 0x9E3779B97F4A7C15UL;

    private static readonly BlkifOperation[] Operations =
        [BlkifOperation.Read, BlkifOperation.Write, BlkifOperation.WriteBarrier, BlkifOperation.FlushDiskCache];

    /// <summary>splitmix64: advances <paramref name="state"/> and returns the next output.</summary>
    public static ulong SplitMix64(ref ulong state)
    {
        unchecked
        {
            ulong z = state += Golden;
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }

    /// <summary>FNV-1a (32-bit) over <paramref name="data"/>, continuing from <paramref name="hash"/>.</summary>
    public static uint Fnv1a(uint hash, ReadOnlySpan<byte> data)
    {
        foreach (byte b in data)
        {
            hash = unchecked((hash ^ b) * 16777619u);
        }

        return hash;
    }

    /// <summary>The FNV-1a starting value.</summary>
    public const uint FnvOffsetBasis = 2166136261u;

    /// <summary>Request <paramref name="sequence"/> (0-based) of the blkif pattern <paramref name="seed"/>.</summary>
    public static BlkifRequest Request(ulong seed, uint sequence)
    {
        ulong s = seed ^ unchecked(Golden * ((ulong)sequence + 1));
        ulong r0 = SplitMix64(ref s);
        var request = new BlkifRequest
        {
            Operation = Operations[(int)(r0 & 3)],
            SegmentCount = (byte)(1 + ((r0 >> 8) % BlkifConstants.MaxSegmentsPerRequest)),
            Handle = (ushort)(r0 >> 16),
            Id = SplitMix64(ref s),
            SectorNumber = SplitMix64(ref s),
        };
        for (int k = 0; k < request.SegmentCount; k++)
        {
            ulong r = SplitMix64(ref s);
            byte first = (byte)((r >> 32) & 7);
            request.Segments[k] = new BlkifRequestSegment((uint)r, first, (byte)(first + ((r >> 40) % (8u - first))));
        }

        return request;
    }

    /// <summary>The status a back end answers <paramref name="request"/> with.</summary>
    public static BlkifStatus StatusFor(in BlkifRequest request) =>
        request.Operation == BlkifOperation.WriteBarrier ? BlkifStatus.NotSupported
        : request.SectorNumber % 16 == 0 ? BlkifStatus.Error
        : BlkifStatus.Okay;

    /// <summary>Every field of a request, all 11 segments included, for comparing two requests in one assertion.</summary>
    public static string Describe(in BlkifRequest request)
    {
        var segments = new string[BlkifConstants.MaxSegmentsPerRequest];
        for (int k = 0; k < segments.Length; k++)
        {
            segments[k] = request.Segments[k].ToString();
        }

        return $"op={request.Operation} nr_segments={request.SegmentCount} handle={request.Handle} id={request.Id:x16} " +
            $"sector={request.SectorNumber:x16} seg=[{string.Join("; ", segments)}]";
    }
}
