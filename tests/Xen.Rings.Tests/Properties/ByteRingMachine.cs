using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;

namespace Xen.Rings.Tests.Properties;

/// <summary>
/// The object under test: a byte ring of <see cref="Size"/> bytes with guard bytes on both sides of the data
/// area and guard words on both sides of the two indices, so any access outside them shows.
/// </summary>
internal sealed class ByteRingHarness
{
    private const int GuardLength = 32;
    private const byte GuardByte = 0xA5;
    private const uint GuardWord = 0xA5A5_A5A5;

    private readonly byte[] _memory;
    private readonly uint[] _indices;

    public ByteRingHarness(int size, uint start)
    {
        Size = size;
        _memory = new byte[GuardLength + size + GuardLength];
        _memory.AsSpan().Fill(GuardByte);
        new Random(size).NextBytes(_memory.AsSpan(GuardLength, size)); // stale contents, never to be read back
        _indices = [GuardWord, start, start, GuardWord];
    }

    public int Size { get; }

    public ByteRing Ring => new(_memory.AsSpan(GuardLength, Size), ref _indices[1], ref _indices[2], "test");

    public uint Consumer => _indices[1];

    public uint Producer => _indices[2];

    public void CheckGuards()
    {
        Expect.True(_memory.AsSpan(0, GuardLength).IndexOfAnyExcept(GuardByte) < 0, "bytes before the ring buffer were written");
        Expect.True(_memory.AsSpan(GuardLength + Size).IndexOfAnyExcept(GuardByte) < 0, "bytes after the ring buffer were written");
        Expect.True(_indices[0] == GuardWord && _indices[3] == GuardWord, "memory beside the indices was written");
    }
}

/// <summary>What the last operation must have returned, as the model computed it.</summary>
internal sealed record ByteRingOutcome(int Count, byte[] Bytes, bool ArgumentError)
{
    public static readonly ByteRingOutcome None = new(0, [], false);
}

/// <summary>The model: a bounded FIFO queue of bytes plus the two free-running indices.</summary>
internal sealed record ByteRingModel(int Size, uint Consumer, uint Producer, byte[] Unread)
{
    public ByteRingOutcome Outcome { get; init; } = ByteRingOutcome.None;

    public int Available => Unread.Length;

    public int Free => Size - Unread.Length;

    public ByteRingModel Append(byte[] data, int count) => this with
    {
        Producer = unchecked(Producer + (uint)count),
        Unread = [.. Unread, .. data.AsSpan(0, count)],
        Outcome = new ByteRingOutcome(count, [], false),
    };

    public ByteRingModel Consume(int count, bool argumentError = false) => this with
    {
        Consumer = unchecked(Consumer + (uint)count),
        Unread = Unread[count..],
        Outcome = new ByteRingOutcome(count, Unread[..count], argumentError),
    };

    public override string ToString() => $"cons=0x{Consumer:X8} prod=0x{Producer:X8} unread={Unread.Length}";
}

/// <summary>
/// An operation on the ring. <see cref="Check"/> performs it on the harness, compares the result with the
/// model's outcome, then checks the indices and the guard bytes.
/// </summary>
internal abstract class ByteRingOperation : Operation<ByteRingHarness, ByteRingModel>
{
    public sealed override Property Check(ByteRingHarness actual, ByteRingModel model)
    {
        Perform(actual, model);
        Expect.Equal(model.Consumer, actual.Consumer, $"{this}: consumer index");
        Expect.Equal(model.Producer, actual.Producer, $"{this}: producer index");
        Expect.Equal(model.Consumer, actual.Ring.Consumer, $"{this}: Consumer property");
        Expect.Equal(model.Producer, actual.Ring.Producer, $"{this}: Producer property");
        actual.CheckGuards();
        return Prop.ToProperty(true);
    }

    protected abstract void Perform(ByteRingHarness actual, ByteRingModel model);

    protected static byte[] Data(int length, int seed)
    {
        byte[] data = new byte[length];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary>Where the first span of a two-span view must end: at the end of the buffer, or earlier.</summary>
    protected static int FirstSpanLength(int total, uint index, int size) => Math.Min(total, size - (int)(index & (uint)(size - 1)));
}

internal sealed class WriteOperation(int length, int seed) : ByteRingOperation
{
    public override ByteRingModel Run(ByteRingModel model) => model.Append(Data(length, seed), Math.Min(length, model.Free));

    protected override void Perform(ByteRingHarness actual, ByteRingModel model) =>
        Expect.Equal(model.Outcome.Count, actual.Ring.Write(Data(length, seed)), $"{this}: bytes written");

