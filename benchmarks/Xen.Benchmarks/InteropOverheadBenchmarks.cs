using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using BenchmarkDotNet.Attributes;
using Xen.Benchmarks.Infrastructure;

namespace Xen.Benchmarks;

/// <summary>
/// The cost of one call into libxenbench.so that does nothing, with and without the GC transition, beside an
/// empty managed call that is not inlined. This is the fixed price each native baseline pays per P/Invoke;
/// the suites amortise it over hundreds of operations per call.
/// </summary>
[MemoryDiagnoser]
[SuppressMessage("Performance", "CA1822", Justification = "BenchmarkDotNet measures instance methods.")]
public class InteropOverheadBenchmarks
{
    /// <summary>An empty managed method, not inlined.</summary>
    [Benchmark(Baseline = true)]
    public void Managed_EmptyCall() => Nothing();

    /// <summary><c>[LibraryImport]</c> of an empty C function with <c>[SuppressGCTransition]</c>.</summary>
    [Benchmark]
    public void Native_EmptyCall_SuppressGCTransition() => NativeBaseline.EmptyWithoutTransition();

    /// <summary><c>[LibraryImport]</c> of an empty C function with the normal GC transition.</summary>
    [Benchmark]
    public void Native_EmptyCall() => NativeBaseline.Empty();

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static void Nothing()
    {
    }
}
