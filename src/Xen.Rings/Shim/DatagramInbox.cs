using System.Net.Sockets;
using Xen.Rings.Events;

namespace Xen.Rings.Shim;

/// <summary>
/// A bound Unix datagram socket with a receive loop that turns each datagram into a signal, routed by a key the
/// <c>route</c> function reads from the message (null: drop it). One loop task per socket.
/// </summary>
/// <remarks>
/// Each channel subscribes its own signal to its key, so disposing one channel fails its own waits and nobody
/// else's. A datagram for a key nobody subscribes to is remembered, and the next subscriber to that key starts
/// with its signal set: a notification is not lost because it arrived before the channel was opened.
/// </remarks>
internal sealed class DatagramInbox : IDisposable
{
    public delegate uint? Router(ReadOnlySpan<byte> message);

    private readonly Socket _socket;
    private readonly string _path;
    private readonly Router _route;
    private readonly Dictionary<uint, List<AsyncSignal>> _subscribers = [];
    private readonly HashSet<uint> _unclaimed = [];
    private readonly CancellationTokenSource _stop = new();

    public DatagramInbox(string path, Router route)
    {
        _path = path;
        _route = route;
        var endPoint = ShimEventChannels.EndPoint(path);
        File.Delete(path);
        _socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        try
        {
            _socket.Bind(endPoint);
        }
        catch
        {
            _socket.Dispose();
            throw;
        }

        _ = Task.Run(ReceiveLoopAsync);
    }

    /// <summary>A new signal for <paramref name="key"/>, set by every datagram routed to it until <see cref="Unsubscribe"/>.</summary>
    public AsyncSignal Subscribe(uint key)
    {
        var signal = new AsyncSignal();
        lock (_subscribers)
        {
            if (_stop.IsCancellationRequested)
            {
                signal.Dispose();
                return signal;
            }

            if (!_subscribers.TryGetValue(key, out List<AsyncSignal>? list))
            {
                list = [];
                _subscribers.Add(key, list);
            }

            list.Add(signal);
            if (_unclaimed.Remove(key))
            {
                signal.Set();
            }
        }

        return signal;
    }

    /// <summary>Stops routing to <paramref name="signal"/> and disposes it, failing its waits.</summary>
    public void Unsubscribe(uint key, AsyncSignal signal)
    {
        lock (_subscribers)
        {
            if (_subscribers.TryGetValue(key, out List<AsyncSignal>? list) && list.Remove(signal) && list.Count == 0)
            {
                _subscribers.Remove(key);
            }
        }

        signal.Dispose();
    }

    public void Dispose()
    {
        if (_stop.IsCancellationRequested)
        {
            return;
        }

        _stop.Cancel();
        _socket.Dispose();
        try
        {
            File.Delete(_path);
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }

        lock (_subscribers)
        {
            foreach (List<AsyncSignal> list in _subscribers.Values)
            {
                foreach (AsyncSignal signal in list)
                {
                    signal.Dispose();
                }
            }

            _subscribers.Clear();
            _unclaimed.Clear();
        }
    }

    private async Task ReceiveLoopAsync()
    {
        byte[] buffer = new byte[64];
        while (!_stop.IsCancellationRequested)
        {
            int length;
            try
            {
                length = await _socket.ReceiveAsync(buffer, SocketFlags.None, _stop.Token).ConfigureAwait(false);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (ObjectDisposedException)
            {
                return;
            }
            catch (SocketException)
            {
                if (_stop.IsCancellationRequested)
                {
                    return;
                }

                continue;
            }

            if (_route(buffer.AsSpan(0, length)) is uint key)
            {
                Dispatch(key);
            }
        }
    }

    private void Dispatch(uint key)
    {
        lock (_subscribers)
        {
            if (_subscribers.TryGetValue(key, out List<AsyncSignal>? list))
            {
                foreach (AsyncSignal signal in list)
                {
                    signal.Set();
                }
            }
            else if (!_stop.IsCancellationRequested)
            {
                _unclaimed.Add(key);
            }
        }
    }
}
