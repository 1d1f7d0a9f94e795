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
public readonly record struct XenStoreWatchEvent(string Path, string Token, bool EventsWereDropped = false);
