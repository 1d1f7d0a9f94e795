using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;

namespace Xen.Rings.Tests.Properties;

/// <summary>What the peer writes: its own index, ours, or any aligned word of the page.</summary>
internal enum PeerTarget
{
    PeerIndex,
    OwnIndex,
    PageWord,
}

/// <summary>
/// One write by the peer, made when our side has handled <see cref="At"/> bytes of its reservation (0: right
/// after Get*Segments; the reservation's length or more: right before Advance/Commit).
/// </summary>
internal sealed record PeerWrite(int At, PeerTarget Target, int Offset, uint Value)
{
    public override string ToString() =>
        $"after {At} bytes: {(Target == PeerTarget.PageWord ? $"page word at {Offset}" : Target.ToString())} = 0x{Value:X8}";
}

/// <summary>
/// Our side reserves with Get*Segments on a consistent ring, reads (or fills) the reservation byte by byte
/// while the peer makes <see cref="Writes"/>, then consumes (or commits) <c>Count % (length + 1)</c> bytes.
/// </summary>
internal sealed record PeerMovesCase(PageSide Side, bool Consumes, uint Cons, uint Prod, PeerWrite[] Writes, int Count, int Seed)
{
    public RingGeometry Ring => RingGeometry.Of(Side, Consumes);

    public override string ToString() =>
        $"{Side} {(Consumes ? "GetReadSegments/Advance" : "GetWriteSegments/Commit")} on '{Ring.Name}' ({Ring.Size} bytes) " +
        $"with {Ring.Name}_cons=0x{Cons:X8} {Ring.Name}_prod=0x{Prod:X8}, count {Count}, page seed {Seed}; peer: " +
        (Writes.Length == 0 ? "nothing" : string.Join("; ", Writes.Select(w => w.ToString())));
}

/// <summary>
/// The peer moves its index (or ours, or any word of the page) at any point between Get*Segments and
/// Advance/Commit: the call publishes exactly the count it was given from the snapshot it validated, or
/// throws <see cref="RingCorruptedException"/> having published nothing; never another exception, and no
/// byte changes but the peer's, the caller's data and the index our side owns.
/// </summary>
public class PeerMovesBetweenCallsProperties
{
    private const int Guard = HostileByteRingProperties.Guard;
    private const int PageSize = HostileByteRingProperties.PageSize;

    private static readonly Gen<PeerMovesCase> Cases =
        from side in Gen.Elements(Enum.GetValues<PageSide>())
        from consumes in Gen.Elements(true, false)
        let size = RingGeometry.Of(side, consumes).Size
        from cons in IndexGen.Start(2 * size)
        from prod in Gen.Frequency(
            (3, IndexGen.Near(cons, 0, size)),
            (1, Gen.Elements(cons, unchecked(cons + (uint)size))))
        let peerIndex = consumes ? prod : cons
        let ownIndex = consumes ? cons : prod
        from writes in Gen.ListOf(Write(size, peerIndex, ownIndex)).Select(l => l.Take(4).OrderBy(w => w.At).ToArray())
        from count in Gen.Frequency((3, Gen.Choose(0, 1 << 20)), (1, Gen.Constant(int.MaxValue)))
        from seed in Gen.Choose(0, 1 << 20)
        select new PeerMovesCase(side, consumes, cons, prod, writes, count, seed);

    [Fact]
    public void A_peer_moving_indices_between_GetSegments_and_Advance_or_Commit_yields_a_correct_result_or_RingCorruptedException() =>
        Check.One(PropertyRuns.Cases(1000), Prop.ForAll(Arb.From(Cases, Shrink), (Action<PeerMovesCase>)Verify));

    private static Gen<PeerWrite> Write(int size, uint peerIndex, uint ownIndex) =>
        from at in Gen.Frequency((2, Gen.Constant(0)), (2, Gen.Constant(int.MaxValue)), (3, Gen.Choose(0, size)))
        from target in Gen.Frequency((6, Gen.Constant(PeerTarget.PeerIndex)), (1, Gen.Constant(PeerTarget.OwnIndex)), (1, Gen.Constant(PeerTarget.PageWord)))
        let around = target == PeerTarget.OwnIndex ? ownIndex : peerIndex
        from value in Gen.Frequency(
            (4, IndexGen.Near(around, size, size)),                      // back or forward within a ring's size
            (2, IndexGen.Near(around, 4, 4)),                            // a byte or a few
            (1, IndexGen.Near(unchecked(around + 0x8000_0000u), 2, 2)),
            (2, IndexGen.AnyUInt))
        from word in Gen.Choose(0, (PageSize / 4) - 1)
        select new PeerWrite(at, target, word * 4, value);

