namespace Xen.Consoled;

/// <summary>What a <see cref="ConsoleDaemon"/> does beyond serving the consoles: xenconsoled's options.</summary>
public sealed record ConsoleDaemonOptions
{
    /// <summary>xenconsoled's default log directory (<c>XEN_LOG_DIR/console</c>).</summary>
    public const string DefaultLogDirectory = "/var/log/xen/console";

    /// <summary>Write each guest's output to <c>guest-&lt;name&gt;.log</c> in <see cref="LogDirectory"/> (<c>--log=guest</c>).</summary>
    public bool LogGuests { get; init; }

    /// <summary>Where guest logs go (<c>--log-dir</c>).</summary>
    public string LogDirectory { get; init; } = DefaultLogDirectory;

    /// <summary>Stamp each line of a guest log with the local time (<c>--timestamp=guest</c>).</summary>
    public bool GuestTimestamps { get; init; }

    /// <summary>Replace ESC with <c>.</c> in guest logs (<c>--replace-escape</c>).</summary>
    public bool ReplaceEscape { get; init; }

    /// <summary>
    /// What happens to output a pseudo-terminal client does not read, once more than the console's <c>limit</c> node
    /// says is waiting (<c>--overflow-data</c>): dropped (the default), or left in the guest's ring.
    /// </summary>
    public ConsoleOverflow Overflow { get; init; } = ConsoleOverflow.Discard;

    /// <summary>How many events a guest may raise per <see cref="RateLimitPeriod"/> before its console is left alone until the period ends (xenconsoled: 30).</summary>
    public int RateLimitEvents { get; init; } = 30;

    /// <summary>The rate limit's period (xenconsoled: 200 ms).</summary>
    public TimeSpan RateLimitPeriod { get; init; } = TimeSpan.FromMilliseconds(200);

    /// <summary>The clock for timestamps and rate periods (a fixed one makes logs reproducible).</summary>
    public TimeProvider Clock { get; init; } = TimeProvider.System;
}
