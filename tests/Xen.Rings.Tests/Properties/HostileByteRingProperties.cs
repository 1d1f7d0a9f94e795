using System.Buffers.Binary;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Fluent;
using Xen.Rings.Console;
using Xen.Rings.XenStore;

namespace Xen.Rings.Tests.Properties;

internal enum PageSide
{
    ConsoleFrontend,
    ConsoleBackend,
    XenStoreGuest,
    XenStoreServer,
}

internal enum ByteRingCall
{
    /// <summary>The side's own Read (for the xenstore server: the one that sets <c>error</c>).</summary>
    SideRead,

    /// <summary>The side's own Write (for the xenstore server: the one that sets <c>error</c>).</summary>
    SideWrite,

    /// <summary><see cref="ConsoleFrontend.WriteTranslatingNewlines(ReadOnlySpan{byte})"/>.</summary>
    SideWriteTranslatingNewlines,
    RingRead,
    RingPeek,
    RingReadSegmentsThenAdvance,
    RingBytesAvailable,
    RingWrite,
    RingWriteSegmentsThenCommit,
    RingBytesFree,
}

/// <summary>One ring of a page: where its data and indices are.</summary>
internal sealed record RingGeometry(string Name, int DataOffset, int Size, int ConsOffset, int ProdOffset)
{
    public static readonly RingGeometry ConsoleIn = new("in", ConsoleLayout.InOffset, ConsoleLayout.InSize, ConsoleLayout.InConsOffset, ConsoleLayout.InProdOffset);
    public static readonly RingGeometry ConsoleOut = new("out", ConsoleLayout.OutOffset, ConsoleLayout.OutSize, ConsoleLayout.OutConsOffset, ConsoleLayout.OutProdOffset);
    public static readonly RingGeometry XenStoreReq = new("req", XenStoreRingLayout.RequestOffset, XenStoreRingLayout.RingSize, XenStoreRingLayout.ReqConsOffset, XenStoreRingLayout.ReqProdOffset);
    public static readonly RingGeometry XenStoreRsp = new("rsp", XenStoreRingLayout.ResponseOffset, XenStoreRingLayout.RingSize, XenStoreRingLayout.RspConsOffset, XenStoreRingLayout.RspProdOffset);

    public static RingGeometry Of(PageSide side, bool consumer) => (side, consumer) switch
    {
        (PageSide.ConsoleFrontend, true) or (PageSide.ConsoleBackend, false) => ConsoleIn,
        (PageSide.ConsoleFrontend, false) or (PageSide.ConsoleBackend, true) => ConsoleOut,
        (PageSide.XenStoreGuest, true) or (PageSide.XenStoreServer, false) => XenStoreRsp,
        _ => XenStoreReq,
    };
}

/// <summary>
/// A page whose bytes (data, indices, every other field) are whatever the peer left, and one call by our side.
/// </summary>
internal sealed record HostileByteRingCase(PageSide Side, ByteRingCall Call, uint Cons, uint Prod, int Length, int Count, int Seed)
{
    public bool Consumes => IsConsumerCall(Call);

    public RingGeometry Ring => RingGeometry.Of(Side, Consumes);

    /// <summary>Whether the call works on the ring this side consumes (else the one it produces).</summary>
    public static bool IsConsumerCall(ByteRingCall call) => call is ByteRingCall.SideRead or ByteRingCall.RingRead
        or ByteRingCall.RingPeek or ByteRingCall.RingReadSegmentsThenAdvance or ByteRingCall.RingBytesAvailable;

    public override string ToString() =>
        $"{Side}.{Call} on '{Ring.Name}' ({Ring.Size} bytes) with {Ring.Name}_cons=0x{Cons:X8} {Ring.Name}_prod=0x{Prod:X8} " +
        $"(prod - cons = 0x{unchecked(Prod - Cons):X8}), length {Length}, count {Count}, page seed {Seed}";
}

/// <summary>
/// A peer that writes arbitrary values into the console and xenstore pages: every call either succeeds with
/// results consistent with the indices it read, or throws <see cref="RingCorruptedException"/> having changed
/// nothing; no byte outside what the call may write changes.
/// </summary>
public class HostileByteRingProperties
{
    /// <summary>Guard bytes on either side of the page in the memory <see cref="NewPage"/> returns.</summary>
    internal const int Guard = 64;
    internal const int PageSize = 4096;
    private const byte GuardByte = 0xA5;
    private const byte Untouched = 0x5A;

