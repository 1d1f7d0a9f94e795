using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Configs;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>
/// Adds a GiB/s column for suites whose operation moves 1 KiB, and the Min and Median columns: on a shared
/// machine a busy neighbour only ever adds time, so the fastest iteration of each case is the steadier figure
/// to compare when the means (and the Ratio column computed from them) swing from run to run.
/// </summary>
public sealed class PerKibConfig : ManualConfig
{
    public PerKibConfig()
    {
        AddColumn(StatisticColumn.Min, StatisticColumn.Median);
        AddColumn(new RateColumn("GiB/s", 1.0 / (1 << 20), "GiB/s: bytes through the ring per second (1 KiB per operation)"));
    }
}

/// <summary>Adds a GiB/s column for suites whose operation moves 1 MiB.</summary>
public sealed class PerMibConfig : ManualConfig
{
    public PerMibConfig() => AddColumn(new RateColumn("GiB/s", 1.0 / (1 << 10), "GiB/s: bytes through the ring per second (1 MiB per operation)"));
}

/// <summary>Adds a millions-per-second column for suites whose operation is one request/response pair.</summary>
public sealed class PerPairConfig : ManualConfig
{
    public PerPairConfig() => AddColumn(new RateColumn("Mpairs/s", 1e-6, "Mpairs/s: request+response pairs per second, in millions"));
}

/// <summary>
/// Adds a thousands-per-second column for suites whose operation is one xenstore request, and the Min and Median
/// columns: with two processes ping-ponging on a shared machine one descheduled iteration can double a short job's
/// mean, so the median is the steadier figure to compare.
/// </summary>
public sealed class PerRequestConfig : ManualConfig
{
    public PerRequestConfig()
    {
        AddColumn(StatisticColumn.Min, StatisticColumn.Median);
        AddColumn(new RateColumn("kops/s", 1e-3, "kops/s: xenstore requests answered per second, in thousands (from the mean)"));
        AddColumn(new RateColumn("kops/s med", 1e-3, "kops/s med: the same from the median", fromMedian: true));
    }
}
