using System.Diagnostics;
using System.Net.Sockets;
using System.Runtime.CompilerServices;

namespace Xen.Store.Transports;

/// <summary>The xenstored Unix socket (a dom0 connection).</summary>
public sealed class UnixSocketTransport : IBlockingReceiveTransport
{
    private readonly Socket _socket;

    private UnixSocketTransport(Socket socket, string path)
    {
        _socket = socket;
        Description = $"unix:{path}";
    }

    /// <inheritdoc/>
    public string Description { get; }

    /// <summary>
    /// The socket libxenstore would use: <c>XENSTORED_PATH</c>, else <c>$XENSTORED_RUNDIR/socket</c>, else
    /// <c>/var/run/xenstored/socket</c>.
    /// </summary>
    public static string DefaultPath()
    {
        string? path = Environment.GetEnvironmentVariable("XENSTORED_PATH");
        if (!string.IsNullOrEmpty(path))
        {
            return path;
        }

        string? rundir = Environment.GetEnvironmentVariable("XENSTORED_RUNDIR");
        return string.IsNullOrEmpty(rundir) ? "/var/run/xenstored/socket" : Path.Combine(rundir, "socket");
    }

    /// <summary>How long <see cref="ConnectAsync"/> keeps retrying while the daemon's listen backlog is full.</summary>
    public static readonly TimeSpan BusyRetryLimit = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Connects to the socket at <paramref name="path"/>. While the daemon's listen backlog is full (both xenstoreds
    /// listen with a backlog of one, and a non-blocking connect then fails with EAGAIN where libxenstore's blocking
    /// one would wait), it retries with a short backoff for up to <see cref="BusyRetryLimit"/>.
    /// </summary>
    /// <exception cref="XenStoreConnectionException">Nothing listens there, or the daemon stayed too busy to accept.</exception>
    public static async ValueTask<UnixSocketTransport> ConnectAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var endPoint = new UnixDomainSocketEndPoint(path);
        DateTime giveUp = DateTime.UtcNow + BusyRetryLimit;
        TimeSpan delay = TimeSpan.FromMilliseconds(1);
        while (true)
        {
            var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                await socket.ConnectAsync(endPoint, cancellationToken).ConfigureAwait(false);
                return new UnixSocketTransport(socket, path);
            }
            catch (SocketException e) when (e.SocketErrorCode is SocketError.TryAgain or SocketError.WouldBlock && DateTime.UtcNow < giveUp)
            {
                socket.Dispose();
            }
            catch (SocketException e)
            {
                socket.Dispose();
                throw new XenStoreConnectionException($"Cannot connect to xenstored at {path}: {e.Message}", e);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            await Task.Delay(delay, cancellationToken).ConfigureAwait(false);
            delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMilliseconds(100).Ticks));
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder))]
    public async ValueTask SendAsync(ReadOnlyMemory<byte> messages, CancellationToken cancellationToken = default)
    {
        try
        {
            while (!messages.IsEmpty)
            {
                int n = await _socket.SendAsync(messages, SocketFlags.None, cancellationToken).ConfigureAwait(false);
                messages = messages[n..];
            }
        }
        catch (SocketException e)
        {
            throw new IOException($"{Description}: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    public async ValueTask<int> ReceiveAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        try
        {
            return await _socket.ReceiveAsync(buffer, SocketFlags.None, cancellationToken).ConfigureAwait(false);
        }
        catch (SocketException e)
        {
            throw new IOException($"{Description}: {e.Message}", e);
        }
    }

    /// <summary>
    /// Waits in the kernel (<c>poll</c>) until the daemon sent something or closed, then receives what is there; the
    /// socket stays non-blocking, so <see cref="SendAsync"/> may run meanwhile. Disposing the transport wakes it.
    /// </summary>
    /// <param name="buffer">Where the bytes go.</param>
    /// <param name="spinUntil">
    /// A <see cref="Stopwatch.GetTimestamp"/> value until which the socket is checked without sleeping (<c>poll</c> with
    /// a zero timeout, which takes no lock the sender needs); 0 to sleep at once.
    /// </param>
    /// <returns>The bytes received; 0 when the daemon closed the connection or the transport was disposed.</returns>
    /// <exception cref="IOException">The connection failed.</exception>
    int IBlockingReceiveTransport.ReceiveBlocking(Span<byte> buffer, long spinUntil) => ReceiveBlocking(buffer, spinUntil);

    internal int ReceiveBlocking(Span<byte> buffer, long spinUntil = 0)
    {
        try
        {
            while (spinUntil != 0 && !_socket.Poll(0, SelectMode.SelectRead))
            {
                if (Stopwatch.GetTimestamp() >= spinUntil)
                {
                    break;
                }
            }

            while (true)
            {
                _socket.Poll(-1, SelectMode.SelectRead);
                int n = _socket.Receive(buffer, SocketFlags.None, out SocketError error);
                switch (error)
                {
                    case SocketError.Success:
                        return n;
                    case SocketError.WouldBlock:
                        continue; // woken without data (another reader, or a spurious wake-up)
                    case SocketError.Shutdown or SocketError.OperationAborted or SocketError.Interrupted:
                        return 0;
                    default:
                        throw new IOException($"{Description}: {new SocketException((int)error).Message}");
                }
            }
        }
        catch (ObjectDisposedException)
        {
            return 0;
        }
        catch (SocketException e)
        {
            throw new IOException($"{Description}: {e.Message}", e);
        }
    }

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        try
        {
            _socket.Shutdown(SocketShutdown.Both); // wakes a thread waiting in ReceiveBlocking
        }
        catch (Exception e) when (e is SocketException or ObjectDisposedException)
        {
            // not connected any more, or disposed already
        }

        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
