using System.Buffers.Binary;
using System.Collections.Immutable;
using System.Runtime.InteropServices;
using FsCheck;
using FsCheck.Experimental;
using FsCheck.Fluent;
using Xen.Rings.Blkif;
using Xen.Rings.SharedRing;

namespace Xen.Rings.Tests.Properties;

/// <summary>Blkif requests and responses with contents derived from a seed, and exact comparison of them.</summary>
internal static class BlkifValues
{
    public static BlkifRequest Request(int ordinal, int seed)
    {
        var random = new Random(seed);
        var request = new BlkifRequest
        {
            Operation = (BlkifOperation)random.Next(0, 7),
            SegmentCount = (byte)random.Next(0, BlkifConstants.MaxSegmentsPerRequest + 1),
            Handle = (ushort)random.Next(0, 0x10000),
            Id = ((ulong)(uint)ordinal << 32) | (uint)random.Next(),
            SectorNumber = ((ulong)(uint)random.Next() << 32) | (uint)random.Next(),
        };
        for (int i = 0; i < BlkifConstants.MaxSegmentsPerRequest; i++)
        {
            request.Segments[i] = new BlkifRequestSegment((uint)random.Next(), (byte)random.Next(0, 8), (byte)random.Next(0, 8));
        }

        return request;
    }

    public static BlkifResponse Response(in BlkifRequest request, int seed) =>
        new(request.Id, request.Operation, (BlkifStatus)(seed % 3 - 2));

    public static bool SameBytes<T>(in T expected, in T actual)
        where T : unmanaged =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in expected)).SequenceEqual(MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in actual)));

    public static byte[] Bytes<T>(in T value)
        where T : unmanaged =>
        MemoryMarshal.AsBytes(new ReadOnlySpan<T>(in value)).ToArray();

    public static string Show(in BlkifRequest r) => $"id=0x{r.Id:X} op={r.Operation} sector=0x{r.SectorNumber:X}";
}

/// <summary>
/// The object under test: a front end and a back end attached to the same ring memory, which sits in a byte
/// array between guard bytes.
/// </summary>
internal sealed class SharedRingHarness : IDisposable
{
    public const int GuardLength = 64;
    private const byte GuardByte = 0xA5;

    private readonly byte[] _memory;
    private readonly int _ringBytes;

    public SharedRingHarness(int ringBytes, uint start, bool initialize)
    {
        _ringBytes = ringBytes;
        _memory = new byte[GuardLength + ringBytes + GuardLength];
        _memory.AsSpan().Fill(GuardByte);
        new Random(ringBytes).NextBytes(_memory.AsSpan(GuardLength, ringBytes)); // garbage a fresh ring must not depend on
        Memory<byte> ring = _memory.AsMemory(GuardLength, ringBytes);
        if (initialize)
        {
            Front = FrontRing<BlkifRequest, BlkifResponse>.Initialize(ring);
            Expect.True(_memory.AsSpan(GuardLength + SharedRingLayout.PvtOffset, SharedRingLayout.HeaderSize - SharedRingLayout.PvtOffset).IndexOfAnyExcept((byte)0) < 0,
                "Initialize left pvt or padding non-zero");
        }
        else
        {
            // The header as a front end leaves it after SHARED_RING_INIT and `start` requests answered and consumed.
            SetHeader(SharedRingLayout.ReqProdOffset, start);
            SetHeader(SharedRingLayout.RspProdOffset, start);
            SetHeader(SharedRingLayout.ReqEventOffset, unchecked(start + 1));
            SetHeader(SharedRingLayout.RspEventOffset, unchecked(start + 1));
            Front = FrontRing<BlkifRequest, BlkifResponse>.Attach(ring, start);
        }

        Back = BackRing<BlkifRequest, BlkifResponse>.Attach(ring, start);
    }

    public FrontRing<BlkifRequest, BlkifResponse> Front { get; }

    public BackRing<BlkifRequest, BlkifResponse> Back { get; }

