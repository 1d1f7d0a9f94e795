using System.Diagnostics.Metrics;

namespace Xen.TestSupport;

/// <summary>
/// A meter factory whose meters only this recorder listens to, and the measurements they made: give <see cref="Factory"/>
/// to a server or client (<c>MeterFactory</c> in its options), then read <see cref="Sum"/> or <see cref="Observe"/>. Other
/// servers and clients of the test process, which use the shared meter, are not seen.
/// </summary>
public sealed class MetricsRecorder : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly List<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> _measurements = [];

    public MetricsRecorder()
    {
        Factory = new ScopedMeterFactory();
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (ReferenceEquals(instrument.Meter.Scope, Factory))
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<int>((i, v, tags, _) => Add(i, v, tags));
        _listener.SetMeasurementEventCallback<double>((i, v, tags, _) => Add(i, v, tags));
        _listener.Start();
    }

    public IMeterFactory Factory { get; }

    /// <summary>Every measurement so far.</summary>
    public IReadOnlyList<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> Measurements
    {
        get
        {
            lock (_measurements)
            {
                return [.. _measurements];
            }
        }
    }

    /// <summary>The sum of <paramref name="instrument"/>'s measurements that carry every tag of <paramref name="tags"/>.</summary>
    public double Sum(string instrument, params (string Key, object Value)[] tags) =>
        Of(instrument, tags).Sum(m => m.Value);

    /// <summary>How many measurements <paramref name="instrument"/> made with every tag of <paramref name="tags"/>.</summary>
    public int Count(string instrument, params (string Key, object Value)[] tags) => Of(instrument, tags).Count();

    /// <summary>Collects the observable instruments now and returns what <paramref name="instrument"/> reported with <paramref name="tags"/>.</summary>
    public double[] Observe(string instrument, params (string Key, object Value)[] tags)
    {
        int before;
        lock (_measurements)
        {
            before = _measurements.Count;
        }

        _listener.RecordObservableInstruments();
        return [.. Measurements.Skip(before).Where(m => m.Instrument == instrument && Carries(m.Tags, tags)).Select(m => m.Value)];
    }

    public void Dispose()
    {
        _listener.Dispose();
        ((ScopedMeterFactory)Factory).Dispose();
    }

    private IEnumerable<(string Instrument, double Value, KeyValuePair<string, object?>[] Tags)> Of(string instrument, (string Key, object Value)[] tags) =>
        Measurements.Where(m => m.Instrument == instrument && Carries(m.Tags, tags));

    private static bool Carries(KeyValuePair<string, object?>[] have, (string Key, object Value)[] want) =>
        want.All(w => have.Any(h => h.Key == w.Key && Equals(h.Value, w.Value)));

    private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
    {
        lock (_measurements)
        {
            _measurements.Add((instrument.Name, value, tags.ToArray()));
        }
    }
}
