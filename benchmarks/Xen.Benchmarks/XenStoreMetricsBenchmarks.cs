using System.Diagnostics.CodeAnalysis;
using System.Diagnostics.Metrics;
using BenchmarkDotNet.Attributes;
using Xen.Benchmarks.Infrastructure;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.TestSupport;

namespace Xen.Benchmarks;

/// <summary>
/// What the metrics (<see cref="XenStoreMetrics"/>) cost per request: READs of a 32-byte value from our server over an
/// in-process connection (no socket, so the server's and client's own work is most of the time), 1 and 64 in flight,
/// with no listener (the baseline) and with a <see cref="MeterListener"/> taking every measurement of the server's and
/// client's instruments (request and error counters, the round-trip histogram). Each case has its own server and client
/// on its own meter factory, so the listener of one never sees the other.
/// </summary>
[MemoryDiagnoser]
[Config(typeof(PerRequestConfig))]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes through [GlobalCleanup].")]
public class XenStoreMetricsBenchmarks
{
    private const int Operations = 1024;
    private const string Path = "/bench/read"; // what XenStoreBenchmarks.ReadConcurrentAsync reads, 32 bytes

    private ScopedMeterFactory? _quietMeters;
    private ScopedMeterFactory? _listenedMeters;
    private MeterListener? _listener;
    private XenStoreServer? _quietServer;
    private XenStoreServer? _listenedServer;
    private XenStoreClient? _quiet;
    private XenStoreClient? _listened;
    private long _measured;
    private bool _listenedRan; // each case runs in a process of its own: only the listened one must have measured

    /// <summary>Requests in flight on the one connection.</summary>
    [Params(1, 64)]
    public int InFlight { get; set; }

    [GlobalSetup]
    public async Task SetupAsync()
    {
        _quietMeters = new ScopedMeterFactory();
        _listenedMeters = new ScopedMeterFactory();
        (_quietServer, _quiet) = await StartAsync(_quietMeters);
        (_listenedServer, _listened) = await StartAsync(_listenedMeters);
        _listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (ReferenceEquals(instrument.Meter.Scope, _listenedMeters))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        _listener.SetMeasurementEventCallback<long>((_, v, _, _) => Interlocked.Add(ref _measured, v));
        _listener.SetMeasurementEventCallback<double>((_, _, _, _) => Interlocked.Increment(ref _measured));
        _listener.Start();
    }

    [GlobalCleanup]
    public async Task CleanupAsync()
    {
        _listener?.Dispose();
        await _quiet!.DisposeAsync();
        await _listened!.DisposeAsync();
        await _quietServer!.DisposeAsync();
        await _listenedServer!.DisposeAsync();
        _quietMeters!.Dispose();
        _listenedMeters!.Dispose();
        if (_listenedRan && Volatile.Read(ref _measured) == 0)
        {
            throw new InvalidOperationException("The listened case measured nothing: the listener is not attached.");
        }
    }

    /// <summary>No one listens: each instrument is one <c>Enabled</c> check.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    public Task Read_NotListened() => XenStoreBenchmarks.ReadConcurrentAsync(_quiet!, InFlight, Operations);

    /// <summary>A listener takes every measurement.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    public Task Read_Listened()
    {
        _listenedRan = true;
        return XenStoreBenchmarks.ReadConcurrentAsync(_listened!, InFlight, Operations);
    }

    private static async Task<(XenStoreServer, XenStoreClient)> StartAsync(IMeterFactory meters)
    {
        var server = new XenStoreServer(new XenStoreServerOptions { MeterFactory = meters });
        XenStoreClient client = XenStoreClient.Create(server.ConnectInProcess(), new XenStoreClientOptions { MeterFactory = meters });
        await client.WriteAsync(Path, "0123456789abcdef0123456789ABCDEF");
        return (server, client);
    }
}