    private static readonly ByteRingCall[] Calls = Enum.GetValues<ByteRingCall>();

    private static readonly Gen<HostileByteRingCase> Cases =
        from side in Gen.Elements(Enum.GetValues<PageSide>())
        from call in Gen.Elements(Calls.Where(c => c != ByteRingCall.SideWriteTranslatingNewlines || side == PageSide.ConsoleFrontend))
        let size = RingGeometry.Of(side, HostileByteRingCase.IsConsumerCall(call)).Size
        from cons in IndexGen.Start(2 * size)
        from prod in Gen.Frequency(
            (4, IndexGen.Near(cons, 0, size)),                                     // consistent
            (2, Gen.Choose(1, 4).Select(k => unchecked(cons + (uint)size + (uint)k))), // one byte too many, or a few
            (2, Gen.Choose(1, 4).Select(k => unchecked(cons - (uint)k))),             // producer behind consumer
            (1, IndexGen.Near(unchecked(cons + 0x8000_0000u), 2, 2)),
            (2, IndexGen.AnyUInt))
        from length in Gen.Frequency((2, Gen.Choose(0, 16)), (3, Gen.Choose(0, size + 8)))
        from count in Gen.Choose(0, 1 << 20)
        from seed in Gen.Choose(0, 1 << 20)
        select new HostileByteRingCase(side, call, cons, prod, length, count, seed);

    [Fact]
    public void Arbitrary_indices_and_data_in_console_and_xenstore_pages_never_escape_RingCorruptedException() =>
        Check.One(PropertyRuns.Cases(1000), Prop.ForAll(Arb.From(Cases, Shrink), (Action<HostileByteRingCase>)Verify));

    /// <summary>Towards cons = 0 (keeping prod - cons), shorter lengths and smaller counts.</summary>
    private static IEnumerable<HostileByteRingCase> Shrink(HostileByteRingCase c)
    {
        if (c.Cons != 0)
        {
            yield return c with { Cons = 0, Prod = unchecked(c.Prod - c.Cons) };
        }

        if (c.Length > 0)
        {
            yield return c with { Length = c.Length / 2 };
        }

        if (c.Count > 0)
        {
            yield return c with { Count = c.Count / 2 };
        }
    }

    /// <summary>
    /// The peer may move the consumer index while a write is in progress. Here the ring's data area overlaps its
    /// own consumer index, so the bytes being written move out_cons back by 4 between the moment the free space
    /// is measured and the moment the write is published: a peer doing exactly that concurrently. The write
    /// must publish what it wrote against the index it read (or report corruption), never an argument error.
    /// </summary>
    [Fact]
    public void WriteTranslatingNewlines_reads_the_consumer_index_once()
    {
        byte[] page = new byte[64];
        const int consumerOffset = 8;   // inside the 16-byte data area at 0
        const int producerOffset = 32;
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(consumerOffset), 0);
        BinaryPrimitives.WriteUInt32LittleEndian(page.AsSpan(producerOffset), 8);
        var ring = new ByteRing(page, 0, 16, consumerOffset, producerOffset, "out");
        byte[] source = [0xFC, 0xFF, 0xFF, 0xFF, (byte)'a', (byte)'b', (byte)'c', (byte)'d']; // lands on out_cons: 0xFFFFFFFC

        Exception? thrown = null;
        int consumed = 0;
        try
        {
            consumed = ConsoleFrontend.WriteTranslatingNewlines(ring, source);
        }
#pragma warning disable CA1031 // the test classifies every exception
        catch (Exception e)
#pragma warning restore CA1031
        {
            thrown = e;
        }

