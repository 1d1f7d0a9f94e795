using System.Diagnostics.CodeAnalysis;
using System.Runtime.InteropServices;
using System.Text;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using Xen.Benchmarks.Infrastructure;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.TestSupport.Store;

namespace Xen.Benchmarks;

/// <summary>The xenstore daemon a <see cref="XenStoreBenchmarks"/> case talks to.</summary>
public enum XenStoreDaemon
{
    /// <summary>Debian's C xenstored (Xen 4.17) under the peers' shim, its own process.</summary>
    CXenstored,

    /// <summary>Debian's oxenstored (Xen 4.17) under the peers' shim, its own process.</summary>
    OXenstored,

    /// <summary>Our <see cref="XenStoreServer"/>, listening on a Unix socket in the benchmark process.</summary>
    Ours,

    /// <summary>Our <see cref="XenStoreServer"/> alone in its own process (<see cref="XenStoreDaemons"/>), as the real daemons run.</summary>
    OursProcess,

    /// <summary>
    /// <c>native/xs_floor.c</c>: a stand-in daemon that only keeps values by path and answers READ and WRITE, with our
    /// server's socket threading and spin: what any daemon built that way costs at the least.
    /// </summary>
    Floor,
}

/// <summary>
/// READ of a 32-byte value and WRITE of a 32-byte value over a xenstore Unix socket: libxenstore's
/// <c>xs_read</c>/<c>xs_write</c> in a C loop (the baseline) against our client one request at a time and with
/// 16 and 64 requests in flight, with its default settings (<c>*_Client_*</c>) and with
/// <see cref="InlineOptions"/> (<c>*_ClientInline_*</c>), each against C xenstored, oxenstored and our embedded
/// server (in the benchmark's process, and alone in a process of its own as the other two daemons are). Time per
/// request; <c>kops/s</c> is requests answered per second.
/// </summary>
[MemoryDiagnoser]
[CategoriesColumn]
[GroupBenchmarksBy(BenchmarkLogicalGroupRule.ByCategory)]
[Config(typeof(PerRequestConfig))]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes through [GlobalCleanup].")]
public class XenStoreBenchmarks
{
    /// <summary>Requests per invocation (and per P/Invoke of the C loop).</summary>
    public const int Operations = 1024;

    /// <summary>
    /// The client settings of the <c>*_ClientInline_*</c> cases: continuations resume on the receive thread
    /// (<see cref="XenStoreClientOptions.InlineCompletions"/>) and a lone request's reply is waited for by polling for
    /// up to 50 us (<see cref="XenStoreClientOptions.ReceiveSpin"/>). The <c>*_Client_*</c> cases use the defaults.
    /// </summary>
    public static readonly XenStoreClientOptions InlineOptions = new() { InlineCompletions = true, ReceiveSpin = TimeSpan.FromMicroseconds(50) };

    /// <summary>libxenstore connections of the <c>*_LibXenstore_4Connections</c> cases, each looping on its own thread.</summary>
    public const int Connections = 4;

    private const string ReadPath = "/bench/read";
    private const string WritePath = "/bench/write";
    private const int ValueBytes = 32;

    private readonly byte[] _value = Encoding.ASCII.GetBytes("0123456789abcdef0123456789ABCDEF");
    private string? _stateDirectory;
    private int _daemonPid;
    private EmbeddedXenStore? _embedded;
    private XenStoreClient? _client;
    private XenStoreClient? _inlineClient;
    private nint _xs;
    private readonly nint[] _xsConnections = new nint[Connections];
    private nint _readPath;
    private nint _writePath;
    private nint _nativeValue;

