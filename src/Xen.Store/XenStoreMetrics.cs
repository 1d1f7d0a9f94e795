using System.Diagnostics.Metrics;

namespace Xen.Store;

/// <summary>
/// The names of what Xen.Store measures through <see cref="System.Diagnostics.Metrics"/>: one <c>Meter</c>,
/// <see cref="MeterName"/>, for the server and the client. Read them with <c>dotnet-counters monitor --counters
/// Xen.Store -p PID</c>, an OpenTelemetry <c>AddMeter("Xen.Store")</c>, or a <c>MeterListener</c>; nothing is
/// measured (beyond one check per request) while no one listens.
/// </summary>
/// <remarks>
/// A server or client given an <see cref="System.Diagnostics.Metrics.IMeterFactory"/> (<c>MeterFactory</c> in its options)
/// creates its own meter of that name from it, so that a host with several (tests, say) can tell them apart; without
/// one, every server and client of the process shares one meter. Tags: <see cref="TypeTag"/> is the request's type as
/// C xenstored's trace names it (<c>READ</c>, <c>TRANSACTION_START</c>), <see cref="ErrorTag"/> the error's wire name
/// (<c>ENOENT</c>), <see cref="ConnectionKindTag"/> <c>socket</c>, <c>ring</c> or <c>in-process</c>,
/// <see cref="DomainTag"/> the domid.
/// </remarks>
public static class XenStoreMetrics
{
    /// <summary>The meter's name: <c>Xen.Store</c>.</summary>
    public const string MeterName = "Xen.Store";

    private static readonly Lazy<Meter> ProcessMeter = new(() => new Meter(MeterName));

    /// <summary>The meter a server's or client's instruments go on: one of <paramref name="factory"/>, or the process's shared one.</summary>
    internal static Meter MeterFor(IMeterFactory? factory) =>
        factory?.Create(MeterName) ?? ProcessMeter.Value;

    /// <summary>Counter of the requests the server handled, by <see cref="TypeTag"/>.</summary>
    public const string ServerRequests = "xenstore.server.requests";

    /// <summary>Counter of the requests the server answered with an error, by <see cref="TypeTag"/> and <see cref="ErrorTag"/>.</summary>
    public const string ServerErrors = "xenstore.server.errors";

    /// <summary>Counter of the watch events the server queued for its connections.</summary>
    public const string ServerWatchEvents = "xenstore.server.watch_events";

    /// <summary>
    /// Counter of the watch events the server dropped unsent: a guest that did not read them within
    /// <c>WatchEventTimeout</c>.
    /// </summary>
    public const string ServerWatchEventsDropped = "xenstore.server.watch_events.dropped";

    /// <summary>Up-down counter of the open connections, by <see cref="ConnectionKindTag"/>.</summary>
    public const string ServerConnections = "xenstore.server.connections";

    /// <summary>
    /// Counter of the connections the server dropped because they stopped reading and their queue reached
    /// <c>MaxQueuedMessages</c>, by <see cref="ConnectionKindTag"/>.
    /// </summary>
    public const string ServerConnectionsDropped = "xenstore.server.connections.dropped";

    /// <summary>Gauge of the replies and watch events waiting to be sent, over all connections, by <see cref="ConnectionKindTag"/>.</summary>
    public const string ServerQueuedMessages = "xenstore.server.queued_messages";

    /// <summary>Gauge of the nodes each domain owns (the <c>nodes</c> quota's count), by <see cref="DomainTag"/>.</summary>
    public const string ServerDomainNodes = "xenstore.server.domain.nodes";

    /// <summary>
    /// Gauge of the bytes each domain holds against its <c>memory</c> quota (its nodes' records and paths, its watches), by
    /// <see cref="DomainTag"/>.
    /// </summary>
    public const string ServerDomainMemory = "xenstore.server.domain.memory";

    /// <summary>Counter of the requests refused for a quota, by <see cref="QuotaTag"/> and <see cref="DomainTag"/>.</summary>
    public const string ServerQuotaRefusals = "xenstore.server.quota.refusals";

    /// <summary>Histogram of the client's request round trips (request sent to reply read), in seconds, by <see cref="TypeTag"/>.</summary>
    public const string ClientRequestDuration = "xenstore.client.request.duration";

    /// <summary>Counter of the client's re-established connections (with <c>Reconnect</c> set).</summary>
    public const string ClientReconnects = "xenstore.client.reconnects";

    /// <summary>Counter of the watch events the client dropped because a watch's consumer fell behind its capacity.</summary>
    public const string ClientWatchEventsDropped = "xenstore.client.watch_events.dropped";

    /// <summary>The request type tag.</summary>
    public const string TypeTag = "xenstore.request.type";

    /// <summary>The error tag.</summary>
    public const string ErrorTag = "xenstore.error";

    /// <summary>The connection kind tag.</summary>
    public const string ConnectionKindTag = "xenstore.connection.kind";

    /// <summary>The domain tag.</summary>
    public const string DomainTag = "xenstore.domain";

    /// <summary>The quota tag: its name as C xenstored's <c>xenstore-control quota</c> lists it (<c>nodes</c>, <c>watches</c>).</summary>
    public const string QuotaTag = "xenstore.quota";
}
