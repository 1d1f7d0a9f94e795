using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using Xen.Rings.Tests.Properties;
using Xen.Rings.Vchan;

namespace Xen.Rings.Tests.Vchan;

/// <summary>One call on one end: a TryWrite of <see cref="Size"/> bytes, or a TryRead into a buffer of that size.</summary>
internal sealed record VchanStep(VchanRole End, bool IsWrite, int Size)
{
    /// <summary>Whether the step uses the left ring (client to server) or the right one.</summary>
    public bool OnLeft => (End == VchanRole.Client) == IsWrite;

    public override string ToString() => $"{End.ToString().ToLowerInvariant()} {(IsWrite ? "writes" : "reads")} {Size}";
}

/// <summary>A vchan of the given orders whose rings start empty at the given indices, and the calls made on it.</summary>
internal sealed record VchanRun(int LeftOrder, int RightOrder, uint LeftStart, uint RightStart, VchanStep[] Steps)
{
    public override string ToString() =>
        $"orders {LeftOrder}/{RightOrder}, left from 0x{LeftStart:X8}, right from 0x{RightStart:X8}: {string.Join(", ", Steps.Select(s => s.ToString()))}";
}

/// <summary>
/// Random orders, start indices (often just below 2^32) and sequences of TryWrite/TryRead on both ends: every byte
/// written arrives once and in order on both rings, each call moves exactly what the model says (all that fits, all
/// that is there), the indices in the page are the start plus what was moved, and never more than the ring's size is
/// in flight. An end that gets 0 has asked the peer for an event.
/// </summary>
public class VchanStreamProperties
{
    private static readonly Gen<int> Order = Gen.Frequency((6, Gen.Choose(10, 13)), (2, Gen.Choose(14, 17)), (1, Gen.Choose(18, 20)));

    private static readonly Gen<VchanRun> Runs =
        from orders in (from l in Order from r in Order select (Left: l, Right: r)).Where(o => VchanLayout.IsServablePair(o.Left, o.Right))
        from leftStart in IndexGen.Start(2 << orders.Left)
        from rightStart in IndexGen.Start(2 << orders.Right)
        from steps in Gen.ListOf(Step(orders.Left, orders.Right)).Select(l => l.Take(60).ToArray())
        select new VchanRun(orders.Left, orders.Right, leftStart, rightStart, steps);

    [Fact]
    public void Both_rings_deliver_every_byte_once_and_in_order_with_never_more_than_the_ring_in_flight() =>
        Check.One(PropertyRuns.Cases(200), Prop.ForAll(Arb.From(Runs, Shrink), (Action<VchanRun>)Verify));

    private static Gen<VchanStep> Step(int leftOrder, int rightOrder) =>
        from end in Gen.Elements(VchanRole.Client, VchanRole.Server)
        from isWrite in Gen.Elements(true, false)
        let size = 1 << ((end == VchanRole.Client) == isWrite ? leftOrder : rightOrder)
        from bytes in Gen.Frequency(
            (3, Gen.Choose(0, 64)),
            (3, Gen.Choose(0, size)),
            (2, Gen.Choose(size - 2, size + 2)),
            (1, Gen.Choose(0, Math.Min(3 * size, 1 << 20))))
        select new VchanStep(end, isWrite, bytes);

    /// <summary>Fewer steps, smaller steps, start indices towards 0.</summary>
    private static IEnumerable<VchanRun> Shrink(VchanRun run)
    {
        for (int i = 0; i < run.Steps.Length; i++)
        {
            yield return run with { Steps = [.. run.Steps[..i], .. run.Steps[(i + 1)..]] };
        }

        for (int i = 0; i < run.Steps.Length; i++)
        {
            if (run.Steps[i].Size > 0)
            {
                VchanStep[] steps = [.. run.Steps];
                steps[i] = steps[i] with { Size = steps[i].Size / 2 };
                yield return run with { Steps = steps };
            }
        }

        if (run.LeftStart != 0 || run.RightStart != 0)
        {
            yield return run with { LeftStart = 0, RightStart = 0 };
        }
    }

