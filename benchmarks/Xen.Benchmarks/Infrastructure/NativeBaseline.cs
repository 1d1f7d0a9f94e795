using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>
/// The C baselines in <c>native/xen_bench.c</c>, <c>xs_bench.c</c> and <c>evtchn_bench.c</c> (libxenbench.so, built by the project). Every argument is
/// blittable, so the generated stubs marshal nothing. Each measured function runs its whole loop natively,
/// one call per many operations; only the empty call, which is the measurement of the call itself, skips
/// the GC transition.
/// </summary>
internal static unsafe partial class NativeBaseline
{
    private const string Library = "xenbench";

    [LibraryImport(Library, EntryPoint = "xb_empty")]
    [SuppressGCTransition]
    public static partial void EmptyWithoutTransition();

    [LibraryImport(Library, EntryPoint = "xb_empty")]
    public static partial void Empty();

    [LibraryImport(Library, EntryPoint = "xb_console_memcpy")]
    public static partial long ConsoleMemcpy(byte* page, byte* source, byte* destination, uint chunkBytes, uint chunkCount);

    [LibraryImport(Library, EntryPoint = "xb_console_memcpy_acqrel")]
    public static partial long ConsoleMemcpyAcquireRelease(byte* page, byte* source, byte* destination, uint chunkBytes, uint chunkCount);

    [LibraryImport(Library, EntryPoint = "xb_console_bytes")]
    public static partial long ConsoleByteLoop(byte* page, byte* source, byte* destination, uint chunkBytes, uint chunkCount);

    [LibraryImport(Library, EntryPoint = "xb_memcpy_twice")]
    public static partial long MemcpyTwice(byte* buffer, byte* source, byte* destination, uint chunkBytes, uint chunkCount);

    [LibraryImport(Library, EntryPoint = "xb_blkif_create")]
    public static partial nint BlkifCreate(byte* page);

    [LibraryImport(Library, EntryPoint = "xb_blkif_run")]
    public static partial long BlkifRun(nint ring, uint batchCount, uint batchSize);

    [LibraryImport(Library, EntryPoint = "xb_blkif_notifications")]
    public static partial ulong BlkifNotifications(nint ring);

    [LibraryImport(Library, EntryPoint = "xb_blkif_destroy")]
    public static partial void BlkifDestroy(nint ring);

    [LibraryImport(Library, EntryPoint = "xb_stream_create")]
    public static partial nint StreamCreate(byte* page, byte* source, uint sourceBytes, int fullBarriers);

    [LibraryImport(Library, EntryPoint = "xb_stream_run")]
    public static partial long StreamRun(nint stream, byte* destination, uint destinationBytes, ulong totalBytes);

    [LibraryImport(Library, EntryPoint = "xb_stream_destroy")]
    public static partial void StreamDestroy(nint stream);

    [LibraryImport(Library, EntryPoint = "xb_xs_open", StringMarshalling = StringMarshalling.Utf8)]
    public static partial nint XsOpen(string socketPath);

    [LibraryImport(Library, EntryPoint = "xb_xs_close")]
    public static partial void XsClose(nint handle);

    [LibraryImport(Library, EntryPoint = "xb_xs_read_loop")]
    public static partial long XsReadLoop(nint handle, nint path, uint count);

    [LibraryImport(Library, EntryPoint = "xb_xs_write_loop")]
    public static partial long XsWriteLoop(nint handle, nint path, nint value, uint length, uint count);

    /// <summary>Opens <paramref name="count"/> libxenstore connections into <paramref name="handles"/>, each writing and reading one node; how many did.</summary>
    [LibraryImport(Library, EntryPoint = "xb_xs_open_many", StringMarshalling = StringMarshalling.Utf8)]
    public static partial uint XsOpenMany(string socketPath, nint* handles, uint count);

    [LibraryImport(Library, EntryPoint = "xb_xs_close_many")]
    public static partial void XsCloseMany(nint* handles, uint count);

    /// <summary>Raises the soft open-file limit to the hard one; the limit now in force.</summary>
    [LibraryImport(Library, EntryPoint = "xb_raise_nofile")]
    public static partial long RaiseOpenFileLimit();

    /// <summary>libxenevtchn: a handle with a port bound unbound for <paramref name="remoteDomainId"/>, or 0.</summary>
    [LibraryImport(Library, EntryPoint = "xb_evtchn_open")]
    public static partial nint EvtchnOpen(uint remoteDomainId, out uint port);

    /// <summary><paramref name="count"/> times notify <paramref name="port"/>, then a blocking pending and unmask; returns how many completed.</summary>
    [LibraryImport(Library, EntryPoint = "xb_evtchn_round_trips")]
    public static partial long EvtchnRoundTrips(nint handle, uint port, long count);

    [LibraryImport(Library, EntryPoint = "xb_evtchn_close")]
    public static partial void EvtchnClose(nint handle);

    /// <summary>The address of a native page (its memory never moves).</summary>
    public static byte* AddressOf(Xen.Rings.Memory.SharedPage page) =>
        (byte*)Unsafe.AsPointer(ref MemoryMarshal.GetReference(page.GetSpan()));
}
