using Microsoft.Extensions.Logging;

namespace Xen.Consoled;

/// <summary>The console daemon's log messages (structured: domain, and what happened to its console).</summary>
internal static partial class Log
{
    [LoggerMessage(1, LogLevel.Debug, "New domain {DomainId}")]
    public static partial void NewDomain(ILogger logger, uint domainId);

    [LoggerMessage(2, LogLevel.Debug, "Removing domain-{DomainId}: {Reason}")]
    public static partial void RemovingDomain(ILogger logger, uint domainId, string reason);

    [LoggerMessage(3, LogLevel.Information, "Domain {DomainId}: console served (port {Port}, tty {Terminal})")]
    public static partial void Served(ILogger logger, uint domainId, uint port, string? terminal);

    [LoggerMessage(4, LogLevel.Error, "Closing domain {DomainId}'s console: {Reason}")]
    public static partial void Closing(ILogger logger, uint domainId, string reason);

    [LoggerMessage(5, LogLevel.Error, "Domain {DomainId}'s console page (ring-ref {RingRef}) could not be mapped: {Message}")]
    public static partial void MapFailed(ILogger logger, uint domainId, uint ringRef, string message);

    [LoggerMessage(6, LogLevel.Error, "Domain {DomainId}'s console port {Port} could not be bound: {Message}")]
    public static partial void BindFailed(ILogger logger, uint domainId, uint port, string message);

    [LoggerMessage(7, LogLevel.Error, "Failed to create tty for domain-{DomainId}: {Message}")]
    public static partial void TerminalFailed(ILogger logger, uint domainId, string message);

    [LoggerMessage(8, LogLevel.Error, "Failed to open log for domain {DomainId}: {Message}")]
    public static partial void LogOpenFailed(ILogger logger, uint domainId, string message);

    [LoggerMessage(9, LogLevel.Error, "Write to log failed on domain {DomainId}: {Message}")]
    public static partial void LogWriteFailed(ILogger logger, uint domainId, string message);

    [LoggerMessage(10, LogLevel.Error, "Listing the domains failed: {Message}")]
    public static partial void ListFailed(ILogger logger, string message);

    [LoggerMessage(11, LogLevel.Warning, "xenstore refused a request while handling {Token}: {Message}")]
    public static partial void StoreRefused(ILogger logger, string token, string message);

    [LoggerMessage(13, LogLevel.Error, "Lost xenstore ({Reason}): the consoles served go on; new and dead domains are not seen until a restart")]
    public static partial void StoreLost(ILogger logger, string reason);

    [LoggerMessage(12, LogLevel.Error, "The console terminal loop's poll failed: errno {Errno}; terminals are no longer served")]
    public static partial void PollFailed(ILogger logger, int errno);
}