    /// <summary>The daemon under test.</summary>
    [Params(XenStoreDaemon.CXenstored, XenStoreDaemon.OXenstored, XenStoreDaemon.Ours, XenStoreDaemon.OursProcess, XenStoreDaemon.Floor)]
    public XenStoreDaemon Daemon { get; set; }

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    private async Task SetupAsync()
    {
        if (_value.Length != ValueBytes)
        {
            throw new InvalidOperationException("The value must be 32 bytes.");
        }

        string socket;
        if (Daemon == XenStoreDaemon.Ours)
        {
            _embedded = await EmbeddedXenStore.StartAsync("xsbench").ConfigureAwait(false);
            socket = _embedded.SocketPath;
        }
        else
        {
            _stateDirectory = $"/tmp/xsbench-{Environment.ProcessId}";
            Directory.CreateDirectory(_stateDirectory);
            socket = Path.Combine(_stateDirectory, "socket");
            _daemonPid = await XenStoreDaemons.StartAsync(Daemon, _stateDirectory).ConfigureAwait(false);
        }

        _client = await XenStoreClient.ConnectAsync(socket).ConfigureAwait(false);
        _inlineClient = await XenStoreClient.ConnectAsync(socket, InlineOptions).ConfigureAwait(false);
        _xs = NativeBaseline.XsOpen(socket);
        if (_xs == 0)
        {
            throw new InvalidOperationException($"libxenstore's xs_open could not connect to {socket}.");
        }

        // The 4-connection cases block 4 pool threads in C loops at once: have them ready rather than injected late.
        ThreadPool.GetMinThreads(out int workers, out int io);
        ThreadPool.SetMinThreads(Math.Max(workers, Connections + Environment.ProcessorCount), io);
        for (int i = 0; i < Connections; i++)
        {
            _xsConnections[i] = NativeBaseline.XsOpen(socket);
            if (_xsConnections[i] == 0)
            {
                throw new InvalidOperationException($"libxenstore's xs_open could not connect to {socket}.");
            }
        }

        _readPath = ToNative(Encoding.ASCII.GetBytes(ReadPath + "\0"));
        _writePath = ToNative(Encoding.ASCII.GetBytes(WritePath + "\0"));
        _nativeValue = ToNative(_value);

        // Check every case does what it claims before measuring anything.
        await _client.WriteAsync(ReadPath, _value).ConfigureAwait(false);
        long read = NativeBaseline.XsReadLoop(_xs, _readPath, 4);
        if (read != 4 * ValueBytes)
        {
            throw new InvalidOperationException($"libxenstore's xs_read loop returned {read}, expected {4 * ValueBytes}.");
        }

        if (NativeBaseline.XsWriteLoop(_xs, _writePath, _nativeValue, ValueBytes, 4) != 4)
        {
            throw new InvalidOperationException("libxenstore's xs_write loop failed.");
        }

        if (!(await _client.ReadAsync(WritePath).ConfigureAwait(false)).AsSpan().SequenceEqual(_value))
        {
            throw new InvalidOperationException("The value libxenstore wrote does not read back.");
        }

        foreach (XenStoreClient client in new[] { _client, _inlineClient })
        {
            await client.WriteAsync(WritePath, "x").ConfigureAwait(false);
            await WriteConcurrentAsync(client, 64, 128).ConfigureAwait(false);
            if (!(await client.ReadAsync(WritePath).ConfigureAwait(false)).AsSpan().SequenceEqual(_value))
            {
                throw new InvalidOperationException("The value our client wrote does not read back.");
            }

            await ReadConcurrentAsync(client, 64, 128).ConfigureAwait(false);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        NativeBaseline.XsClose(_xs);
        for (int i = 0; i < Connections; i++)
        {
            NativeBaseline.XsClose(_xsConnections[i]);
            _xsConnections[i] = 0;
        }
        _xs = 0;
        _client?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _inlineClient?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        _embedded?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        if (_daemonPid != 0)
        {
            PeerDaemons.Stop(_daemonPid);
        }

        Marshal.FreeHGlobal(_readPath);
        Marshal.FreeHGlobal(_writePath);
        Marshal.FreeHGlobal(_nativeValue);
        _readPath = _writePath = _nativeValue = 0;
        if (_stateDirectory is not null && Directory.Exists(_stateDirectory))
        {
            Directory.Delete(_stateDirectory, recursive: true);
        }
    }

    // READ ---------------------------------------------------------------------------------------------------

    /// <summary>libxenstore: <c>xs_read</c> (and <c>free</c>) <see cref="Operations"/> times in one C call.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Read")]
    public long Read_LibXenstore()
    {
        long bytes = NativeBaseline.XsReadLoop(_xs, _readPath, Operations);
        return bytes == (long)Operations * ValueBytes ? bytes : throw new InvalidOperationException($"xs_read loop returned {bytes}.");
    }

    /// <summary>
    /// libxenstore from 4 threads, each looping <c>xs_read</c> on a connection of its own (1024 requests in all): the
    /// load of several toolstack processes, which is how libxenstore clients put a daemon under load.
    /// </summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Read")]
    public void Read_LibXenstore_4Connections() => OnEachConnection(xs =>
    {
        long bytes = NativeBaseline.XsReadLoop(xs, _readPath, Operations / Connections);
        return bytes == (long)Operations / Connections * ValueBytes;
    });

    /// <summary>Ours: <c>await ReadAsync</c>, one request at a time.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Read")]
    public Task Read_Client_1InFlight() => ReadConcurrentAsync(_client!, 1, Operations);

    /// <summary>Ours: 16 loops of <c>await ReadAsync</c> on one connection, so 16 requests are in flight.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Read")]
    public Task Read_Client_16InFlight() => ReadConcurrentAsync(_client!, 16, Operations);

    /// <summary>Ours: 64 loops of <c>await ReadAsync</c> on one connection.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Read")]
    public Task Read_Client_64InFlight() => ReadConcurrentAsync(_client!, 64, Operations);

    /// <summary>Ours with <see cref="InlineOptions"/>: <c>await ReadAsync</c>, one request at a time.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Read")]
    public Task Read_ClientInline_1InFlight() => ReadConcurrentAsync(_inlineClient!, 1, Operations);

    /// <summary>Ours with <see cref="InlineOptions"/>: 16 loops of <c>await ReadAsync</c> on one connection.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Read")]
    public Task Read_ClientInline_16InFlight() => ReadConcurrentAsync(_inlineClient!, 16, Operations);

    /// <summary>Ours with <see cref="InlineOptions"/>: 64 loops of <c>await ReadAsync</c> on one connection.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Read")]
    public Task Read_ClientInline_64InFlight() => ReadConcurrentAsync(_inlineClient!, 64, Operations);

    // WRITE --------------------------------------------------------------------------------------------------

    /// <summary>libxenstore: <c>xs_write</c> <see cref="Operations"/> times in one C call.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Write")]
    public long Write_LibXenstore()
    {
        long done = NativeBaseline.XsWriteLoop(_xs, _writePath, _nativeValue, ValueBytes, Operations);
        return done == Operations ? done : throw new InvalidOperationException("xs_write loop failed.");
    }

    /// <summary>libxenstore from 4 threads, each looping <c>xs_write</c> on a connection of its own (1024 requests in all).</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Write")]
    public void Write_LibXenstore_4Connections() => OnEachConnection(xs =>
        NativeBaseline.XsWriteLoop(xs, _writePath, _nativeValue, ValueBytes, Operations / Connections) == Operations / Connections);

    /// <summary>Ours: <c>await WriteAsync</c>, one request at a time.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Write")]
    public Task Write_Client_1InFlight() => WriteConcurrentAsync(_client!, 1, Operations);

    /// <summary>Ours: 16 loops of <c>await WriteAsync</c> on one connection.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Write")]
    public Task Write_Client_16InFlight() => WriteConcurrentAsync(_client!, 16, Operations);

    /// <summary>Ours: 64 loops of <c>await WriteAsync</c> on one connection.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Write")]
    public Task Write_Client_64InFlight() => WriteConcurrentAsync(_client!, 64, Operations);

    /// <summary>Ours with <see cref="InlineOptions"/>: <c>await WriteAsync</c>, one request at a time.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Write")]
    public Task Write_ClientInline_1InFlight() => WriteConcurrentAsync(_inlineClient!, 1, Operations);

    /// <summary>Ours with <see cref="InlineOptions"/>: 16 loops of <c>await WriteAsync</c> on one connection.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Write")]
    public Task Write_ClientInline_16InFlight() => WriteConcurrentAsync(_inlineClient!, 16, Operations);

    /// <summary>Ours with <see cref="InlineOptions"/>: 64 loops of <c>await WriteAsync</c> on one connection.</summary>
    [Benchmark(OperationsPerInvoke = Operations)]
    [BenchmarkCategory("Write")]
    public Task Write_ClientInline_64InFlight() => WriteConcurrentAsync(_inlineClient!, 64, Operations);

    // ---------------------------------------------------------------------------------------------------------

    /// <summary>Runs <paramref name="loop"/> on every libxenstore connection at once, each on a thread of its own.</summary>
    private void OnEachConnection(Func<nint, bool> loop)
    {
        bool[] ok = new bool[Connections];
        Parallel.For(0, Connections, new ParallelOptions { MaxDegreeOfParallelism = Connections }, c => ok[c] = loop(_xsConnections[c]));
        if (Array.IndexOf(ok, false) >= 0)
        {
            throw new InvalidOperationException("A libxenstore loop failed.");
        }
    }

    /// <summary><paramref name="inFlight"/> loops of READ of <c>/bench/read</c> on one client, <paramref name="total"/> in all, each checking the 32 bytes came back.</summary>
    internal static Task ReadConcurrentAsync(XenStoreClient client, int inFlight, int total)
    {
        if (inFlight == 1)
        {
            return ReadLoopAsync(client, total);
        }

        var loops = new Task[inFlight];
        for (int i = 0; i < inFlight; i++)
        {
            loops[i] = ReadLoopAsync(client, total / inFlight);
        }

        return Task.WhenAll(loops);

        static async Task ReadLoopAsync(XenStoreClient client, int count)
        {
            for (int i = 0; i < count; i++)
            {
                byte[] value = await client.ReadAsync(ReadPath).ConfigureAwait(false);
                if (value.Length != ValueBytes)
                {
                    throw new InvalidOperationException($"READ returned {value.Length} bytes.");
                }
            }
        }
    }

    private Task WriteConcurrentAsync(XenStoreClient client, int inFlight, int total)
    {
        if (inFlight == 1)
        {
            return WriteLoopAsync(client, _value, total);
        }

        var loops = new Task[inFlight];
        for (int i = 0; i < inFlight; i++)
        {
            loops[i] = WriteLoopAsync(client, _value, total / inFlight);
        }

        return Task.WhenAll(loops);

        static async Task WriteLoopAsync(XenStoreClient client, ReadOnlyMemory<byte> value, int count)
        {
            for (int i = 0; i < count; i++)
            {
                await client.WriteAsync(WritePath, value).ConfigureAwait(false);
            }
        }
    }

    private static nint ToNative(byte[] bytes)
    {
        nint memory = Marshal.AllocHGlobal(bytes.Length);
        Marshal.Copy(bytes, 0, memory, bytes.Length);
        return memory;
    }
}
