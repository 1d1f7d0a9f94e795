using Microsoft.Extensions.Logging;

namespace Xen.Tool.Commands;

/// <summary>
/// The tool's daemons report through this: one line per message on standard error, <c>PROGRAM: message</c>, from
/// <see cref="MinimumLevel"/> up (what a C daemon's <c>syslog</c> with <c>LOG_PERROR</c> shows). No scopes.
/// </summary>
internal sealed class StandardErrorLogger(string program, LogLevel minimumLevel) : ILogger
{
    public LogLevel MinimumLevel { get; } = minimumLevel;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => logLevel >= MinimumLevel && logLevel != LogLevel.None;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        if (IsEnabled(logLevel))
        {
            Console.Error.WriteLine(exception is null ? $"{program}: {formatter(state, exception)}" : $"{program}: {formatter(state, exception)}: {exception.Message}");
        }
    }
}