    public override string ToString() => $"Write({length} bytes, seed {seed})";
}

internal sealed class ReadOperation(int length, bool consume) : ByteRingOperation
{
    private const byte Untouched = 0x5A;

    public override ByteRingModel Run(ByteRingModel model)
    {
        int count = Math.Min(length, model.Available);
        return consume
            ? model.Consume(count)
            : model with { Outcome = new ByteRingOutcome(count, model.Unread[..count], false) };
    }

    protected override void Perform(ByteRingHarness actual, ByteRingModel model)
    {
        byte[] destination = new byte[length + 8]; // 8 spare bytes catch a copy past the destination
        destination.AsSpan().Fill(Untouched);
        Span<byte> target = destination.AsSpan(0, length);
        int count = consume ? actual.Ring.Read(target) : actual.Ring.Peek(target);
        Expect.Equal(model.Outcome.Count, count, $"{this}: bytes copied");
        Expect.Bytes(model.Outcome.Bytes, destination.AsSpan(0, count), $"{this}: bytes copied");
        Expect.True(destination.AsSpan(count).IndexOfAnyExcept(Untouched) < 0, $"{this}: wrote past the {count} bytes it returned");
    }

    public override string ToString() => consume ? $"Read({length})" : $"Peek({length})";
}

internal sealed class AdvanceOperation(int byteCount) : ByteRingOperation
{
    public override ByteRingModel Run(ByteRingModel model) =>
        byteCount >= 0 && byteCount <= model.Available
            ? model.Consume(byteCount)
            : model with { Outcome = new ByteRingOutcome(0, [], true) };

    protected override void Perform(ByteRingHarness actual, ByteRingModel model)
    {
        bool argumentError = false;
        ByteRing ring = actual.Ring;
        ByteRingReadReservation unread = ring.GetReadSegments();
        try
        {
            ring.Advance(unread, byteCount);
        }
        catch (ArgumentOutOfRangeException)
        {
            argumentError = true;
        }

        Expect.Equal(model.Outcome.ArgumentError, argumentError, $"{this}: ArgumentOutOfRangeException thrown");
    }

    public override string ToString() => $"GetReadSegments, Advance({byteCount})";
}

/// <summary>GetWriteSegments, fill the first <c>length</c> free bytes in place, Commit that many.</summary>
internal sealed class WriteInPlaceOperation(int length, int seed) : ByteRingOperation
{
    public override ByteRingModel Run(ByteRingModel model) => model.Append(Data(length, seed), Math.Min(length, model.Free));

    protected override void Perform(ByteRingHarness actual, ByteRingModel model)
    {
        // The model's outcome is after the write; the free space before it is what the segments show.
        int count = model.Outcome.Count;
        int freeBefore = model.Free + count;
        uint producerBefore = unchecked(model.Producer - (uint)count);
        ByteRing ring = actual.Ring;
        ByteRingWriteReservation space = ring.GetWriteSegments();
        Span<byte> first = space.First;
        Span<byte> second = space.Second;
        Expect.Equal(freeBefore, space.Length, $"{this}: free bytes in the segments");
        Expect.Equal(producerBefore, space.Start, $"{this}: reservation start");
        Expect.Equal(FirstSpanLength(freeBefore, producerBefore, model.Size), first.Length, $"{this}: first segment length");

        byte[] data = Data(length, seed);
        int inFirst = Math.Min(count, first.Length);
        data.AsSpan(0, inFirst).CopyTo(first);
        data.AsSpan(inFirst, count - inFirst).CopyTo(second);
        ring.Commit(space, count);
    }

    public override string ToString() => $"WriteInPlace({length} bytes, seed {seed})";
}

/// <summary>Commit more than the reservation holds, or a negative count: an argument error that publishes nothing.</summary>
internal sealed class CommitInvalidOperation(int excess) : ByteRingOperation
{
    public override ByteRingModel Run(ByteRingModel model) => model with { Outcome = new ByteRingOutcome(0, [], true) };

    protected override void Perform(ByteRingHarness actual, ByteRingModel model)
    {
        int byteCount = excess < 0 ? excess : model.Free + excess;
        bool argumentError = false;
        ByteRing ring = actual.Ring;
        ByteRingWriteReservation space = ring.GetWriteSegments();
        try
        {
            ring.Commit(space, byteCount);
        }
        catch (ArgumentOutOfRangeException)
        {
            argumentError = true;
        }

        Expect.True(argumentError, $"{this}: Commit({byteCount}) with {model.Free} free did not throw ArgumentOutOfRangeException");
    }