    private static void Verify(VchanRun run)
    {
        using var h = VchanHarness.Connected(run.LeftOrder, run.RightOrder);
        h.StartIndicesAt(run.LeftStart, run.RightStart);
        var left = new Flow("left", 1 << run.LeftOrder, run.LeftStart, VchanLayout.LeftConsOffset, VchanLayout.LeftProdOffset);
        var right = new Flow("right", 1 << run.RightOrder, run.RightStart, VchanLayout.RightConsOffset, VchanLayout.RightProdOffset);

        foreach (VchanStep step in run.Steps)
        {
            Flow flow = step.OnLeft ? left : right;
            VchanStream stream = step.End == VchanRole.Server ? h.Server : h.Client;
            int peersNotifyByte = step.End == VchanRole.Server ? VchanLayout.CliNotifyOffset : VchanLayout.SrvNotifyOffset;
            VchanNotify request = step.IsWrite ? VchanNotify.Read : VchanNotify.Write;
            int expected = step.IsWrite ? Math.Min(step.Size, flow.Size - flow.InFlight) : Math.Min(step.Size, flow.InFlight);
            if (step.Size > 0 && expected == 0)
            {
                h.Page[peersNotifyByte] &= (byte)~request; // so the step must set it
            }

            if (step.IsWrite)
            {
                Expect.Equal(expected, stream.TryWrite(flow.Next(step.Size)), $"{step}: bytes written");
                flow.Written += expected;
            }
            else
            {
                byte[] buffer = new byte[step.Size];
                Expect.Equal(expected, stream.TryRead(buffer), $"{step}: bytes read");
                Expect.Bytes(flow.Expected(expected), buffer.AsSpan(0, expected), $"{step}: the bytes at {flow.Name} position {flow.Read}");
                flow.Read += expected;
            }

            if (step.Size > 0 && expected == 0)
            {
                Expect.True((h.Page[peersNotifyByte] & (byte)request) != 0, $"{step}: got 0 and asked the peer for {request}");
            }

            left.CheckIndices(h, step);
            right.CheckIndices(h, step);
        }

        Drain(h.Server, left);
        Drain(h.Client, right);
    }

    private static void Drain(VchanStream reader, Flow flow)
    {
        Expect.Equal(flow.InFlight, reader.DataReady, $"{flow.Name}: bytes ready at the end");
        byte[] rest = new byte[flow.InFlight + 1];
        int n = reader.TryRead(rest);
        Expect.Equal(flow.InFlight, n, $"{flow.Name}: bytes drained at the end");
        Expect.Bytes(flow.Expected(n), rest.AsSpan(0, n), $"{flow.Name}: the bytes drained at the end");
        flow.Read += n;
        Expect.Equal(0, reader.TryRead(rest), $"{flow.Name}: empty after draining");
    }

    /// <summary>The model of one ring: what has gone in and come out, as positions in an endless byte pattern.</summary>
    private sealed class Flow(string name, int size, uint start, int consOffset, int prodOffset)
    {
        public string Name => name;

        public int Size => size;

        public long Written { get; set; }

        public long Read { get; set; }

        public int InFlight => (int)(Written - Read);

        /// <summary>The next <paramref name="count"/> bytes to write.</summary>
        public byte[] Next(int count) => Pattern(Written, count);

        /// <summary>The next <paramref name="count"/> bytes a read must give.</summary>
        public byte[] Expected(int count) => Pattern(Read, count);

        public void CheckIndices(VchanHarness h, VchanStep step)
        {
            uint cons = h.Index(consOffset);
            uint prod = h.Index(prodOffset);
            Expect.Equal(unchecked(start + (uint)Written), prod, $"after {step}: {name}.prod");
            Expect.Equal(unchecked(start + (uint)Read), cons, $"after {step}: {name}.cons");
            Expect.True(unchecked(prod - cons) <= (uint)size, $"after {step}: {name} holds {unchecked(prod - cons)} bytes, more than its {size}");
        }

        /// <summary>Byte i of the stream: a hash of its position, so a byte read twice, skipped or out of order shows.</summary>
        private static byte[] Pattern(long from, int count)
        {
            byte[] bytes = new byte[count];
            for (int i = 0; i < count; i++)
            {
                bytes[i] = (byte)BitOperations.Crc32C(0u, (ulong)(from + i));
            }

            return bytes;
        }
    }
}
