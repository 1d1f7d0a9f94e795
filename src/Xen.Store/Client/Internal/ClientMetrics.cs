using System.Diagnostics;
using System.Diagnostics.Metrics;
using Xen.Store.Server;
using Xen.Store.Wire;

namespace Xen.Store.Client.Internal;

/// <summary>
/// The client's instruments (<see cref="XenStoreMetrics"/> names them), each used behind its <c>Enabled</c>: a
/// request's start is timed only while someone listens to the round-trip histogram. Clients without a meter factory
/// share one instance.
/// </summary>
internal sealed class ClientMetrics
{
    private static readonly Lazy<ClientMetrics> Shared = new(() => new ClientMetrics(XenStoreMetrics.MeterFor(null)));

    private readonly Histogram<double> _duration;
    private readonly Counter<long> _reconnects;
    private readonly Counter<long> _watchEventsDropped;

    private ClientMetrics(Meter meter)
    {
        _duration = meter.CreateHistogram<double>(
            XenStoreMetrics.ClientRequestDuration,
            "s",
            "Request round trips, request sent to reply read",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5] });
        _reconnects = meter.CreateCounter<long>(XenStoreMetrics.ClientReconnects, "{reconnect}", "Connections re-established");
        _watchEventsDropped = meter.CreateCounter<long>(XenStoreMetrics.ClientWatchEventsDropped, "{event}", "Watch events dropped for a consumer that fell behind");
    }

    /// <summary>The process's shared instance, or one on a meter of <paramref name="factory"/>.</summary>
    public static ClientMetrics For(IMeterFactory? factory) =>
        factory is null ? Shared.Value : new ClientMetrics(XenStoreMetrics.MeterFor(factory));

    /// <summary>A timestamp for a request about to be sent, or 0 while no one listens to the round trips.</summary>
    public long RequestStarting() => _duration.Enabled ? Stopwatch.GetTimestamp() : 0;

    /// <summary>The reply to a request started at <paramref name="started"/> (from <see cref="RequestStarting"/>) has been read.</summary>
    public void RequestAnswered(XsMessageType type, long started)
    {
        if (started != 0 && _duration.Enabled)
        {
            _duration.Record(
                Stopwatch.GetElapsedTime(started).TotalSeconds,
                new KeyValuePair<string, object?>(XenStoreMetrics.TypeTag, StoreTrace.TypeName(type)));
        }
    }

    public void Reconnected() => _reconnects.Add(1);

    public void WatchEventDropped() => _watchEventsDropped.Add(1);
}
