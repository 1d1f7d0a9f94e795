using System.Text;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Client;

/// <summary>Runs its tests alone, so the process's allocation counter sees nothing but them.</summary>
[CollectionDefinition(nameof(AllocationMeasurement), DisableParallelization = true)]
public sealed class AllocationMeasurement;

/// <summary>
/// What our client allocates per request against the real C xenstored (a separate process, so every managed byte
/// counted is the client's): a READ costs its returned value and nothing else, a WRITE nothing, whether one
/// request is in flight or many, and with <see cref="XenStoreClientOptions.InlineCompletions"/> as without. Counts are averaged over thousands of requests after a warm-up, with a small
/// allowance for what the test runner itself allocates meanwhile.
/// </summary>
[Trait("Category", "Interop")]
[Collection(nameof(AllocationMeasurement))]
public sealed class ClientAllocationTests
{
    private const int Requests = 4096;
    private const int ValueBytes = 32;

    /// <summary>Measured rounds per case; the least is kept.</summary>
    private const int Rounds = 5;

    /// <summary>A <c>byte[32]</c> on 64-bit .NET: object header, method table pointer, length (padded), 32 bytes.</summary>
    private const int ValueArrayBytes = 56;

    /// <summary>Per request, for the runner's own background allocations while the loop runs.</summary>
    private const double Allowance = 8;

    private static readonly byte[] Value = Encoding.ASCII.GetBytes("0123456789abcdef0123456789ABCDEF");

    private static XenStoreClientOptions Options(bool inline) =>
        inline ? new XenStoreClientOptions { InlineCompletions = true, ReceiveSpin = TimeSpan.FromMicroseconds(50) } : new XenStoreClientOptions();

    [Theory]
    [InlineData(1, false)]
    [InlineData(16, false)]
    [InlineData(64, false)]
    [InlineData(1, true)]
    [InlineData(64, true)]
    public async Task A_READ_allocates_only_the_value_it_returns(int inFlight, bool inline)
    {
        await using XenstoredPeer daemon = await XenstoredPeer.StartAsync(XenstoredKind.C);
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(daemon.SocketPath, Options(inline));
        await client.WriteAsync("/alloc/read", Value);

        async Task ReadLoop(int count)
        {
            for (int i = 0; i < count; i++)
            {
                byte[] read = await client.ReadAsync("/alloc/read").ConfigureAwait(false);
                if (read.Length != ValueBytes)
                {
                    throw new InvalidOperationException($"READ returned {read.Length} bytes.");
                }
            }
        }

        double perRequest = await MeasureAsync(inFlight, ReadLoop);
        Assert.True(perRequest <= ValueArrayBytes + Allowance,
            $"{perRequest:F1} bytes allocated per READ with {inFlight} in flight (inline completions: {inline}); the value itself is {ValueArrayBytes}.");
    }

    [Theory]
    [InlineData(1, false)]
    [InlineData(64, false)]
    [InlineData(64, true)]
    public async Task A_WRITE_allocates_nothing(int inFlight, bool inline)
    {
        await using XenstoredPeer daemon = await XenstoredPeer.StartAsync(XenstoredKind.C);
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(daemon.SocketPath, Options(inline));
        ReadOnlyMemory<byte> value = Value;

        async Task WriteLoop(int count)
        {
            for (int i = 0; i < count; i++)
            {
                await client.WriteAsync("/alloc/write", value).ConfigureAwait(false);
            }
        }

        double perRequest = await MeasureAsync(inFlight, WriteLoop);
        Assert.True(perRequest <= Allowance, $"{perRequest:F1} bytes allocated per WRITE with {inFlight} in flight (inline completions: {inline}).");
        Assert.Equal(Value, await client.ReadAsync("/alloc/write"));
    }

    /// <summary>
    /// Bytes allocated (all threads) per request for <see cref="Requests"/> requests from <paramref name="inFlight"/>
    /// loops, after a warm-up: the least of <see cref="Rounds"/> rounds, since whatever else the process does
    /// meanwhile (the runner, other tests' leftovers finishing) can only add to a round, never take away.
    /// </summary>
    private static async Task<double> MeasureAsync(int inFlight, Func<int, Task> loop)
    {
        Task Run() => Task.WhenAll(Enumerable.Range(0, inFlight).Select(_ => loop(Requests / inFlight)));

        await Run().WaitAsync(Deadline.Default); // warm-up: JIT, pools, socket buffers
        double least = double.MaxValue;
        Task[] loops = new Task[inFlight];
        for (int round = 0; round < Rounds; round++)
        {
            long before = GC.GetTotalAllocatedBytes(precise: true);
            for (int i = 0; i < inFlight; i++)
            {
                loops[i] = loop(Requests / inFlight);
            }

            foreach (Task t in loops)
            {
                await t.ConfigureAwait(false);
            }

            long after = GC.GetTotalAllocatedBytes(precise: true);
            least = Math.Min(least, (after - before) / (double)Requests);
        }

        return least;
    }
}
