using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using Xen.Rings.Blkif;
using Xen.Rings.SharedRing;

namespace Xen.Rings.Tests.Properties;

internal enum SharedRingCall
{
    FrontTryProduceRequest,
    FrontPushRequests,
    FrontFinalCheckForResponses,
    FrontTryConsumeResponse,
    FrontUnconsumedResponses,
    FrontFreeRequests,
    BackTryConsumeRequest,
    BackProduceResponse,
    BackPushResponses,
    BackFinalCheckForRequests,
    BackUnconsumedRequests,
    BackOutstandingRequests,
}

/// <summary>
/// Both ends first run a correct exchange (a requests pushed, b consumed, c answered and pushed, d answers
/// consumed, e more requests produced and not pushed); then the peer overwrites any of the four shared
/// indices (null: left alone) and possibly every slot, and one end makes one call.
/// </summary>
internal sealed record HostileSharedRingCase(
    int SlotCount, uint Start, int Pushed, int BackConsumed, int Answered, int FrontConsumed, int Unpushed,
    uint? ReqProd, uint? ReqEvent, uint? RspProd, uint? RspEvent, bool ScrambleSlots, int Seed, SharedRingCall Call)
{
    public override string ToString() =>
        $"{Call} on {SlotCount} slots attached at 0x{Start:X8} after {Pushed} requests pushed, {BackConsumed} consumed, " +
        $"{Answered} answered, {FrontConsumed} answers consumed, {Unpushed} unpushed; peer wrote " +
        $"req_prod={Show(ReqProd)} req_event={Show(ReqEvent)} rsp_prod={Show(RspProd)} rsp_event={Show(RspEvent)}" +
        (ScrambleSlots ? ", scrambled every slot" : "") + $", seed {Seed}";

    private static string Show(uint? value) => value is uint v ? $"0x{v:X8}" : "(kept)";
}

/// <summary>
/// A peer that writes arbitrary values into a ring.h ring's shared indices and slots: each end's calls either
/// succeed as the ring.h rules say for the indices they read, or throw <see cref="RingCorruptedException"/>
/// having consumed and changed nothing; no byte outside what the call may write changes.
/// </summary>
public class HostileSharedRingProperties
{
    private const int Guard = 64;
    private const byte GuardByte = 0xA5;
    private const int EntrySize = 112;

    private static readonly Gen<HostileSharedRingCase> Cases =
        from log in Gen.Choose(0, 5)
        let n = 1 << log
        from start in IndexGen.Start(2 * n)
        from a in Gen.Choose(0, n)
        from b in Gen.Choose(0, a)
        from c in Gen.Choose(0, b)
        from d in Gen.Choose(0, c)
        from e in Gen.Choose(0, n - (a - d))
        let references = new[] { start, Index(start, a), Index(start, b), Index(start, c), Index(start, d), Index(start, a + e) }
        from reqProd in Hostile(references, n)
        from reqEvent in Hostile(references, n)
        from rspProd in Hostile(references, n)
        from rspEvent in Hostile(references, n)
        from scramble in Gen.Elements(true, false)
        from seed in Gen.Choose(0, 1 << 20)
        from call in Gen.Elements(Enum.GetValues<SharedRingCall>())
        select new HostileSharedRingCase(n, start, a, b, c, d, e, reqProd, reqEvent, rspProd, rspEvent, scramble, seed, call);

    [Fact]
    public void Arbitrary_shared_indices_and_slots_never_escape_RingCorruptedException() =>
        Check.One(PropertyRuns.Cases(1000), Prop.ForAll(Arb.From(Cases, Shrink), (Action<HostileSharedRingCase>)Verify));

    /// <summary>Towards fewer peer writes and a shorter warm-up, keeping the warm-up a correct exchange.</summary>
    private static IEnumerable<HostileSharedRingCase> Shrink(HostileSharedRingCase c)
    {
        HostileSharedRingCase[] candidates =
        [
            c with { ScrambleSlots = false },
            c with { ReqProd = null },
            c with { ReqEvent = null },
            c with { RspProd = null },
            c with { RspEvent = null },
            c with { Unpushed = 0 },
            c with { FrontConsumed = 0 },
            c with { FrontConsumed = 0, Answered = 0 },
            c with { FrontConsumed = 0, Answered = 0, BackConsumed = 0 },
            c with { FrontConsumed = 0, Answered = 0, BackConsumed = 0, Pushed = 0 },
        ];
        return candidates.Where(s => s != c && IsCorrectExchange(s)).Distinct();
    }

