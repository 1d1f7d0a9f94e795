using BenchmarkDotNet.Attributes;
using Xen.Benchmarks.Infrastructure;
using Xen.Rings.Blkif;
using Xen.Rings.SharedRing;
using Xen.Rings.Memory;

namespace Xen.Benchmarks;

/// <summary>
/// Both ends of a one-page (32-slot) blkif ring in one thread, in batches: the front end produces
/// <see cref="BatchSize"/> read requests and pushes them (checking notify); the back end copies each request
/// out, answers it, repeats after the final check, and pushes the responses (checking notify); the front end
/// copies the responses out until its final check finds none. Every case reports the time per
/// request+response pair.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PerPairConfig))]
public unsafe class BlkifRingBenchmarks
{
    /// <summary>Requests per batch (half the ring).</summary>
    public const int BatchSize = 16;

    /// <summary>Batches per benchmark invocation.</summary>
    public const int BatchesPerInvoke = 64;

    private const int PairsPerInvoke = BatchSize * BatchesPerInvoke;

    private SharedPage _page = null!;
    private SharedPage _nativePage = null!;
    private FrontRing<BlkifRequest, BlkifResponse> _front = null!;
    private BackRing<BlkifRequest, BlkifResponse> _back = null!;
    private nint _native;
    private BlkifRequest _request;
    private ulong _nextId;
    private ulong _notifications;

    [GlobalSetup]
    public void Setup()
    {
        _page = SharedPage.Allocate();
        _nativePage = SharedPage.Allocate();
        _request = new BlkifRequest { Operation = BlkifOperation.Read, SegmentCount = 1 };
        _request.Segments[0] = new BlkifRequestSegment(8, 0, 7);
        Verify();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _front?.Dispose();
        _back?.Dispose();
        if (_native != 0)
        {
            NativeBaseline.BlkifDestroy(_native);
        }

        ((IDisposable)_page).Dispose();
        ((IDisposable)_nativePage).Dispose();
    }

    /// <summary>Ours: <see cref="FrontRing{TRequest, TResponse}"/> and <see cref="BackRing{TRequest, TResponse}"/>.</summary>
    [Benchmark(OperationsPerInvoke = PairsPerInvoke)]
    public ulong CSharp_FrontRingBackRing() => RunManaged(BatchesPerInvoke);

    /// <summary>The same loop in C with ring.h's macros (RING_COPY_*, the overflow checks, RING_FINAL_CHECK_*).</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = PairsPerInvoke)]
    public long C_RingMacros()
    {
        long sum = NativeBaseline.BlkifRun(_native, BatchesPerInvoke, BatchSize);
        return sum >= 0 ? sum : throw new InvalidOperationException("The C ring reported a full or broken ring.");
    }

    private ulong RunManaged(int batchCount)
    {
        FrontRing<BlkifRequest, BlkifResponse> front = _front;
        BackRing<BlkifRequest, BlkifResponse> back = _back;
        BlkifRequest request = _request;
        ulong sum = 0;
        for (int i = 0; i < batchCount; i++)
        {
            for (int j = 0; j < BatchSize; j++)
            {
                request.Id = _nextId++;
                request.SectorNumber = request.Id * 8;
                if (!front.TryProduceRequest(in request))
                {
                    ThrowFull();
                }
            }

            _notifications += front.PushRequests() ? 1u : 0u;

            do
            {
                while (back.TryConsumeRequest(out BlkifRequest received))
                {
                    back.ProduceResponse(new BlkifResponse(received.Id, received.Operation, BlkifStatus.Okay));
                }
            }
            while (back.FinalCheckForRequests());

            _notifications += back.PushResponses() ? 1u : 0u;

            do
            {
                while (front.TryConsumeResponse(out BlkifResponse response))
                {
                    sum += response.Id + (ulong)(long)response.Status;
                }
            }
            while (front.FinalCheckForResponses());
        }

        return sum;
    }

    private static void ThrowFull() => throw new InvalidOperationException("The ring was full.");

    /// <summary>
    /// Both implementations answer every request of a few batches with the right id and ask for the same
    /// notifications (two per batch: each end's event index lies just past what it last consumed).
    /// </summary>
    private void Verify()
    {
        const int batches = 5;
        const ulong pairs = batches * BatchSize;
        const ulong expectedSum = pairs * (pairs - 1) / 2;

        _front = FrontRing<BlkifRequest, BlkifResponse>.Initialize(_page.Memory);
        _back = BackRing<BlkifRequest, BlkifResponse>.Attach(_page.Memory);
        if (_front.SlotCount != 32 || RunManaged(batches) != expectedSum || _notifications != 2 * batches)
        {
            throw new InvalidOperationException($"The C# ring answered wrongly ({_notifications} notifications).");
        }

        _native = NativeBaseline.BlkifCreate(NativeBaseline.AddressOf(_nativePage));
        if (_native == 0
            || NativeBaseline.BlkifRun(_native, batches, BatchSize) != (long)expectedSum
            || NativeBaseline.BlkifNotifications(_native) != 2 * batches)
        {
            throw new InvalidOperationException("The C ring answered wrongly.");
        }

        // Both rings carry on from here.
    }
}
