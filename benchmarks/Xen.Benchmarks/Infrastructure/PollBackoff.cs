using System.Runtime.Intrinsics.X86;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>
/// The backoff of a thread polling a full or empty ring, step for step the same as <c>spin_once()</c> in
/// <c>native/xen_bench.c</c>, so the C# and C streaming cases wait identically: 1, 2, 4 ... 32 and then 64
/// <c>pause</c> instructions for the first ten polls, then alternately yield the CPU and spin 64 pauses.
/// (<see cref="SpinWait"/> follows the same plan, but its spin unit is calibrated by the runtime and has no C
/// equivalent.)
/// </summary>
internal struct PollBackoff
{
    private uint _count;

    public void SpinOnce()
    {
        if (_count >= 10 && ((_count - 10) & 1) == 0)
        {
            Thread.Yield();
        }
        else
        {
            for (uint n = _count < 6 ? 1u << (int)_count : 64; n != 0; n--)
            {
                if (X86Base.IsSupported)
                {
                    X86Base.Pause();
                }
                else
                {
                    Thread.SpinWait(1);
                }
            }
        }

        _count++;
    }
}
