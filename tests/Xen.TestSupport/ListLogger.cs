using Microsoft.Extensions.Logging;

namespace Xen.TestSupport;

/// <summary>A logger that keeps every entry: event name, level, the structured values and the formatted message.</summary>
public class ListLogger : ILogger
{
    private readonly List<(string Event, LogLevel Level, IReadOnlyDictionary<string, object?> Values, string Message)> _entries = [];

    public IReadOnlyList<(string Event, LogLevel Level, IReadOnlyDictionary<string, object?> Values, string Message)> Entries
    {
        get
        {
            lock (_entries)
            {
                return [.. _entries];
            }
        }
    }

    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        ArgumentNullException.ThrowIfNull(formatter);
        var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.ToDictionary(p => p.Key, p => p.Value)
            : [];
        lock (_entries)
        {
            _entries.Add((eventId.Name ?? eventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), logLevel, values, formatter(state, exception)));
        }
    }
}

/// <summary>A <see cref="ListLogger"/> for a component that asks for an <see cref="ILogger{TCategoryName}"/>.</summary>
public sealed class ListLogger<T> : ListLogger, ILogger<T>;
