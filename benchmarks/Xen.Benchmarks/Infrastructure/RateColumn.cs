using BenchmarkDotNet.Columns;
using BenchmarkDotNet.Reports;
using BenchmarkDotNet.Running;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>A throughput column computed from the mean (or median) time of one operation: units per second.</summary>
/// <param name="name">The column header, e.g. <c>GiB/s</c>.</param>
/// <param name="unitsPerOperation">How many of the column's units one operation moves (1 KiB per op is 1/2^20 GiB).</param>
/// <param name="legend">The legend line.</param>
/// <param name="fromMedian">Whether to use the median time instead of the mean.</param>
public sealed class RateColumn(string name, double unitsPerOperation, string legend, bool fromMedian = false) : IColumn
{
    public string Id => nameof(RateColumn) + "." + name;

    public string ColumnName => name;

    public bool AlwaysShow => true;

    public ColumnCategory Category => ColumnCategory.Custom;

    public int PriorityInCategory => 0;

    public bool IsNumeric => true;

    public UnitType UnitType => UnitType.Dimensionless;

    public string Legend => legend;

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase) => GetValue(summary, benchmarkCase, summary.Style);

    public string GetValue(Summary summary, BenchmarkCase benchmarkCase, SummaryStyle style)
    {
        var statistics = summary[benchmarkCase]?.ResultStatistics;
        double? nanoseconds = fromMedian ? statistics?.Median : statistics?.Mean;
        if (nanoseconds is not > 0)
        {
            return "NA";
        }

        double perSecond = unitsPerOperation * 1e9 / nanoseconds.Value;
        return perSecond.ToString(perSecond >= 100 ? "N0" : "N2", style.CultureInfo);
    }

    public bool IsAvailable(Summary summary) => true;

    public bool IsDefault(Summary summary, BenchmarkCase benchmarkCase) => false;

    public override string ToString() => ColumnName;
}