    public uint Header(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(_memory.AsSpan(GuardLength + offset));

    public void CheckGuards()
    {
        Expect.True(_memory.AsSpan(0, GuardLength).IndexOfAnyExcept(GuardByte) < 0, "bytes before the ring memory were written");
        Expect.True(_memory.AsSpan(GuardLength + _ringBytes).IndexOfAnyExcept(GuardByte) < 0, "bytes after the ring memory were written");
    }

    public void Dispose()
    {
        Front.Dispose();
        Back.Dispose();
    }

    private void SetHeader(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(_memory.AsSpan(GuardLength + offset), value);
}

/// <summary>What the last operation must have done, as the model computed it.</summary>
internal sealed record SharedRingOutcome(bool Returned, bool MustWake = false, BlkifRequest Request = default, BlkifResponse Response = default)
{
    public static readonly SharedRingOutcome None = new(false);
}

/// <summary>
/// The model: every request and response ever produced, in order, and how many of each have been pushed and
/// consumed; the event indices as the final checks set them; and whether each side is asleep (its final check
/// found nothing and it has not been notified since).
/// </summary>
internal sealed record SharedRingModel(
    int SlotCount,
    uint Start,
    ImmutableList<BlkifRequest> Requests,
    int RequestsPushed,
    int RequestsConsumed,
    ImmutableList<BlkifResponse> Responses,
    int ResponsesPushed,
    int ResponsesConsumed,
    uint RequestEvent,
    uint ResponseEvent,
    bool BackAsleep,
    bool FrontAsleep)
{
    public SharedRingOutcome Outcome { get; init; } = SharedRingOutcome.None;

    public uint ReqProdPvt => Index(Requests.Count);

    public uint ReqProd => Index(RequestsPushed);

    public uint ReqCons => Index(RequestsConsumed);

    public uint RspProdPvt => Index(Responses.Count);

    public uint RspProd => Index(ResponsesPushed);

    public uint RspCons => Index(ResponsesConsumed);

    public int FreeRequests => SlotCount - (Requests.Count - ResponsesConsumed);

    public int UnconsumedResponses => ResponsesPushed - ResponsesConsumed;

    public int UnconsumedRequests => Math.Min(RequestsPushed - RequestsConsumed, SlotCount - (RequestsConsumed - Responses.Count));

    public int OutstandingRequests => RequestsConsumed - Responses.Count;

    public static SharedRingModel Initial(int slotCount, uint start) =>
        new(slotCount, start, [], 0, 0, [], 0, 0, unchecked(start + 1), unchecked(start + 1), false, false);

    public override string ToString() =>
        $"req {Requests.Count - RequestsPushed} unpushed/{RequestsPushed - RequestsConsumed} unconsumed, " +
        $"rsp {Responses.Count - ResponsesPushed} unpushed/{ResponsesPushed - ResponsesConsumed} unconsumed, " +
        $"req_event=0x{RequestEvent:X8} rsp_event=0x{ResponseEvent:X8}" +
        (BackAsleep ? ", back asleep" : "") + (FrontAsleep ? ", front asleep" : "");

    private uint Index(int ordinal) => unchecked(Start + (uint)ordinal);
}

/// <summary>An operation of one side; after it, every counter and shared index is compared with the model.</summary>
internal abstract class SharedRingOperation : Operation<SharedRingHarness, SharedRingModel>
{
    public sealed override Property Check(SharedRingHarness actual, SharedRingModel model)
    {
        Perform(actual, model);
        FrontRing<BlkifRequest, BlkifResponse> front = actual.Front;
        BackRing<BlkifRequest, BlkifResponse> back = actual.Back;
        Expect.Equal(model.SlotCount, front.SlotCount, "front SlotCount");
        Expect.Equal(model.SlotCount, back.SlotCount, "back SlotCount");
        Expect.Equal(model.FreeRequests, front.FreeRequests, $"after {this}: FreeRequests");
        Expect.Equal(model.FreeRequests == 0, front.IsFull, $"after {this}: IsFull");
        Expect.Equal(model.UnconsumedResponses, front.UnconsumedResponses, $"after {this}: UnconsumedResponses");
        Expect.Equal(model.UnconsumedRequests, back.UnconsumedRequests, $"after {this}: UnconsumedRequests");
        Expect.Equal(model.OutstandingRequests, back.OutstandingRequests, $"after {this}: OutstandingRequests");
        Expect.Equal(model.ReqProdPvt, front.RequestProducerPrivate, $"after {this}: req_prod_pvt");
        Expect.Equal(model.RspCons, front.ResponseConsumer, $"after {this}: rsp_cons");
        Expect.Equal(model.ReqCons, back.RequestConsumer, $"after {this}: req_cons");
        Expect.Equal(model.RspProdPvt, back.ResponseProducerPrivate, $"after {this}: rsp_prod_pvt");
        Expect.Equal(model.ReqProd, front.SharedRequestProducer, $"after {this}: SharedRequestProducer");
        Expect.Equal(model.ReqProd, actual.Header(SharedRingLayout.ReqProdOffset), $"after {this}: shared req_prod");
        Expect.Equal(model.RspProd, actual.Header(SharedRingLayout.RspProdOffset), $"after {this}: shared rsp_prod");
        Expect.Equal(model.RequestEvent, actual.Header(SharedRingLayout.ReqEventOffset), $"after {this}: shared req_event");
        Expect.Equal(model.ResponseEvent, actual.Header(SharedRingLayout.RspEventOffset), $"after {this}: shared rsp_event");
        actual.CheckGuards();
        return Prop.ToProperty(true);
    }

    protected abstract void Perform(SharedRingHarness actual, SharedRingModel model);

    /// <summary>The notify a push must return: the event index lies in (old, new], which is what wakes a sleeper.</summary>
    protected static bool ExpectedNotify(uint old, uint @new, uint @event) => NotifyRuleProperties.EventInPushedRange(old, @new, @event);
}

internal sealed class ProduceRequestOperation(int seed) : SharedRingOperation
{
    public override SharedRingModel Run(SharedRingModel model) =>
        model.FreeRequests == 0
            ? model with { Outcome = SharedRingOutcome.None }
            : model with
            {
                Requests = model.Requests.Add(BlkifValues.Request(model.Requests.Count, seed)),
                Outcome = new SharedRingOutcome(true),
            };

    protected override void Perform(SharedRingHarness actual, SharedRingModel model)
    {
        int ordinal = model.Outcome.Returned ? model.Requests.Count - 1 : model.Requests.Count;
        Expect.Equal(model.Outcome.Returned, actual.Front.TryProduceRequest(BlkifValues.Request(ordinal, seed)), $"{this}: returned");
    }

    public override string ToString() => $"front: TryProduceRequest(seed {seed})";
}

internal sealed class PushRequestsOperation : SharedRingOperation
{
    public override SharedRingModel Run(SharedRingModel model)
    {
        bool notify = ExpectedNotify(model.ReqProd, model.ReqProdPvt, model.RequestEvent);
        bool mustWake = model.BackAsleep && model.ReqProdPvt != model.ReqProd;
        return model with
        {
            RequestsPushed = model.Requests.Count,
            BackAsleep = model.BackAsleep && !notify,
            Outcome = new SharedRingOutcome(notify, mustWake),
        };
    }

    protected override void Perform(SharedRingHarness actual, SharedRingModel model)
    {
        bool notify = actual.Front.PushRequests();
        Expect.True(notify || !model.Outcome.MustWake, $"{this}: lost wake-up: the back end's final check found no request and this push of new requests does not notify it");
        Expect.Equal(model.Outcome.Returned, notify, $"{this}: notify");
    }

    public override string ToString() => "front: PushRequests";
}

internal sealed class FinalCheckForResponsesOperation : SharedRingOperation
{
    public override SharedRingModel Run(SharedRingModel model) =>
        model.UnconsumedResponses != 0
            ? model with { Outcome = new SharedRingOutcome(true) }
            : model with { ResponseEvent = unchecked(model.RspCons + 1), FrontAsleep = true, Outcome = SharedRingOutcome.None };

    protected override void Perform(SharedRingHarness actual, SharedRingModel model) =>
        Expect.Equal(model.Outcome.Returned, actual.Front.FinalCheckForResponses(), $"{this}: work pending");

    public override string ToString() => "front: FinalCheckForResponses";
}

internal sealed class ConsumeResponseOperation : SharedRingOperation
{
    public override SharedRingModel Run(SharedRingModel model) =>
        model.UnconsumedResponses == 0
            ? model with { Outcome = SharedRingOutcome.None }
            : model with
            {
                ResponsesConsumed = model.ResponsesConsumed + 1,
                Outcome = new SharedRingOutcome(true, Response: model.Responses[model.ResponsesConsumed]),
            };

    protected override void Perform(SharedRingHarness actual, SharedRingModel model)
    {
        bool returned = actual.Front.TryConsumeResponse(out BlkifResponse response);
        Expect.Equal(model.Outcome.Returned, returned, $"{this}: returned");
        Expect.True(BlkifValues.SameBytes(model.Outcome.Response, response), $"{this}: got {response}, expected {model.Outcome.Response}");
    }

    public override string ToString() => "front: TryConsumeResponse";
}

internal sealed class ConsumeRequestOperation : SharedRingOperation
{
    public override SharedRingModel Run(SharedRingModel model) =>
        model.UnconsumedRequests == 0
            ? model with { Outcome = SharedRingOutcome.None }
            : model with
            {
                RequestsConsumed = model.RequestsConsumed + 1,
                Outcome = new SharedRingOutcome(true, Request: model.Requests[model.RequestsConsumed]),
            };

    protected override void Perform(SharedRingHarness actual, SharedRingModel model)
    {
        bool returned = actual.Back.TryConsumeRequest(out BlkifRequest request);
        Expect.Equal(model.Outcome.Returned, returned, $"{this}: returned");
        Expect.True(BlkifValues.SameBytes(model.Outcome.Request, request),
            $"{this}: got {BlkifValues.Show(request)}, expected {BlkifValues.Show(model.Outcome.Request)} (or their other bytes differ)");
    }

    public override string ToString() => "back: TryConsumeRequest";
}

/// <summary>Answers the oldest unanswered request; with none owed the back end must refuse (InvalidOperationException).</summary>
internal sealed class ProduceResponseOperation(int seed) : SharedRingOperation
{
    public override SharedRingModel Run(SharedRingModel model) =>
        model.OutstandingRequests == 0
            ? model with { Outcome = SharedRingOutcome.None }
            : model with
            {
                Responses = model.Responses.Add(BlkifValues.Response(model.Requests[model.Responses.Count], seed)),
                Outcome = new SharedRingOutcome(true),
            };

    protected override void Perform(SharedRingHarness actual, SharedRingModel model)
    {
        if (model.Outcome.Returned)
        {
            actual.Back.ProduceResponse(model.Responses[^1]);
        }
        else
        {
            Expect.True(Expect.Thrown(() => actual.Back.ProduceResponse(new BlkifResponse(1, BlkifOperation.Read, BlkifStatus.Okay))) is InvalidOperationException,
                $"{this}: producing a response with no request outstanding did not throw InvalidOperationException");
        }
    }

    public override string ToString() => $"back: ProduceResponse(status seed {seed})";
}

internal sealed class PushResponsesOperation : SharedRingOperation
{
    public override SharedRingModel Run(SharedRingModel model)
    {
        bool notify = ExpectedNotify(model.RspProd, model.RspProdPvt, model.ResponseEvent);
        bool mustWake = model.FrontAsleep && model.RspProdPvt != model.RspProd;
        return model with
        {
            ResponsesPushed = model.Responses.Count,
            FrontAsleep = model.FrontAsleep && !notify,
            Outcome = new SharedRingOutcome(notify, mustWake),
        };
    }

    protected override void Perform(SharedRingHarness actual, SharedRingModel model)
    {
        bool notify = actual.Back.PushResponses();
        Expect.True(notify || !model.Outcome.MustWake, $"{this}: lost wake-up: the front end's final check found no response and this push of new responses does not notify it");
        Expect.Equal(model.Outcome.Returned, notify, $"{this}: notify");
    }

    public override string ToString() => "back: PushResponses";
}

internal sealed class FinalCheckForRequestsOperation : SharedRingOperation
{
    public override SharedRingModel Run(SharedRingModel model) =>
        model.UnconsumedRequests != 0
            ? model with { Outcome = new SharedRingOutcome(true) }
            : model with { RequestEvent = unchecked(model.ReqCons + 1), BackAsleep = true, Outcome = SharedRingOutcome.None };

    protected override void Perform(SharedRingHarness actual, SharedRingModel model) =>
        Expect.Equal(model.Outcome.Returned, actual.Back.FinalCheckForRequests(), $"{this}: work pending");

    public override string ToString() => "back: FinalCheckForRequests";
}

internal sealed class SharedRingSetup(int slotCount, int ringBytes, uint start, bool initialize) : Setup<SharedRingHarness, SharedRingModel>
{
    public override SharedRingHarness Actual() => new(ringBytes, start, initialize);

    public override SharedRingModel Model() => SharedRingModel.Initial(slotCount, start);

    public override string ToString() =>
        $"{slotCount} slots in {ringBytes} bytes, " + (initialize ? "front Initialize" : $"both ends attached at 0x{start:X8}");
}

/// <summary>Random interleavings of both ends' operations on one blkif ring.</summary>
internal sealed class SharedRingMachine : Machine<SharedRingHarness, SharedRingModel>
{
    private const int EntrySize = 112; // sizeof(union blkif_sring_entry) on x86_64

    private static readonly Gen<Setup<SharedRingHarness, SharedRingModel>> SetupGen =
        from log in Gen.Choose(0, 5)
        let slots = 1 << log
        from extra in Gen.Choose(0, EntrySize * slots - 1)
        from onePage in Gen.Elements(true, false)
        let ringBytes = slots == 32 && onePage ? SharedRingLayout.PageSize : SharedRingLayout.HeaderSize + (EntrySize * slots) + extra
        from start in IndexGen.Start(64)
        from initialize in Gen.Elements(true, false)
        select (Setup<SharedRingHarness, SharedRingModel>)new SharedRingSetup(slots, ringBytes, initialize && start == 0 ? 0 : start, initialize && start == 0);

    public override Arbitrary<Setup<SharedRingHarness, SharedRingModel>> Setup => Arb.From(SetupGen);

    public override TearDown<SharedRingHarness> TearDown => StateMachine.TearDown<SharedRingHarness>(h => h.Dispose());

    public override Gen<Operation<SharedRingHarness, SharedRingModel>> Next(SharedRingModel model)
    {
        Gen<int> seed = Gen.Choose(0, 9999);
        return Gen.Frequency(
            (5, seed.Select(s => Op(new ProduceRequestOperation(s)))),
            (3, Gen.Constant(Op(new PushRequestsOperation()))),
            (2, Gen.Constant(Op(new FinalCheckForResponsesOperation()))),
            (4, Gen.Constant(Op(new ConsumeResponseOperation()))),
            (5, Gen.Constant(Op(new ConsumeRequestOperation()))),
            (4, seed.Select(s => Op(new ProduceResponseOperation(s)))),
            (3, Gen.Constant(Op(new PushResponsesOperation()))),
            (2, Gen.Constant(Op(new FinalCheckForRequestsOperation()))));
    }

    private static Operation<SharedRingHarness, SharedRingModel> Op(SharedRingOperation operation) => operation;
}
