using System.Runtime.CompilerServices;

namespace Xen.Rings.SharedRing;

/// <summary>Size and validation rules shared by <see cref="FrontRing{TRequest, TResponse}"/> and <see cref="BackRing{TRequest, TResponse}"/>.</summary>
internal static class RingEntry
{
    public static int Size<TRequest, TResponse>(int entrySize)
        where TRequest : unmanaged
        where TResponse : unmanaged
    {
        int min = Math.Max(Unsafe.SizeOf<TRequest>(), Unsafe.SizeOf<TResponse>());
        if (entrySize == 0)
        {
            return min;
        }

        if (entrySize < min)
        {
            ThrowHelper.ThrowArgument($"The entry size {entrySize} is smaller than the request ({Unsafe.SizeOf<TRequest>()}) or response ({Unsafe.SizeOf<TResponse>()}).", nameof(entrySize));
        }

        return entrySize;
    }

    public static void CheckMemory(int length, int entrySize, string paramName)
    {
        if (length < SharedRingLayout.HeaderSize + entrySize)
        {
            ThrowHelper.ThrowArgument($"A shared ring of {length} bytes has no room for one {entrySize}-byte entry after the 64-byte header.", paramName);
        }
    }
}
