using Microsoft.Extensions.Logging;

namespace Xen.Store.Client;

/// <summary>What a client tells its <see cref="XenStoreClientOptions.Logger"/>: its connection's losses and returns, and watches that fell behind.</summary>
internal static partial class ClientLog
{
    [LoggerMessage(101, LogLevel.Warning, "Connection to {Daemon} lost, reconnecting: {Message}")]
    public static partial void ConnectionLost(ILogger logger, string daemon, string message);

    [LoggerMessage(102, LogLevel.Warning, "Reconnecting to {Daemon}: attempt {Attempt} of {Attempts} failed: {Message}")]
    public static partial void ReconnectFailed(ILogger logger, string daemon, int attempt, int attempts, string message);

    [LoggerMessage(103, LogLevel.Information, "Reconnected to {Daemon} at attempt {Attempt}; {Watches} watches registered again")]
    public static partial void Reconnected(ILogger logger, string daemon, int attempt, int watches);

    [LoggerMessage(104, LogLevel.Error, "Connection to {Daemon} not re-established after {Attempts} attempts; the client is closed")]
    public static partial void GaveUp(ILogger logger, string daemon, int attempts);

    [LoggerMessage(105, LogLevel.Warning, "Watch {Path} (token {Token}) fell behind by {Capacity} events: the oldest are dropped until its consumer catches up")]
    public static partial void WatchFellBehind(ILogger logger, string path, string token, int capacity);
}
