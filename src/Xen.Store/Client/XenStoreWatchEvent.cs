namespace Xen.Store.Client;

/// <summary>
/// One watch event: <paramref name="Path"/> (or something below the watched path) may have changed. Events may
/// be spurious: re-read what matters.
/// </summary>
/// <param name="Path">The path the daemon reported (relative if the watch was set with a relative path).</param>
/// <param name="Token">The watch's token.</param>
/// <param name="EventsWereDropped">
/// Events were dropped before this one because the consumer fell behind (the per-watch queue was full), or the
/// connection was re-established and the watch registered again: treat everything under the watch as changed.
/// </param>
public readonly record struct XenStoreWatchEvent(string Path, string Token, bool EventsWereDropped = false)
{
    /// <summary>
    /// The order in which the connection received the event: it grows by one per event message, across all of the
    /// connection's watches, so a consumer of several watches can merge their streams in arrival order (see
    /// <see cref="XenStoreWatch.TryRead"/>). It is not part of the event's equality.
    /// </summary>
    public long Sequence { get; init; }

    /// <summary>Events are equal when path, token and <see cref="EventsWereDropped"/> are (<see cref="Sequence"/> is ignored).</summary>
    public bool Equals(XenStoreWatchEvent other) =>
        Path == other.Path && Token == other.Token && EventsWereDropped == other.EventsWereDropped;

    /// <inheritdoc/>
    public override int GetHashCode() => HashCode.Combine(Path, Token, EventsWereDropped);
}
