using System.Runtime.CompilerServices;
using System.Threading.Channels;
using Xen.Store.Wire;

namespace Xen.Store.Client;

/// <summary>
/// A registered watch and its stream of events. Enumerate <see cref="ReadAllAsync"/> (or call
/// <see cref="ReadAsync"/>) to receive them; dispose to UNWATCH. The stream ends when the watch is disposed, and
/// fails with the connection's error when the connection is lost for good.
/// </summary>
/// <remarks>
/// Events wait in a bounded queue (<see cref="XenStoreClientOptions.WatchEventCapacity"/>). A consumer that falls
/// behind loses the oldest events, and the next one it reads has <see cref="XenStoreWatchEvent.EventsWereDropped"/>
/// set, so nothing is lost without the consumer knowing and no other request waits for it.
/// </remarks>
public sealed partial class XenStoreWatch : IAsyncDisposable, IDisposable
{
    private readonly XenStoreClient _client;
    private readonly Channel<XenStoreWatchEvent> _events;
    private int _dropped;
    private readonly ReportThrottle _fellBehind = new(); // of "fell behind" lines; only the receive loop drops events

    internal XenStoreWatch(XenStoreClient client, string path, string token, int? depth, int capacity)
    {
        _client = client;
        Path = path;
        Token = token;
        Depth = depth;
        Capacity = Math.Max(1, capacity);
        _events = Channel.CreateBounded<XenStoreWatchEvent>(
            new BoundedChannelOptions(Capacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleWriter = true },
            _ => client.WatchEventDropped(this, report: Interlocked.Exchange(ref _dropped, 1) == 0 && _fellBehind.Due(out int _)));
    }

    /// <summary>The watched path as given (absolute, relative or special).</summary>
    public string Path { get; }

    /// <summary>The watch's token.</summary>
    public string Token { get; }

    /// <summary>How many undelivered events it keeps (<see cref="XenStoreClientOptions.WatchEventCapacity"/>).</summary>
    internal int Capacity { get; }

    /// <summary>The WATCHDEPTH depth, if one was asked for.</summary>
    public int? Depth { get; }

    /// <summary>Waits for the next event.</summary>
    /// <exception cref="ChannelClosedException">The watch was disposed (or reset) and every event was read.</exception>
    /// <exception cref="XenStoreConnectionException">The connection was lost for good.</exception>
    public async ValueTask<XenStoreWatchEvent> ReadAsync(CancellationToken cancellationToken = default)
    {
        XenStoreWatchEvent e = await _events.Reader.ReadAsync(cancellationToken).ConfigureAwait(false);
        return Interlocked.Exchange(ref _dropped, 0) == 1 ? e with { EventsWereDropped = true } : e;
    }

    /// <summary>
    /// Takes the next event if one is waiting, without waiting. Events the connection received before one that this
    /// or another watch of the same connection has already handed out are waiting by then, so a consumer of several
    /// watches that polls each of them and takes the lowest <see cref="XenStoreWatchEvent.Sequence"/> sees them in
    /// arrival order.
    /// </summary>
    /// <returns>Whether an event was taken.</returns>
    public bool TryRead(out XenStoreWatchEvent watchEvent)
    {
        if (!_events.Reader.TryRead(out watchEvent))
        {
            return false;
        }

        if (Interlocked.Exchange(ref _dropped, 0) == 1)
        {
            watchEvent = watchEvent with { EventsWereDropped = true };
        }

        return true;
    }

    /// <summary>Waits until an event is waiting (true) or the stream has ended (false).</summary>
    /// <exception cref="XenStoreConnectionException">The connection was lost for good.</exception>
    public ValueTask<bool> WaitToReadAsync(CancellationToken cancellationToken = default) =>
        _events.Reader.WaitToReadAsync(cancellationToken);

    /// <summary>The events, as they come, until the watch is disposed.</summary>
    /// <exception cref="XenStoreConnectionException">The connection was lost for good.</exception>
    public async IAsyncEnumerable<XenStoreWatchEvent> ReadAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        while (await _events.Reader.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (_events.Reader.TryRead(out XenStoreWatchEvent e))
            {
                yield return Interlocked.Exchange(ref _dropped, 0) == 1 ? e with { EventsWereDropped = true } : e;
            }
        }
    }

    /// <summary>UNWATCH: removes the watch at the daemon and ends the stream.</summary>
    public ValueTask DisposeAsync() => _client.UnwatchAsync(this);

    internal bool Covers(string eventPath)
    {
        if (Path[0] == '@')
        {
            return eventPath == Path || eventPath.StartsWith(Path + "/", StringComparison.Ordinal);
        }

        return XsPath.IsAtOrBelow(eventPath, Path);
    }

    internal void Post(XenStoreWatchEvent e) => _events.Writer.TryWrite(e);

    internal void Complete(Exception? error) => _events.Writer.TryComplete(error);
}
