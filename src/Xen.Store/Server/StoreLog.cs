using Microsoft.Extensions.Logging;

namespace Xen.Store.Server;

/// <summary>
/// What the server tells its <see cref="XenStoreServerOptions.Logger"/> (structured: the domain, the connection, the
/// quota's name). Connections coming and going are Debug, domains Information, a guest refused for a quota or a
/// broken ring or a dropped connection Warning (what an operator looks for when a guest fails and dom0 seems silent).
/// </summary>
internal static partial class StoreLog
{
    [LoggerMessage(1, LogLevel.Debug, "Connection {ConnectionId} ({Description}, domain {DomainId}) opened")]
    public static partial void ConnectionOpened(ILogger logger, long connectionId, string description, uint domainId);

    [LoggerMessage(2, LogLevel.Debug, "Connection {ConnectionId} ({Description}, domain {DomainId}) closed: {Reason}")]
    public static partial void ConnectionClosed(ILogger logger, long connectionId, string description, uint domainId, string reason);

    [LoggerMessage(3, LogLevel.Warning, "Connection {ConnectionId} ({Description}, domain {DomainId}) dropped: {Reason}")]
    public static partial void ConnectionDropped(ILogger logger, long connectionId, string description, uint domainId, string reason);

    [LoggerMessage(4, LogLevel.Information, "Domain {DomainId} introduced (gfn {Gfn:x}, port {Port}){Served}")]
    public static partial void DomainIntroduced(ILogger logger, uint domainId, ulong gfn, uint port, string served);

    [LoggerMessage(5, LogLevel.Warning, "Domain {DomainId}'s INTRODUCE (gfn {Gfn:x}, port {Port}) refused: its ring could not be served: {Message}")]
    public static partial void IntroduceFailed(ILogger logger, uint domainId, ulong gfn, uint port, string message);

    [LoggerMessage(6, LogLevel.Information, "Domain {DomainId} released: {Reason}")]
    public static partial void DomainReleased(ILogger logger, uint domainId, string reason);

    [LoggerMessage(7, LogLevel.Warning, "Domain {DomainId} refused: quota {Quota} ({Limit}) reached by {Request}{Suppressed}")]
    public static partial void QuotaReached(ILogger logger, uint domainId, string quota, int limit, string request, string suppressed);

    [LoggerMessage(8, LogLevel.Warning, "Domain {DomainId}'s ring is no longer served: {Reason}")]
    public static partial void RingBroken(ILogger logger, uint domainId, string reason);

    [LoggerMessage(10, LogLevel.Warning, "Refused {Count} socket clients: the process is at its open-file limit (raise it with ulimit -n or LimitNOFILE)")]
    public static partial void ClientsRefused(ILogger logger, int count);

    [LoggerMessage(11, LogLevel.Warning, "Domain {DomainId} exceeds its soft memory quota: {Bytes} bytes held, soft quota {Limit}")]
    public static partial void SoftMemoryExceeded(ILogger logger, uint domainId, long bytes, int limit);

    [LoggerMessage(12, LogLevel.Information, "Domain {DomainId} is below its soft memory quota again: {Bytes} bytes held, soft quota {Limit}")]
    public static partial void SoftMemoryBelow(ILogger logger, uint domainId, long bytes, int limit);

    [LoggerMessage(9, LogLevel.Critical, "The journal can no longer be written; nothing after this is acknowledged: {Message}")]
    public static partial void JournalFailed(ILogger logger, string message);
}
