using System.Diagnostics.CodeAnalysis;
using BenchmarkDotNet.Attributes;
using Xen.Benchmarks.Infrastructure;
using Xen.Rings.Console;
using Xen.Rings.Memory;

namespace Xen.Benchmarks;

/// <summary>
/// A producer thread streams <see cref="TotalBytes"/> through the 2 KiB <c>out[]</c> ring of a console page
/// to a consumer on the benchmark thread. Each side moves up to a ring's worth per call and busy-polls when
/// the ring is full or empty with the same <see cref="PollBackoff"/> schedule in both languages (pause
/// instructions, then yield); there are no event channels. Every case reports the time per MiB.
/// </summary>
/// <remarks>
/// The producer thread lives for the whole run and is started for each invocation with a semaphore, in C# and
/// in C alike, so thread creation is not measured. The two threads need two free cores: on a loaded machine a
/// descheduled peer dominates the figure.
/// </remarks>
[MemoryDiagnoser]
[SuppressMessage("Design", "CA1001", Justification = "BenchmarkDotNet disposes through [GlobalCleanup].")]
[Config(typeof(PerMibConfig))]
public unsafe class TwoThreadStreamBenchmarks
{
    /// <summary>Bytes streamed per invocation.</summary>
    public const long TotalBytes = 64L << 20;

    private const int MebibytesPerInvoke = (int)(TotalBytes >> 20);
    private const int BufferBytes = 64 << 10;

    private SharedPage _page = null!;
    private SharedPage _source = null!;
    private SharedPage _destination = null!;
    private Thread? _producer;
    private SemaphoreSlim? _go;
    private SemaphoreSlim? _done;
    private volatile bool _stop;
    private long _produced;
    private long _total;
    private nint _native;

    [GlobalSetup(Target = nameof(CSharp_FrontendToBackend))]
    public void SetupManaged()
    {
        Allocate();
        _go = new SemaphoreSlim(0);
        _done = new SemaphoreSlim(0);
        _producer = new Thread(ProducerLoop) { IsBackground = true, Name = "ring producer" };
        _producer.Start();
        Verify(() => RunManaged(3 * BufferBytes + 123));
    }

    [GlobalSetup(Target = nameof(C_Pthreads_XenBarriers))]
    public void SetupNative() => SetupNative(fullBarriers: true);

    [GlobalSetup(Target = nameof(C_Pthreads_AcquireRelease))]
    public void SetupNativeAcquireRelease() => SetupNative(fullBarriers: false);

    [GlobalCleanup]
    public void Cleanup()
    {
        if (_producer is not null)
        {
            _stop = true;
            _go!.Release();
            _producer.Join();
            _go.Dispose();
            _done!.Dispose();
        }

        if (_native != 0)
        {
            NativeBaseline.StreamDestroy(_native);
        }

        ((IDisposable)_page).Dispose();
        ((IDisposable)_source).Dispose();
        ((IDisposable)_destination).Dispose();
    }

    /// <summary>Ours: <see cref="ConsoleFrontend.Write"/> on the producer thread, <see cref="ConsoleBackend.Read"/> on this one.</summary>
    [Benchmark(OperationsPerInvoke = MebibytesPerInvoke)]
    public long CSharp_FrontendToBackend() => Check(RunManaged(TotalBytes));

    /// <summary>The same in C with pthreads, two memcpy per side and Xen's <c>mb()</c>.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = MebibytesPerInvoke)]
    public long C_Pthreads_XenBarriers() => Check(RunNative(TotalBytes));

    /// <summary>The same C with acquire/release ordering only (no fence), the ordering the C# ring uses.</summary>
    [Benchmark(OperationsPerInvoke = MebibytesPerInvoke)]
    public long C_Pthreads_AcquireRelease() => Check(RunNative(TotalBytes));

    private static long Check(long received) =>
        received == TotalBytes ? received : throw new InvalidOperationException($"Streamed {received} of {TotalBytes} bytes.");

    private void Allocate()
    {
        _page = SharedPage.Allocate();
        _source = SharedPage.Allocate(BufferBytes);
        _destination = SharedPage.Allocate(BufferBytes);
        Span<byte> source = _source.GetSpan();
        for (int i = 0; i < source.Length; i++)
        {
            source[i] = (byte)((i * 13) ^ (i >> 8));
        }

        new ConsoleFrontend(_page.GetSpan()).Reset(0xFFFF_F000);
    }

    private void SetupNative(bool fullBarriers)
    {
        Allocate();
        _native = NativeBaseline.StreamCreate(NativeBaseline.AddressOf(_page), NativeBaseline.AddressOf(_source), BufferBytes, fullBarriers ? 1 : 0);
        if (_native == 0)
        {
            throw new InvalidOperationException("Could not start the C producer thread.");
        }

        Verify(() => RunNative(3 * BufferBytes + 123));
    }

    private long RunNative(long totalBytes) =>
        NativeBaseline.StreamRun(_native, NativeBaseline.AddressOf(_destination), BufferBytes, (ulong)totalBytes);

    private long RunManaged(long totalBytes)
    {
        _total = totalBytes;
        _go!.Release();
        long received = Consume(totalBytes);
        _done!.Wait();
        return received == totalBytes && Volatile.Read(ref _produced) == totalBytes ? received : -1;
    }

    private long Consume(long totalBytes)
    {
        var daemon = new ConsoleBackend(_page.GetSpan());
        Span<byte> destination = _destination.GetSpan();
        long left = totalBytes;
        int position = 0;
        while (left != 0)
        {
            Span<byte> free = destination.Slice(position, (int)Math.Min(Math.Min(ConsoleLayout.OutSize, left), destination.Length - position));
            int read;
            var backoff = default(PollBackoff);
            while ((read = daemon.Read(free)) == 0)
            {
                backoff.SpinOnce();
            }

            left -= read;
            position += read;
            if (position == destination.Length)
            {
                position = 0;
            }
        }

        return totalBytes;
    }

    private void ProducerLoop()
    {
        while (true)
        {
            _go!.Wait();
            if (_stop)
            {
                return;
            }

            Volatile.Write(ref _produced, Produce(_total));
            _done!.Release();
        }
    }

    private long Produce(long totalBytes)
    {
        var guest = new ConsoleFrontend(_page.GetSpan());
        ReadOnlySpan<byte> source = _source.GetSpan();
        long left = totalBytes;
        int position = 0;
        while (left != 0)
        {
            ReadOnlySpan<byte> chunk = source.Slice(position, (int)Math.Min(Math.Min(ConsoleLayout.OutSize, left), source.Length - position));
            int written;
            var backoff = default(PollBackoff);
            while ((written = guest.Write(chunk)) == 0)
            {
                backoff.SpinOnce();
            }

            left -= written;
            position += written;
            if (position == source.Length)
            {
                position = 0;
            }
        }

        return totalBytes;
    }

    /// <summary>
    /// A short stream arrives intact. Source and destination are both used cyclically with the same length, so
    /// after a few laps every destination byte holds the source byte at the same offset.
    /// </summary>
    private void Verify(Func<long> run)
    {
        _destination.GetSpan().Clear();
        if (run() != 3 * BufferBytes + 123 || !_destination.GetSpan().SequenceEqual(_source.GetSpan()))
        {
            throw new InvalidOperationException("The stream did not arrive intact.");
        }
    }
}
