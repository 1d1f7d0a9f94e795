using System.Diagnostics.Metrics;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// The server's instruments (<see cref="XenStoreMetrics"/> names them). The counters are bumped where the event
/// happens, each behind its instrument's <c>Enabled</c> so that a server nobody listens to pays one check; the gauges
/// are read from the engines only when a listener collects them.
/// </summary>
/// <remarks>
/// Servers without a meter factory share one instance (one meter for the process, its gauges summed over every live
/// server); a server with a factory gets an instance of its own, whose gauges read that server alone.
/// </remarks>
internal sealed class ServerMetrics
{
    private static readonly Lazy<ServerMetrics> Shared = new(() => new ServerMetrics(XenStoreMetrics.MeterFor(null)));

    private readonly object _enginesGate = new();
    private readonly List<StoreEngine> _engines = [];
    private readonly Counter<long> _requests;
    private readonly Counter<long> _errors;
    private readonly Counter<long> _watchEvents;
    private readonly Counter<long> _watchEventsDropped;
    private readonly UpDownCounter<long> _connections;
    private readonly Counter<long> _connectionsDropped;
    private readonly Counter<long> _quotaRefusals;

    private ServerMetrics(Meter meter)
    {
        Meter = meter;
        _requests = meter.CreateCounter<long>(XenStoreMetrics.ServerRequests, "{request}", "Requests handled");
        _errors = meter.CreateCounter<long>(XenStoreMetrics.ServerErrors, "{request}", "Requests answered with an error");
        _watchEvents = meter.CreateCounter<long>(XenStoreMetrics.ServerWatchEvents, "{event}", "Watch events queued");
        _watchEventsDropped = meter.CreateCounter<long>(XenStoreMetrics.ServerWatchEventsDropped, "{event}", "Watch events a guest did not read in time");
        _connections = meter.CreateUpDownCounter<long>(XenStoreMetrics.ServerConnections, "{connection}", "Open connections");
        _connectionsDropped = meter.CreateCounter<long>(XenStoreMetrics.ServerConnectionsDropped, "{connection}", "Connections dropped for not reading their replies");
        _quotaRefusals = meter.CreateCounter<long>(XenStoreMetrics.ServerQuotaRefusals, "{request}", "Requests refused for a quota");
        meter.CreateObservableGauge(XenStoreMetrics.ServerQueuedMessages, QueuedMessages, "{message}", "Replies and watch events waiting to be sent");
        meter.CreateObservableGauge(XenStoreMetrics.ServerDomainNodes, DomainNodes, "{node}", "Nodes each domain owns");
        meter.CreateObservableGauge(XenStoreMetrics.ServerDomainMemory, DomainMemory, "By", "Bytes each domain holds against its memory quota");
    }

    /// <summary>The meter the instruments are on.</summary>
    public Meter Meter { get; }

    /// <summary>The process's shared instance, or one on a meter of <paramref name="factory"/>.</summary>
    public static ServerMetrics For(IMeterFactory? factory) =>
        factory is null ? Shared.Value : new ServerMetrics(XenStoreMetrics.MeterFor(factory));

    /// <summary>Adds a server's engine to what the gauges read.</summary>
    public void Register(StoreEngine engine)
    {
        lock (_enginesGate)
        {
            _engines.Add(engine);
        }
    }

    /// <summary>Removes a disposed server's engine.</summary>
    public void Unregister(StoreEngine engine)
    {
        lock (_enginesGate)
        {
            _engines.Remove(engine);
        }
    }

    /// <summary>One request handled, and its error if it failed.</summary>
    public void Request(XsMessageType type, XsError? error)
    {
        if (_requests.Enabled)
        {
            _requests.Add(1, new KeyValuePair<string, object?>(XenStoreMetrics.TypeTag, StoreTrace.TypeName(type)));
        }

        if (error is XsError e && _errors.Enabled)
        {
            _errors.Add(
                1,
                new KeyValuePair<string, object?>(XenStoreMetrics.TypeTag, StoreTrace.TypeName(type)),
                new KeyValuePair<string, object?>(XenStoreMetrics.ErrorTag, e == XsError.Unknown ? "unknown" : XsErrors.Name(e)));
        }
    }

    public void WatchEventQueued()
    {
        if (_watchEvents.Enabled)
        {
            _watchEvents.Add(1);
        }
    }

    public void WatchEventsDropped(int count)
    {
        if (_watchEventsDropped.Enabled)
        {
            _watchEventsDropped.Add(count);
        }
    }

    public void ConnectionOpened(ServerConnection connection) => _connections.Add(1, Kind(connection));

    public void ConnectionClosed(ServerConnection connection)
    {
        _connections.Add(-1, Kind(connection));
        if (connection.ClosedForOverflow)
        {
            _connectionsDropped.Add(1, Kind(connection));
        }
    }

    public void QuotaRefused(uint domainId, string quota)
    {
        if (_quotaRefusals.Enabled)
        {
            _quotaRefusals.Add(
                1,
                new KeyValuePair<string, object?>(XenStoreMetrics.QuotaTag, quota),
                new KeyValuePair<string, object?>(XenStoreMetrics.DomainTag, domainId));
        }
    }

    private static KeyValuePair<string, object?> Kind(ServerConnection connection) => new(XenStoreMetrics.ConnectionKindTag, connection.Kind);

    private StoreEngine[] Engines()
    {
        lock (_enginesGate)
        {
            return [.. _engines];
        }
    }

    private IEnumerable<Measurement<long>> QueuedMessages()
    {
        var byKind = new Dictionary<string, long>(StringComparer.Ordinal);
        foreach (StoreEngine engine in Engines())
        {
            foreach (ServerConnection c in engine.Connections())
            {
                byKind[c.Kind] = byKind.GetValueOrDefault(c.Kind) + c.QueuedCount;
            }
        }

        return byKind.Select(k => new Measurement<long>(k.Value, new KeyValuePair<string, object?>(XenStoreMetrics.ConnectionKindTag, k.Key)));
    }

    private IEnumerable<Measurement<long>> DomainNodes() =>
        ByDomain(engine => engine.NodeCounts().Select(kv => KeyValuePair.Create(kv.Key, (long)kv.Value)));

    private IEnumerable<Measurement<long>> DomainMemory() => ByDomain(engine => engine.MemoryCounts());

    /// <summary>A per-domain figure summed over the engines, one measurement a domain.</summary>
    private IEnumerable<Measurement<long>> ByDomain(Func<StoreEngine, IEnumerable<KeyValuePair<uint, long>>> figure)
    {
        var byDomain = new Dictionary<uint, long>();
        foreach (StoreEngine engine in Engines())
        {
            foreach ((uint domain, long value) in figure(engine))
            {
                byDomain[domain] = byDomain.GetValueOrDefault(domain) + value;
            }
        }

        return byDomain.Select(d => new Measurement<long>(d.Value, new KeyValuePair<string, object?>(XenStoreMetrics.DomainTag, d.Key)));
    }
}
