namespace Xen.Consoled.Tests;

/// <summary>A clock that says what the test tells it, in UTC (so a log's stamps are the same on every machine).</summary>
internal sealed class FixedClock(DateTimeOffset now) : TimeProvider
{
    public DateTimeOffset Now { get; set; } = now;

    public override DateTimeOffset GetUtcNow() => Now;

    public override TimeZoneInfo LocalTimeZone => TimeZoneInfo.Utc;
}
