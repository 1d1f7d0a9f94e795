using FsCheck;
using FsCheck.Fluent;

namespace Xen.Rings.Tests.Properties;

/// <summary>Run settings shared by the property tests: a fixed number of cases, a fresh seed each run.</summary>
internal static class PropertyRuns
{
    /// <summary>Throws on the first falsified case (after shrinking it), with the seed to replay it.</summary>
    public static Config Cases(int maxTest) =>
        Config.QuickThrowOnFailure.WithMaxTest(maxTest).WithQuietOnSuccess(true);
}

/// <summary>Generators for free-running <see cref="uint"/> ring indices.</summary>
internal static class IndexGen
{
    /// <summary>Any 32-bit value, uniformly.</summary>
    public static readonly Gen<uint> AnyUInt =
        from high in Gen.Choose(0, 0xFFFF)
        from low in Gen.Choose(0, 0xFFFF)
        select ((uint)high << 16) | (uint)low;

    /// <summary>
    /// A starting index: 0, exactly 0xFFFFFFFF, up to <paramref name="span"/> below 2^32 (so a run crosses the
    /// wrap), around 2^31, or anywhere.
    /// </summary>
    public static Gen<uint> Start(int span) => Gen.Frequency(
        (1, Gen.Constant(0u)),
        (1, Gen.Constant(uint.MaxValue)),
        (4, Gen.Choose(0, span).Select(k => uint.MaxValue - (uint)k)),
        (1, Gen.Choose(-span, span).Select(k => unchecked(0x8000_0000u + (uint)k))),
        (2, AnyUInt));

    /// <summary><paramref name="index"/> plus a small signed offset, wrapping.</summary>
    public static Gen<uint> Near(uint index, int below, int above) =>
        Gen.Choose(-below, above).Select(k => unchecked(index + (uint)k));
}

/// <summary>Failure reporting for model checks: the message names the quantity and both values.</summary>
internal static class Expect
{
    public static void Equal<T>(T expected, T actual, string what)
    {
        if (!EqualityComparer<T>.Default.Equals(expected, actual))
        {
            Assert.Fail($"{what}: expected {Show(expected)}, got {Show(actual)}");
        }
    }

    public static void True(bool condition, string what)
    {
        if (!condition)
        {
            Assert.Fail(what);
        }
    }

    public static void Bytes(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual, string what)
    {
        if (expected.SequenceEqual(actual))
        {
            return;
        }

        int common = Math.Min(expected.Length, actual.Length);
        int at = 0;
        while (at < common && expected[at] == actual[at])
        {
            at++;
        }

        string detail = at < common
            ? $"first difference at byte {at}: expected 0x{expected[at]:X2}, got 0x{actual[at]:X2}"
            : $"lengths differ: expected {expected.Length}, got {actual.Length}";
        Assert.Fail($"{what}: {detail}");
    }

    /// <summary>Runs <paramref name="call"/> and returns the exception it threw, or null.</summary>
    public static Exception? Thrown(Action call)
    {
        try
        {
            call();
            return null;
        }
#pragma warning disable CA1031 // the property classifies every exception
        catch (Exception e)
#pragma warning restore CA1031
        {
            return e;
        }
    }

    private static string Show<T>(T value) => value switch
    {
        uint u => $"0x{u:X8}",
        null => "null",
        _ => value.ToString() ?? "",
    };
}
