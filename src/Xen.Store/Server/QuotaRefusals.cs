using Microsoft.Extensions.Logging;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// Tells of each request refused for a quota: counted in <see cref="XenStoreMetrics.ServerQuotaRefusals"/> every
/// time, and logged as a warning naming the domain, the quota and the request, through a <see cref="ReportThrottle"/>
/// per domain and quota (the next line says how many were left out). Used under the engine's lock.
/// </summary>
internal sealed class QuotaRefusals(ILogger logger, ServerMetrics metrics)
{
    private readonly Dictionary<(uint Domain, string Quota), ReportThrottle> _throttles = [];

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

        if (!_throttles.TryGetValue((domainId, quota), out ReportThrottle? throttle))
        {
            _throttles[(domainId, quota)] = throttle = new ReportThrottle();
        }

        if (throttle.Due(out int leftOut))
        {
            StoreLog.QuotaReached(logger, domainId, quota, limit, StoreTrace.TypeName(Request), leftOut > 0 ? $" ({leftOut} more refusals since the last report)" : "");
        }
    }

    /// <summary>Forgets a released domain's reports (its domid may be reused).</summary>
    public void Forget(uint domainId)
    {
        foreach (var key in _throttles.Keys.Where(k => k.Domain == domainId).ToList())
        {
            _throttles.Remove(key);
        }
    }
}
