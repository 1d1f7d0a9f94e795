using System.Diagnostics.CodeAnalysis;

namespace Xen.Rings;

/// <summary>Throw sites kept out of the hot ring methods so those stay small enough to inline.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn]
    public static void ThrowRingCorrupted(string ringName, uint consumer, uint producer, uint capacity) =>
        throw new RingCorruptedException(ringName, consumer, producer, capacity);

    [DoesNotReturn]
    public static void ThrowRingCorrupted(string message) => throw new RingCorruptedException(message);

    [DoesNotReturn]
    public static void ThrowArgument(string message, string paramName) => throw new ArgumentException(message, paramName);

    [DoesNotReturn]
    public static void ThrowInvalidOperation(string message) => throw new InvalidOperationException(message);
}
