using System.Net.Sockets;

namespace Xen.Rings.Events;

/// <summary>
/// A bound Unix datagram socket with a receive loop that turns each datagram into a signal, routed by a key the
/// <c>route</c> function reads from the message (null: drop it). One loop task per socket; signals are created
/// on first use of their key.
/// </summary>
internal sealed class DatagramInbox : IDisposable
{
    public delegate uint? Router(ReadOnlySpan<byte> message);

    private readonly Socket _socket;
    private readonly string _path;
    private readonly Router _route;
    private readonly Dictionary<uint, AsyncSignal> _signals = [];
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

    public AsyncSignal Signal(uint key)
    {
        lock (_signals)
        {
            if (!_signals.TryGetValue(key, out AsyncSignal? signal))
            {
                signal = new AsyncSignal();
                _signals.Add(key, signal);
            }

            return signal;
        }
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

        lock (_signals)
        {
            foreach (AsyncSignal signal in _signals.Values)
            {
                signal.Dispose();
            }
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

            uint? key = _route(buffer.AsSpan(0, length));
            if (key is uint k)
            {
                Signal(k).Set();
            }
        }
    }
}