    /// <summary>Fewer peer writes, cons towards 0 (keeping prod - cons), smaller counts.</summary>
    private static IEnumerable<PeerMovesCase> Shrink(PeerMovesCase c)
    {
        for (int i = 0; i < c.Writes.Length; i++)
        {
            yield return c with { Writes = [.. c.Writes[..i], .. c.Writes[(i + 1)..]] };
        }

        if (c.Cons != 0)
        {
            yield return c with { Cons = 0, Prod = unchecked(c.Prod - c.Cons) };
        }

        if (c.Count > 0)
        {
            yield return c with { Count = c.Count / 2 };
        }
    }

    private static void Verify(PeerMovesCase c)
    {
        RingGeometry ring = c.Ring;
        byte[] memory = HostileByteRingProperties.NewPage(ring, c.Seed, c.Cons, c.Prod);

        // The model replays the same interleaving on a copy: peer writes and our data writes in order,
        // then the publish of our index from the snapshot.
        byte[] expected = (byte[])memory.Clone();
        uint mask = (uint)ring.Size - 1;
        uint start = c.Consumes ? c.Cons : c.Prod;
        int length = c.Consumes ? (int)unchecked(c.Prod - c.Cons) : ring.Size - (int)unchecked(c.Prod - c.Cons);
        byte[] fill = Fill(c, length);
        byte[] expectedCopy = new byte[length];
        int next = 0;
        for (int i = 0; i <= length; i++)
        {
            next = PeerWritesAt(c, i, length, next, expected);
            if (i < length)
            {
                int at = Guard + ring.DataOffset + (int)(unchecked(start + (uint)i) & mask);
                if (c.Consumes)
                {
                    expectedCopy[i] = expected[at];
                }
                else
                {
                    expected[at] = fill[i];
                }
            }
        }

        byte[] beforePublish = (byte[])expected.Clone();
        int count = c.Count % (length + 1);
        BinaryPrimitives.WriteUInt32LittleEndian(expected.AsSpan(Guard + (c.Consumes ? ring.ConsOffset : ring.ProdOffset)), unchecked(start + (uint)count));

        byte[] copied = new byte[length];
        Exception? thrown = Expect.Thrown(() => Execute(c, memory, fill, copied));

        if (thrown is RingCorruptedException)
        {
            Expect.Bytes(beforePublish, memory, "memory after RingCorruptedException (nothing may be published)");
            return;
        }

        Expect.True(thrown is null, $"threw {thrown}");
        Expect.Bytes(expectedCopy, copied, "bytes read through the reservation (what shared memory held at the time)");
        Expect.Bytes(expected, memory, "memory after the call (peer writes, our data, our index from the snapshot; nothing else)");
    }

    private static void Execute(PeerMovesCase c, byte[] memory, byte[] fill, byte[] copied)
    {
        ByteRing ring = HostileByteRingProperties.RingOf(c.Side, c.Consumes, memory.AsSpan(Guard, PageSize));
        int next = 0;
        if (c.Consumes)
        {
            ByteRingReadReservation unread = ring.GetReadSegments();
            Expect.Equal(copied.Length, unread.Length, "bytes in the read reservation");
            for (int i = 0; i <= unread.Length; i++)
            {
                next = PeerWritesAt(c, i, unread.Length, next, memory);
                if (i < unread.Length)
                {
                    copied[i] = i < unread.First.Length ? unread.First[i] : unread.Second[i - unread.First.Length];
                }
            }

            ring.Advance(unread, c.Count % (unread.Length + 1));
        }
        else
        {
            ByteRingWriteReservation space = ring.GetWriteSegments();
            Expect.Equal(fill.Length, space.Length, "bytes in the write reservation");
            for (int i = 0; i <= space.Length; i++)
            {
                next = PeerWritesAt(c, i, space.Length, next, memory);
                if (i < space.Length)
                {
                    (i < space.First.Length ? ref space.First[i] : ref space.Second[i - space.First.Length]) = fill[i];
                }
            }

            ring.Commit(space, c.Count % (space.Length + 1));
        }
    }

    /// <summary>Makes the peer's writes due once our side has handled <paramref name="position"/> bytes.</summary>
    private static int PeerWritesAt(PeerMovesCase c, int position, int length, int next, byte[] memory)
    {
        while (next < c.Writes.Length && Math.Min(c.Writes[next].At, length) == position)
        {
            Apply(c, c.Writes[next++], memory);
        }

        return next;
    }

    private static void Apply(PeerMovesCase c, PeerWrite write, byte[] memory)
    {
        RingGeometry ring = c.Ring;
        int offset = write.Target switch
        {
            PeerTarget.PeerIndex => c.Consumes ? ring.ProdOffset : ring.ConsOffset,
            PeerTarget.OwnIndex => c.Consumes ? ring.ConsOffset : ring.ProdOffset,
            _ => write.Offset,
        };
        BinaryPrimitives.WriteUInt32LittleEndian(memory.AsSpan(Guard + offset), write.Value);
    }

    private static byte[] Fill(PeerMovesCase c, int length)
    {
        byte[] fill = new byte[length];
        new Random(c.Seed ^ 0xF111).NextBytes(fill);
        return fill;
    }
}
