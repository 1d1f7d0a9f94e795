using System.Diagnostics;
using Microsoft.Extensions.Logging;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// Tells of each request refused for a quota: counted in <see cref="XenStoreMetrics.ServerQuotaRefusals"/> every
/// time, and logged as a warning naming the domain, the quota and the request, at most once per domain and quota in
/// <see cref="ReportInterval"/> (the next line says how many were left out), so that a guest retrying in a loop costs the
/// log a line every few seconds, not one per request. Used under the engine's lock.
/// </summary>
internal sealed class QuotaRefusals(ILogger logger, ServerMetrics metrics)
{
    /// <summary>The least time between two log lines for one domain and quota.</summary>
    public static readonly TimeSpan ReportInterval = TimeSpan.FromSeconds(10);

    private static readonly long IntervalTicks = (long)(ReportInterval.TotalSeconds * Stopwatch.Frequency);
    private readonly Dictionary<(uint Domain, string Quota), (long Quiet, int LeftOut)> _recent = [];

    /// <summary>The request being handled (set by the engine before each one), for the log line.</summary>
    public XsMessageType Request { get; set; }

    /// <summary>A request of <paramref name="domainId"/> was refused for the quota <paramref name="quota"/> of <paramref name="limit"/>.</summary>
    public void Refused(uint domainId, string quota, int limit)
    {
        metrics.QuotaRefused(domainId, quota);
        if (!logger.IsEnabled(LogLevel.Warning))
        {
            return;
        }

        long now = Stopwatch.GetTimestamp();
        (uint, string) key = (domainId, quota);
        _recent.TryGetValue(key, out var last);
        if (last.Quiet != 0 && now < last.Quiet)
        {
            _recent[key] = last with { LeftOut = last.LeftOut + 1 };
            return;
        }

        string leftOut = last.LeftOut > 0 ? $" ({last.LeftOut} more refusals since the last report)" : "";
        StoreLog.QuotaReached(logger, domainId, quota, limit, StoreTrace.TypeName(Request), leftOut);
        _recent[key] = (now + IntervalTicks, 0);
    }

    /// <summary>Forgets a released domain's reports (its domid may be reused).</summary>
    public void Forget(uint domainId)
    {
        foreach (var key in _recent.Keys.Where(k => k.Domain == domainId).ToList())
        {
            _recent.Remove(key);
        }
    }
}