    private static bool IsCorrectExchange(HostileSharedRingCase c) =>
        c.BackConsumed <= c.Pushed && c.Answered <= c.BackConsumed && c.FrontConsumed <= c.Answered
        && c.Unpushed <= c.SlotCount - (c.Pushed - c.FrontConsumed);

    /// <summary>Left alone, or a value next to one of the ends' private indices, or anything.</summary>
    private static Gen<uint?> Hostile(uint[] references, int slotCount) => Gen.Frequency(
        (2, Gen.Constant((uint?)null)),
        (4, Gen.Elements(references).SelectMany(r => IndexGen.Near(r, 2, slotCount + 2)).Select(v => (uint?)v)),
        (1, IndexGen.AnyUInt.Select(v => (uint?)v)));

    private static uint Index(uint start, int ordinal) => unchecked(start + (uint)ordinal);

    private static void Verify(HostileSharedRingCase c)
    {
        int n = c.SlotCount;
        int ringBytes = SharedRingLayout.HeaderSize + (EntrySize * n);
        byte[] memory = new byte[Guard + ringBytes + Guard];
        memory.AsSpan().Fill(GuardByte);
        Memory<byte> ringMemory = memory.AsMemory(Guard, ringBytes);
        SetHeader(memory, SharedRingLayout.ReqProdOffset, c.Start);
        SetHeader(memory, SharedRingLayout.RspProdOffset, c.Start);
        SetHeader(memory, SharedRingLayout.ReqEventOffset, unchecked(c.Start + 1));
        SetHeader(memory, SharedRingLayout.RspEventOffset, unchecked(c.Start + 1));
        using var front = FrontRing<BlkifRequest, BlkifResponse>.Attach(ringMemory, c.Start);
        using var back = BackRing<BlkifRequest, BlkifResponse>.Attach(ringMemory, c.Start);
        WarmUp(c, front, back);

        // Private indices after the correct exchange.
        uint reqProdPvt = Index(c.Start, c.Pushed + c.Unpushed);
        uint rspCons = Index(c.Start, c.FrontConsumed);
        uint reqCons = Index(c.Start, c.BackConsumed);
        uint rspProdPvt = Index(c.Start, c.Answered);

        // The peer's writes.
        if (c.ScrambleSlots)
        {
            new Random(c.Seed).NextBytes(memory.AsSpan(Guard + SharedRingLayout.HeaderSize, EntrySize * n));
        }

        SetHeaderIf(memory, SharedRingLayout.ReqProdOffset, c.ReqProd);
        SetHeaderIf(memory, SharedRingLayout.ReqEventOffset, c.ReqEvent);
        SetHeaderIf(memory, SharedRingLayout.RspProdOffset, c.RspProd);
        SetHeaderIf(memory, SharedRingLayout.RspEventOffset, c.RspEvent);
        uint reqProd = Header(memory, SharedRingLayout.ReqProdOffset);
        uint reqEvent = Header(memory, SharedRingLayout.ReqEventOffset);
        uint rspProd = Header(memory, SharedRingLayout.RspProdOffset);
        uint rspEvent = Header(memory, SharedRingLayout.RspEventOffset);
        byte[] expected = (byte[])memory.Clone();
        int SlotAt(uint index) => Guard + SharedRingLayout.HeaderSize + (EntrySize * (int)(index & (uint)(n - 1)));

        // What a correct end may conclude from the values it reads.
        bool responsesConsistent = unchecked(rspProd - rspCons) <= unchecked(reqProdPvt - rspCons);
        bool requestsConsistent = unchecked(reqProd - rspProdPvt) <= (uint)n && unchecked(reqProd - reqCons) <= unchecked(reqProd - rspProdPvt);
        int unconsumedResponses = (int)unchecked(rspProd - rspCons);
        int unconsumedRequests = requestsConsistent
            ? (int)Math.Min(unchecked(reqProd - reqCons), (uint)n - unchecked(reqCons - rspProdPvt))
            : 0;
        bool frontReadsResponses = c.Call is SharedRingCall.FrontFinalCheckForResponses or SharedRingCall.FrontTryConsumeResponse or SharedRingCall.FrontUnconsumedResponses;
        bool backReadsRequests = c.Call is SharedRingCall.BackFinalCheckForRequests or SharedRingCall.BackTryConsumeRequest or SharedRingCall.BackUnconsumedRequests;
        bool corrupted = (frontReadsResponses && !responsesConsistent) || (backReadsRequests && !requestsConsistent);

        BlkifRequest newRequest = BlkifValues.Request(c.Pushed + c.Unpushed, c.Seed);
        var newResponse = new BlkifResponse((ulong)c.Seed, BlkifOperation.Write, BlkifStatus.Error);
        object? result = null;
        Exception? thrown = null;
        try
        {
            result = c.Call switch
            {
                SharedRingCall.FrontTryProduceRequest => front.TryProduceRequest(newRequest),
                SharedRingCall.FrontPushRequests => front.PushRequests(),
                SharedRingCall.FrontFinalCheckForResponses => front.FinalCheckForResponses(),
                SharedRingCall.FrontTryConsumeResponse => front.TryConsumeResponse(out BlkifResponse response) ? response : null,
                SharedRingCall.FrontUnconsumedResponses => front.UnconsumedResponses,
                SharedRingCall.FrontFreeRequests => front.FreeRequests,
                SharedRingCall.BackTryConsumeRequest => back.TryConsumeRequest(out BlkifRequest request) ? request : null,
                SharedRingCall.BackProduceResponse => Produce(back, newResponse),
                SharedRingCall.BackPushResponses => back.PushResponses(),
                SharedRingCall.BackFinalCheckForRequests => back.FinalCheckForRequests(),
                SharedRingCall.BackUnconsumedRequests => back.UnconsumedRequests,
                _ => back.OutstandingRequests,
            };
        }
#pragma warning disable CA1031 // the property classifies every exception
        catch (Exception e)
#pragma warning restore CA1031
        {
            thrown = e;
        }

        if (corrupted)
        {
            var error = thrown as RingCorruptedException;
            Expect.True(error is not null, $"expected RingCorruptedException, got {thrown?.GetType().Name ?? "no exception"}: {thrown?.Message}");
            Expect.Equal(frontReadsResponses ? "rsp" : "req", error!.RingName, "RingCorruptedException.RingName");
            Expect.Equal(frontReadsResponses ? rspCons : reqCons, error.Consumer, "RingCorruptedException.Consumer");
            Expect.Equal(frontReadsResponses ? rspProd : reqProd, error.Producer, "RingCorruptedException.Producer");
        }
        else
        {
            bool owed = rspProdPvt != reqCons;
            if (c.Call == SharedRingCall.BackProduceResponse && !owed)
            {
                // Answering with no request outstanding is the caller's error and depends on nothing the peer wrote.
                Expect.True(thrown is InvalidOperationException, $"ProduceResponse with nothing owed: expected InvalidOperationException, got {thrown}");
            }
            else
            {
                Expect.True(thrown is null, $"the values read are consistent, but the call threw {thrown}");
            }

            switch (c.Call)
            {
                case SharedRingCall.FrontTryProduceRequest:
                {
                    bool room = unchecked(reqProdPvt - rspCons) < (uint)n;
                    Expect.Equal(room, result, "TryProduceRequest returned");
                    if (room)
                    {
                        BlkifValues.Bytes(newRequest).CopyTo(expected.AsSpan(SlotAt(reqProdPvt)));
                        reqProdPvt = unchecked(reqProdPvt + 1);
                    }

                    break;
                }

                case SharedRingCall.FrontPushRequests:
                    Expect.Equal(NotifyRuleProperties.EventInPushedRange(reqProd, reqProdPvt, reqEvent), result, "PushRequests notify");
                    SetHeader(expected, SharedRingLayout.ReqProdOffset, reqProdPvt);
                    break;
                case SharedRingCall.FrontFinalCheckForResponses:
                    Expect.Equal(unconsumedResponses != 0, result, "FinalCheckForResponses");
                    if (unconsumedResponses == 0)
                    {
                        SetHeader(expected, SharedRingLayout.RspEventOffset, unchecked(rspCons + 1));
                    }

                    break;
                case SharedRingCall.FrontTryConsumeResponse:
                    if (unconsumedResponses == 0)
                    {
                        Expect.True(result is null, "TryConsumeResponse returned a response from an empty ring");
                    }
                    else
                    {
                        Expect.True(result is BlkifResponse, "TryConsumeResponse returned false with responses published");
                        Expect.Bytes(memory.AsSpan(SlotAt(rspCons), 16), BlkifValues.Bytes((BlkifResponse)result!), "the response copied out of its slot");
                        rspCons = unchecked(rspCons + 1);
                    }

                    break;
                case SharedRingCall.FrontUnconsumedResponses:
                    Expect.Equal(unconsumedResponses, result, "UnconsumedResponses");
                    break;
                case SharedRingCall.FrontFreeRequests:
                    Expect.Equal(n - (int)unchecked(reqProdPvt - rspCons), result, "FreeRequests");
                    break;
                case SharedRingCall.BackTryConsumeRequest:
                    if (unconsumedRequests == 0)
                    {
                        Expect.True(result is null, "TryConsumeRequest returned a request when none may be consumed");
                    }
                    else
                    {
                        Expect.True(result is BlkifRequest, "TryConsumeRequest returned false with requests published");
                        Expect.Bytes(memory.AsSpan(SlotAt(reqCons), EntrySize), BlkifValues.Bytes((BlkifRequest)result!), "the request copied out of its slot");
                        reqCons = unchecked(reqCons + 1);
                    }

                    break;
                case SharedRingCall.BackProduceResponse:
                    if (owed)
                    {
                        BlkifValues.Bytes(newResponse).CopyTo(expected.AsSpan(SlotAt(rspProdPvt)));
                        rspProdPvt = unchecked(rspProdPvt + 1);
                    }

                    break;
                case SharedRingCall.BackPushResponses:
                    Expect.Equal(NotifyRuleProperties.EventInPushedRange(rspProd, rspProdPvt, rspEvent), result, "PushResponses notify");
                    SetHeader(expected, SharedRingLayout.RspProdOffset, rspProdPvt);
                    break;
                case SharedRingCall.BackFinalCheckForRequests:
                    Expect.Equal(unconsumedRequests != 0, result, "FinalCheckForRequests");
                    if (unconsumedRequests == 0)
                    {
                        SetHeader(expected, SharedRingLayout.ReqEventOffset, unchecked(reqCons + 1));
                    }

                    break;
                case SharedRingCall.BackUnconsumedRequests:
                    Expect.Equal(unconsumedRequests, result, "UnconsumedRequests");
                    break;
                case SharedRingCall.BackOutstandingRequests:
                    Expect.Equal((int)unchecked(reqCons - rspProdPvt), result, "OutstandingRequests");
                    break;
            }
        }

        Expect.Equal(reqProdPvt, front.RequestProducerPrivate, "front req_prod_pvt");
        Expect.Equal(rspCons, front.ResponseConsumer, "front rsp_cons");
        Expect.Equal(reqCons, back.RequestConsumer, "back req_cons");
        Expect.Equal(rspProdPvt, back.ResponseProducerPrivate, "back rsp_prod_pvt");
        Expect.Bytes(expected, memory, "memory after the call (only what the call may write)");
    }

