using System.Diagnostics.Metrics;

namespace Xen.TestSupport;

/// <summary>
/// A meter factory whose meters carry it as their <see cref="Meter.Scope"/>, so that a <see cref="MeterListener"/> can
/// pick out the instruments of the one server or client given it, beside others of the same process on the shared meter.
/// </summary>
public sealed class ScopedMeterFactory : IMeterFactory
{
    private readonly List<Meter> _meters = [];

    public Meter Create(MeterOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var meter = new Meter(new MeterOptions(options.Name) { Version = options.Version, Tags = options.Tags, Scope = this });
        lock (_meters)
        {
            _meters.Add(meter);
        }

        return meter;
    }

    public void Dispose()
    {
        lock (_meters)
        {
            _meters.ForEach(m => m.Dispose());
        }
    }
}
