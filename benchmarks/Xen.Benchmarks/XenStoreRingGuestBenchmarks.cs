using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Xen.Benchmarks.Infrastructure;
using Xen.Store.Client;

namespace Xen.Benchmarks;

/// <summary>
/// A guest's READ and WRITE of a 32-byte value over its xenstore ring, one request at a time, against C xenstored (the
/// baseline) and our server as the drop-in daemon: both started by <c>run_xenstored.sh</c> under the shim, so every
/// request is a kick on the shim's event channel, the daemon's work, and a notification back, the path a real guest's
/// requests take. The guest is the same C program for both (<c>tests/native/xs_guest.c --bench</c>), its own process,
/// told over a pipe to send 1024 requests per invocation. Time per request.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[Config(typeof(PerRequestConfig))]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes through [GlobalCleanup].")]
public class XenStoreRingGuestBenchmarks
{
    /// <summary>Requests per invocation.</summary>
    public const int Operations = 1024;

    private RingGuestDaemon? _c;
    private RingGuestDaemon? _ours;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        _c = await RingGuestDaemon.StartAsync("c").ConfigureAwait(false);
        _ours = await RingGuestDaemon.StartAsync("ours").ConfigureAwait(false);

        // Each guest's requests reach its daemon: what it wrote is there for dom0, after reads and writes alike.
        foreach (RingGuestDaemon daemon in new[] { _c, _ours })
        {
            daemon.Run(write: false, 4);
            daemon.Run(write: true, 4);
            await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(daemon.SocketPath).ConfigureAwait(false);
            string value = await dom0.ReadStringAsync($"/local/domain/{RingGuestDaemon.DomainId}/data/b").ConfigureAwait(false);
            if (value != RingGuestDaemon.Value)
            {
                throw new InvalidOperationException($"dom0 reads {value} where the guest wrote {RingGuestDaemon.Value}.");
            }
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _c?.Dispose();
        _ours?.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Read")]
    public void Read_CXenstored() => _c!.Run(write: false, Operations);

    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Read")]
    public void Read_Ours() => _ours!.Run(write: false, Operations);

    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Write")]
    public void Write_CXenstored() => _c!.Run(write: true, Operations);

    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Write")]
    public void Write_Ours() => _ours!.Run(write: true, Operations);
}