        Assert.True(thrown is null or RingCorruptedException, $"threw {thrown}");
        if (thrown is null)
        {
            Assert.Equal(8, consumed);
            Assert.Equal(16u, BinaryPrimitives.ReadUInt32LittleEndian(page.AsSpan(producerOffset)));
        }
    }

    private static void Verify(HostileByteRingCase c)
    {
        RingGeometry ring = c.Ring;
        byte[] memory = NewPage(ring, c.Seed, c.Cons, c.Prod);
        byte[] expected = (byte[])memory.Clone();

        Observation seen = Execute(c, memory);

        uint used = unchecked(c.Prod - c.Cons);
        if (used > (uint)ring.Size)
        {
            var corrupted = seen.Exception as RingCorruptedException;
            Expect.True(corrupted is not null, $"expected RingCorruptedException, got {seen.Exception?.GetType().Name ?? "no exception"}: {seen.Exception?.Message}");
            Expect.Equal(ring.Name, corrupted!.RingName, "RingCorruptedException.RingName");
            Expect.Equal(c.Cons, corrupted.Consumer, "RingCorruptedException.Consumer");
            Expect.Equal(c.Prod, corrupted.Producer, "RingCorruptedException.Producer");
            Expect.Equal((uint)ring.Size, corrupted.Capacity, "RingCorruptedException.Capacity");
            if (c.Side == PageSide.XenStoreServer && c.Call is ByteRingCall.SideRead or ByteRingCall.SideWrite)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(expected.AsSpan(Guard + XenStoreRingLayout.ErrorOffset), (uint)XenStoreRingError.RingIndex);
            }

            Expect.True(seen.Destination is null || seen.Destination.AsSpan().IndexOfAnyExcept(Untouched) < 0, "a corrupted read copied bytes out");
            Expect.Bytes(expected, memory, "memory after a corrupted call (only the xenstore server's error field may change)");
            return;
        }

        Expect.True(seen.Exception is null, $"consistent indices (prod - cons = {used}), but the call threw {seen.Exception}");
        int available = (int)used;
        int free = ring.Size - available;
        uint mask = (uint)ring.Size - 1;
        int DataAt(uint index) => Guard + ring.DataOffset + (int)(index & mask);
        uint newCons = c.Cons;
        uint newProd = c.Prod;

        switch (c.Call)
        {
            case ByteRingCall.SideRead or ByteRingCall.RingRead or ByteRingCall.RingPeek:
            {
                int count = Math.Min(c.Length, available);
                Expect.Equal(count, seen.Result, "bytes read");
                for (int i = 0; i < count; i++)
                {
                    Expect.Equal(memory[DataAt(unchecked(c.Cons + (uint)i))], seen.Destination![i], $"byte {i} read");
                }

                Expect.True(seen.Destination.AsSpan(count).IndexOfAnyExcept(Untouched) < 0, "the read wrote past the bytes it returned");
                if (c.Call != ByteRingCall.RingPeek)
                {
                    newCons = unchecked(c.Cons + (uint)count);
                }

                break;
            }

            case ByteRingCall.RingReadSegmentsThenAdvance:
            {
                int firstLength = Math.Min(available, ring.Size - (int)(c.Cons & mask));
                Expect.Equal(firstLength, seen.FirstLength, "first read segment length");
                Expect.Equal(available - firstLength, seen.SecondLength, "second read segment length");
                if (firstLength > 0)
                {
                    Expect.Equal(DataAt(c.Cons), seen.FirstOffset, "first read segment position");
                }

                if (available > firstLength)
                {
                    Expect.Equal(Guard + ring.DataOffset, seen.SecondOffset, "second read segment position");
                }

                newCons = unchecked(c.Cons + (uint)(c.Count % (available + 1)));
                break;
            }

            case ByteRingCall.RingBytesAvailable:
                Expect.Equal(available, seen.Result, "BytesAvailable");
                break;

            case ByteRingCall.RingBytesFree:
                Expect.Equal(free, seen.Result, "BytesFree");
                break;

            case ByteRingCall.SideWrite or ByteRingCall.RingWrite:
            {
                byte[] source = Source(c);
                int count = Math.Min(source.Length, free);
                Expect.Equal(count, seen.Result, "bytes written");
                for (int i = 0; i < count; i++)
                {
                    expected[DataAt(unchecked(c.Prod + (uint)i))] = source[i];
                }

                newProd = unchecked(c.Prod + (uint)count);
                break;
            }

            case ByteRingCall.SideWriteTranslatingNewlines:
            {
                byte[] source = Source(c);
                int consumed = 0;
                int written = 0;
                while (consumed < source.Length && written + (source[consumed] == (byte)'\n' ? 2 : 1) <= free)
                {
                    if (source[consumed] == (byte)'\n')
                    {
                        expected[DataAt(unchecked(c.Prod + (uint)written++))] = (byte)'\r';
                    }

                    expected[DataAt(unchecked(c.Prod + (uint)written++))] = source[consumed++];
                }

                Expect.Equal(consumed, seen.Result, "source bytes consumed");
                newProd = unchecked(c.Prod + (uint)written);
                break;
            }

            case ByteRingCall.RingWriteSegmentsThenCommit:
            {
                int firstLength = Math.Min(free, ring.Size - (int)(c.Prod & mask));
                Expect.Equal(firstLength, seen.FirstLength, "first write segment length");
                Expect.Equal(free - firstLength, seen.SecondLength, "second write segment length");
                if (firstLength > 0)
                {
                    Expect.Equal(DataAt(c.Prod), seen.FirstOffset, "first write segment position");
                }

                if (free > firstLength)
                {
                    Expect.Equal(Guard + ring.DataOffset, seen.SecondOffset, "second write segment position");
                }

                byte[] fill = Source(c, free);
                for (int i = 0; i < free; i++)
                {
                    expected[DataAt(unchecked(c.Prod + (uint)i))] = fill[i];
                }

                newProd = unchecked(c.Prod + (uint)(c.Count % (free + 1)));
                break;
            }
        }

        BinaryPrimitives.WriteUInt32LittleEndian(expected.AsSpan(Guard + ring.ConsOffset), newCons);
        BinaryPrimitives.WriteUInt32LittleEndian(expected.AsSpan(Guard + ring.ProdOffset), newProd);
        Expect.Bytes(expected, memory, "memory after the call (data written, the index the call owns, nothing else)");
    }

    /// <summary>
    /// A page of random bytes (the peer's leftovers) between guard bytes, with <paramref name="ring"/>'s indices
    /// set to <paramref name="cons"/> and <paramref name="prod"/>; the page starts at <see cref="Guard"/>.
    /// </summary>
    internal static byte[] NewPage(RingGeometry ring, int seed, uint cons, uint prod)
    {
        byte[] memory = new byte[Guard + PageSize + Guard];
        memory.AsSpan().Fill(GuardByte);
        new Random(seed).NextBytes(memory.AsSpan(Guard, PageSize));
        BinaryPrimitives.WriteUInt32LittleEndian(memory.AsSpan(Guard + ring.ConsOffset), cons);
        BinaryPrimitives.WriteUInt32LittleEndian(memory.AsSpan(Guard + ring.ProdOffset), prod);
        return memory;
    }

    /// <summary>Bytes to write: random, with about one in five a newline.</summary>
    private static byte[] Source(HostileByteRingCase c, int? length = null)
    {
        var random = new Random(c.Seed ^ 0x5EED);
        byte[] source = new byte[length ?? c.Length];
        random.NextBytes(source);
        for (int i = 0; i < source.Length; i++)
        {
            if (random.Next(5) == 0)
            {
                source[i] = (byte)'\n';
            }
        }

        return source;
    }

    private sealed class Observation
    {
        public Exception? Exception { get; set; }

        public int Result { get; set; }

        public byte[]? Destination { get; set; }

        public int FirstOffset { get; set; }

        public int FirstLength { get; set; }

        public int SecondOffset { get; set; }

        public int SecondLength { get; set; }
    }

    private static Observation Execute(HostileByteRingCase c, byte[] memory)
    {
        var seen = new Observation();
        Span<byte> page = memory.AsSpan(Guard, PageSize);
        try
        {
            switch (c.Call)
            {
                case ByteRingCall.SideRead:
                    seen.Destination = NewDestination(c.Length);
                    seen.Result = SideRead(c.Side, page, seen.Destination.AsSpan(0, c.Length));
                    break;
                case ByteRingCall.RingRead:
                    seen.Destination = NewDestination(c.Length);
                    seen.Result = RingOf(c, page).Read(seen.Destination.AsSpan(0, c.Length));
                    break;
                case ByteRingCall.RingPeek:
                    seen.Destination = NewDestination(c.Length);
                    seen.Result = RingOf(c, page).Peek(seen.Destination.AsSpan(0, c.Length));
                    break;
                case ByteRingCall.RingReadSegmentsThenAdvance:
                {
                    ByteRing ring = RingOf(c, page);
                    ByteRingReadReservation unread = ring.GetReadSegments();
                    Locate(memory, unread.First, unread.Second, seen);
                    ring.Advance(unread, c.Count % (unread.Length + 1));
                    break;
                }

                case ByteRingCall.RingBytesAvailable:
                    seen.Result = RingOf(c, page).BytesAvailable;
                    break;
                case ByteRingCall.RingBytesFree:
                    seen.Result = RingOf(c, page).BytesFree;
                    break;
                case ByteRingCall.SideWrite:
                    seen.Result = SideWrite(c.Side, page, Source(c));
                    break;
                case ByteRingCall.SideWriteTranslatingNewlines:
                    seen.Result = new ConsoleFrontend(page).WriteTranslatingNewlines(Source(c));
                    break;
                case ByteRingCall.RingWrite:
                    seen.Result = RingOf(c, page).Write(Source(c));
                    break;
                case ByteRingCall.RingWriteSegmentsThenCommit:
                {
                    ByteRing ring = RingOf(c, page);
                    ByteRingWriteReservation space = ring.GetWriteSegments();
                    Locate(memory, space.First, space.Second, seen);
                    int free = space.Length;
                    byte[] fill = Source(c, free);
                    fill.AsSpan(0, space.First.Length).CopyTo(space.First);
                    fill.AsSpan(space.First.Length).CopyTo(space.Second);
                    ring.Commit(space, c.Count % (free + 1));
                    break;
                }
            }
        }
#pragma warning disable CA1031 // the property classifies every exception
        catch (Exception e)
#pragma warning restore CA1031
        {
            seen.Exception = e;
        }

        return seen;
    }

    private static byte[] NewDestination(int length)
    {
        byte[] destination = new byte[length + 8]; // 8 spare bytes catch a copy past the destination
        destination.AsSpan().Fill(Untouched);
        return destination;
    }

    private static void Locate(byte[] memory, ReadOnlySpan<byte> first, ReadOnlySpan<byte> second, Observation seen)
    {
        seen.FirstLength = first.Length;
        seen.SecondLength = second.Length;
        seen.FirstOffset = (int)Unsafe.ByteOffset(ref memory[0], ref MemoryMarshal.GetReference(first));
        seen.SecondOffset = (int)Unsafe.ByteOffset(ref memory[0], ref MemoryMarshal.GetReference(second));
    }

    private static ByteRing RingOf(HostileByteRingCase c, Span<byte> page) => RingOf(c.Side, c.Consumes, page);

    /// <summary>The ring <paramref name="side"/> consumes (or produces), through that side's own view of the page.</summary>
    internal static ByteRing RingOf(PageSide side, bool consumes, Span<byte> page) => (side, consumes) switch
    {
        (PageSide.ConsoleFrontend, true) => new ConsoleFrontend(page).Input,
        (PageSide.ConsoleFrontend, false) => new ConsoleFrontend(page).Output,
        (PageSide.ConsoleBackend, true) => new ConsoleBackend(page).Output,
        (PageSide.ConsoleBackend, false) => new ConsoleBackend(page).Input,
        (PageSide.XenStoreGuest, true) => new XenStoreGuestRing(page).Responses,
        (PageSide.XenStoreGuest, false) => new XenStoreGuestRing(page).Requests,
        (PageSide.XenStoreServer, true) => new XenStoreServerRing(page).Requests,
        _ => new XenStoreServerRing(page).Responses,
    };

    private static int SideRead(PageSide side, Span<byte> page, Span<byte> destination) => side switch
    {
        PageSide.ConsoleFrontend => new ConsoleFrontend(page).Read(destination),
        PageSide.ConsoleBackend => new ConsoleBackend(page).Read(destination),
        PageSide.XenStoreGuest => new XenStoreGuestRing(page).Read(destination),
        _ => new XenStoreServerRing(page).Read(destination),
    };

    private static int SideWrite(PageSide side, Span<byte> page, ReadOnlySpan<byte> source) => side switch
    {
        PageSide.ConsoleFrontend => new ConsoleFrontend(page).Write(source),
        PageSide.ConsoleBackend => new ConsoleBackend(page).Write(source),
        PageSide.XenStoreGuest => new XenStoreGuestRing(page).Write(source),
        _ => new XenStoreServerRing(page).Write(source),
    };
}