    private static void WarmUp(HostileSharedRingCase c, FrontRing<BlkifRequest, BlkifResponse> front, BackRing<BlkifRequest, BlkifResponse> back)
    {
        for (int i = 0; i < c.Pushed; i++)
        {
            Expect.True(front.TryProduceRequest(BlkifValues.Request(i, c.Seed + i)), "warm-up: produce");
        }

        front.PushRequests();
        for (int i = 0; i < c.BackConsumed; i++)
        {
            Expect.True(back.TryConsumeRequest(out _), "warm-up: consume request");
        }

        for (int i = 0; i < c.Answered; i++)
        {
            back.ProduceResponse(new BlkifResponse((ulong)i, BlkifOperation.Read, BlkifStatus.Okay));
        }

        back.PushResponses();
        for (int i = 0; i < c.FrontConsumed; i++)
        {
            Expect.True(front.TryConsumeResponse(out _), "warm-up: consume response");
        }

        for (int i = 0; i < c.Unpushed; i++)
        {
            Expect.True(front.TryProduceRequest(BlkifValues.Request(c.Pushed + i, c.Seed + i)), "warm-up: produce unpushed");
        }
    }

    private static bool Produce(BackRing<BlkifRequest, BlkifResponse> back, BlkifResponse response)
    {
        back.ProduceResponse(response);
        return true;
    }

    private static uint Header(byte[] memory, int offset) => BinaryPrimitives.ReadUInt32LittleEndian(memory.AsSpan(Guard + offset));

    private static void SetHeader(byte[] memory, int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(memory.AsSpan(Guard + offset), value);

    private static void SetHeaderIf(byte[] memory, int offset, uint? value)
    {
        if (value is uint v)
        {
            SetHeader(memory, offset, v);
        }
    }
}
