namespace Xen.Store.Client;

/// <summary>
/// Decides whether and when a transaction that failed with EAGAIN is run again by
/// <see cref="XenStoreClient.RunTransactionAsync{T}"/>. The default retries until the transaction commits (or the
/// caller's token is cancelled), as libxl, the xenstore CLIs and ocaml-xenstore do, with exponential backoff from
/// 1 ms, capped at 500 ms, with full jitter. Set <see cref="MaxAttempts"/> to give up earlier, or derive to replace it.
/// </summary>
/// <remarks>
/// Why no small default bound: with many writers of one node, each attempt conflicts with a fair probability
/// (16 tasks incrementing one counter against the real daemons: more than half the time), so some attempt counts
/// reach the teens in every run; a bound there turns ordinary contention into EAGAIN errors for the caller.
/// </remarks>
public class TransactionRetryPolicy
{
    /// <summary>The default policy.</summary>
    public static TransactionRetryPolicy Default { get; } = new();

    /// <summary>The largest number of attempts in all (the first run included). Default: no limit (<see cref="int.MaxValue"/>).</summary>
    public int MaxAttempts { get; init; } = int.MaxValue;

    /// <summary>The backoff before the second attempt.</summary>
    public TimeSpan BaseDelay { get; init; } = TimeSpan.FromMilliseconds(1);

    /// <summary>The largest backoff.</summary>
    public TimeSpan MaxDelay { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// The delay before attempt <paramref name="attempt"/> + 1 after attempt <paramref name="attempt"/> (1-based)
    /// conflicted, or <see langword="null"/> to give up (the EAGAIN error then reaches the caller).
    /// </summary>
    public virtual TimeSpan? NextDelay(int attempt)
    {
        if (attempt >= MaxAttempts)
        {
            return null;
        }

        double cap = Math.Min(MaxDelay.TotalMilliseconds, BaseDelay.TotalMilliseconds * Math.Pow(2, attempt - 1));
#pragma warning disable CA5394 // jitter, not security
        return TimeSpan.FromMilliseconds(Random.Shared.NextDouble() * cap);
#pragma warning restore CA5394
    }
}
