namespace Xen.Benchmarks.Infrastructure;

/// <summary>The figures modes' summary of repeated timings.</summary>
internal static class Statistics
{
    /// <summary>The middle value (the upper one of the two middles for an even count).</summary>
    public static double Median(IReadOnlyCollection<double> values)
    {
        double[] sorted = [.. values.Order()];
        return sorted[sorted.Length / 2];
    }
}