    public override string ToString() => excess < 0 ? $"GetWriteSegments, Commit({excess})" : $"GetWriteSegments, Commit(free + {excess})";
}

internal sealed class ReadSegmentsOperation : ByteRingOperation
{
    public override ByteRingModel Run(ByteRingModel model) => model with { Outcome = new ByteRingOutcome(model.Available, model.Unread, false) };

    protected override void Perform(ByteRingHarness actual, ByteRingModel model)
    {
        ByteRingReadReservation unread = actual.Ring.GetReadSegments();
        Expect.Equal(FirstSpanLength(model.Available, model.Consumer, model.Size), unread.First.Length, $"{this}: first segment length");
        Expect.Equal(model.Consumer, unread.Start, $"{this}: reservation start");
        Expect.Bytes(model.Unread, [.. unread.First, .. unread.Second], $"{this}: segment contents");
    }

    public override string ToString() => "GetReadSegments";
}

internal sealed class CountsOperation : ByteRingOperation
{
    public override ByteRingModel Run(ByteRingModel model) => model with { Outcome = ByteRingOutcome.None };

    protected override void Perform(ByteRingHarness actual, ByteRingModel model)
    {
        Expect.Equal(model.Available, actual.Ring.BytesAvailable, "BytesAvailable");
        Expect.Equal(model.Free, actual.Ring.BytesFree, "BytesFree");
        Expect.Equal(model.Size, actual.Ring.Capacity, "Capacity");
    }

    public override string ToString() => "BytesAvailable/BytesFree";
}

internal sealed class ByteRingSetup(int size, uint start) : Setup<ByteRingHarness, ByteRingModel>
{
    public int Size => size;

    public uint Start => start;

    public override ByteRingHarness Actual() => new(size, start);

    public override ByteRingModel Model() => new(size, start, start, []);

    public override string ToString() => $"ring of {size} bytes, indices starting at 0x{start:X8}";
}

/// <summary>Random sequences of every ByteRing operation, on random power-of-two sizes and start indices.</summary>
internal sealed class ByteRingMachine : Machine<ByteRingHarness, ByteRingModel>
{
    private static readonly Gen<Setup<ByteRingHarness, ByteRingModel>> SetupGen =
        from log in Gen.Choose(0, 12)
        from start in IndexGen.Start(2 << log)
        select (Setup<ByteRingHarness, ByteRingModel>)new ByteRingSetup(1 << log, start);

    public override Arbitrary<Setup<ByteRingHarness, ByteRingModel>> Setup => Arb.From(SetupGen, ShrinkSetup);

    public override Gen<Operation<ByteRingHarness, ByteRingModel>> Next(ByteRingModel model)
    {
        int size = model.Size;
        Gen<int> length = Gen.Frequency(
            (3, Gen.Choose(0, Math.Min(size, 8))),
            (3, Gen.Choose(0, size)),
            (1, Gen.Choose(size, size + 3)));
        Gen<int> seed = Gen.Choose(0, 9999);
        return Gen.Frequency(
            (6, Gen.Zip(length, seed, (n, s) => Op(new WriteOperation(n, s)))),
            (4, Gen.Zip(length, seed, (n, s) => Op(new WriteInPlaceOperation(n, s)))),
            (5, length.Select(n => Op(new ReadOperation(n, consume: true)))),
            (2, length.Select(n => Op(new ReadOperation(n, consume: false)))),
            (3, Gen.Frequency(
                (4, Gen.Choose(0, Math.Max(model.Available, 0))),
                (1, Gen.Choose(model.Available + 1, model.Available + 3)),
                (1, Gen.Choose(-3, -1))).Select(n => Op(new AdvanceOperation(n)))),
            (1, Gen.Elements(-2, -1, 1, 2, 1000).Select(e => Op(new CommitInvalidOperation(e)))),
            (2, Gen.Constant(Op(new ReadSegmentsOperation()))),
            (1, Gen.Constant(Op(new CountsOperation()))));
    }

    private static Operation<ByteRingHarness, ByteRingModel> Op(ByteRingOperation operation) => operation;

    private static IEnumerable<Setup<ByteRingHarness, ByteRingModel>> ShrinkSetup(Setup<ByteRingHarness, ByteRingModel> setup)
    {
        var s = (ByteRingSetup)setup;
        if (s.Start != 0)
        {
            yield return new ByteRingSetup(s.Size, 0);
        }

        if (s.Size > 1)
        {
            yield return new ByteRingSetup(s.Size / 2, s.Start);
        }
    }
}
