using BenchmarkDotNet.Attributes;
using Xen.Benchmarks.Infrastructure;
using Xen.Rings.Console;
using Xen.Rings.Memory;

namespace Xen.Benchmarks;

/// <summary>
/// One thread writes a 1 KiB chunk into the 2 KiB <c>out[]</c> ring of a console page and reads it back out,
/// over and over; every case reports the time per chunk (one write plus one read).
/// </summary>
/// <remarks>
/// The indices start at <see cref="StartIndex"/>, just below 2^32 and at ring offset 1536, so the first chunk
/// crosses 2^32, every other chunk wraps round the end of the buffer (two block copies per side), and the
/// indices keep running across invocations. Each C case runs all its chunks in one call.
/// </remarks>
[MemoryDiagnoser]
[Config(typeof(PerKibConfig))]
public unsafe class ConsoleRingBenchmarks
{
    /// <summary>Bytes per chunk.</summary>
    public const int ChunkBytes = 1024;

    /// <summary>Chunks per benchmark invocation.</summary>
    public const int ChunksPerInvoke = 256;

    /// <summary>The initial value of <c>out_cons</c> and <c>out_prod</c>.</summary>
    public const uint StartIndex = 0xFFFF_FA00;

    private SharedPage _page = null!;
    private SharedPage _source = null!;
    private SharedPage _destination = null!;
    private SharedPage _scratch = null!;

    [GlobalSetup]
    public void Setup()
    {
        _page = SharedPage.Allocate();
        _source = SharedPage.Allocate();
        _destination = SharedPage.Allocate();
        _scratch = SharedPage.Allocate();
        Verify();
        new ConsoleFrontend(_page.GetSpan()).Reset(StartIndex);
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        ((IDisposable)_page).Dispose();
        ((IDisposable)_source).Dispose();
        ((IDisposable)_destination).Dispose();
        ((IDisposable)_scratch).Dispose();
    }

    /// <summary>Ours: <see cref="ConsoleFrontend.Write"/> then <see cref="ConsoleBackend.Read"/>.</summary>
    [Benchmark(OperationsPerInvoke = ChunksPerInvoke)]
    public int CSharp_ConsoleRing() => RunManaged(ChunksPerInvoke);

    /// <summary>C with Xen's headers and barriers: two memcpy per side, <c>mb()</c> as hvc_xen and xenconsoled do.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = ChunksPerInvoke)]
    public long C_TwoMemcpy_XenBarriers() =>
        Check(NativeBaseline.ConsoleMemcpy(Page, Source, Destination, ChunkBytes, ChunksPerInvoke));

    /// <summary>The same C ring with acquire/release ordering only (no fence), the ordering the C# ring uses.</summary>
    [Benchmark(OperationsPerInvoke = ChunksPerInvoke)]
    public long C_TwoMemcpy_AcquireRelease() =>
        Check(NativeBaseline.ConsoleMemcpyAcquireRelease(Page, Source, Destination, ChunkBytes, ChunksPerInvoke));

    /// <summary>The loops of Linux's 2006 <c>xencons_ring_send</c>/<c>handle_input</c>: one byte per iteration.</summary>
    [Benchmark(OperationsPerInvoke = ChunksPerInvoke)]
    public long C_ByteLoop_Linux2006() =>
        Check(NativeBaseline.ConsoleByteLoop(Page, Source, Destination, ChunkBytes, ChunksPerInvoke));

    /// <summary>No ring: memcpy 1 KiB into a buffer and out again, the copying any ring must do.</summary>
    [Benchmark(OperationsPerInvoke = ChunksPerInvoke)]
    public long C_PlainMemcpyTwice() =>
        Check(NativeBaseline.MemcpyTwice(Scratch, Source, Destination, ChunkBytes, ChunksPerInvoke));

    private byte* Page => NativeBaseline.AddressOf(_page);

    private byte* Source => NativeBaseline.AddressOf(_source);

    private byte* Destination => NativeBaseline.AddressOf(_destination);

    private byte* Scratch => NativeBaseline.AddressOf(_scratch);

    private int RunManaged(int chunkCount)
    {
        Span<byte> page = _page.GetSpan();
        var guest = new ConsoleFrontend(page);
        var daemon = new ConsoleBackend(page);
        ReadOnlySpan<byte> source = _source.GetSpan()[..ChunkBytes];
        Span<byte> destination = _destination.GetSpan()[..ChunkBytes];
        int total = 0;
        for (int i = 0; i < chunkCount; i++)
        {
            int written = guest.Write(source);
            int read = daemon.Read(destination);
            if (written != ChunkBytes || read != ChunkBytes)
            {
                Fail();
            }

            total += read;
        }

        return total;
    }

    private static long Check(long bytes) => bytes == (long)ChunkBytes * ChunksPerInvoke ? bytes : Fail();

    private static int Fail() => throw new InvalidOperationException("A chunk did not go through the ring whole.");

    /// <summary>Each implementation moves a patterned chunk through the ring intact, across 2^32.</summary>
    private void Verify()
    {
        Span<byte> source = _source.GetSpan()[..ChunkBytes];
        var pass = 0;
        foreach (Func<long> run in new Func<long>[]
        {
            () => RunManaged(3),
            () => NativeBaseline.ConsoleMemcpy(Page, Source, Destination, ChunkBytes, 3),
            () => NativeBaseline.ConsoleMemcpyAcquireRelease(Page, Source, Destination, ChunkBytes, 3),
            () => NativeBaseline.ConsoleByteLoop(Page, Source, Destination, ChunkBytes, 3),
            () => NativeBaseline.MemcpyTwice(Scratch, Source, Destination, ChunkBytes, 3),
        })
        {
            pass++;
            for (int i = 0; i < source.Length; i++)
            {
                source[i] = (byte)((i * 7) + pass);
            }

            _destination.GetSpan().Clear();
            new ConsoleFrontend(_page.GetSpan()).Reset(StartIndex);
            if (run() != 3 * ChunkBytes || !_destination.GetSpan()[..ChunkBytes].SequenceEqual(source))
            {
                throw new InvalidOperationException($"Case {pass} did not move the bytes intact.");
            }
        }
    }
}
