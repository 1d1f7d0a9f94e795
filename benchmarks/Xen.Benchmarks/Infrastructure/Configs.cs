using BenchmarkDotNet.Configs;

namespace Xen.Benchmarks.Infrastructure;

/// <summary>Adds a GiB/s column for suites whose operation moves 1 KiB.</summary>
public sealed class PerKibConfig : ManualConfig
{
    public PerKibConfig() => AddColumn(new RateColumn("GiB/s", 1.0 / (1 << 20), "GiB/s: bytes through the ring per second (1 KiB per operation)"));
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

/// <summary>Adds a thousands-per-second column for suites whose operation is one xenstore request.</summary>
public sealed class PerRequestConfig : ManualConfig
{
    public PerRequestConfig() => AddColumn(new RateColumn("kops/s", 1e-3, "kops/s: xenstore requests answered per second, in thousands"));
}
