using Microsoft.Extensions.Logging;

namespace Xen.Blktap.Tests.Support;

/// <summary>A logger that keeps every entry: event name, level and the structured values.</summary>
internal sealed class ListLogger<T> : ILogger<T>
{
    private readonly List<(string Event, LogLevel Level, IReadOnlyDictionary<string, object?> Values)> _entries = [];

    public IReadOnlyList<(string Event, LogLevel Level, IReadOnlyDictionary<string, object?> Values)> Entries
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
        var values = state is IEnumerable<KeyValuePair<string, object?>> pairs
            ? pairs.ToDictionary(p => p.Key, p => p.Value)
            : [];
        lock (_entries)
        {
            _entries.Add((eventId.Name ?? eventId.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), logLevel, values));
        }
    }
}
