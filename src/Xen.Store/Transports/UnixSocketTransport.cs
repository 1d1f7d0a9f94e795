using System.Net.Sockets;

namespace Xen.Store.Transports;

/// <summary>The xenstored Unix socket (a dom0 connection).</summary>
public sealed class UnixSocketTransport : IXenStoreTransport
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

    /// <summary>Connects to the socket at <paramref name="path"/>.</summary>
    /// <exception cref="XenStoreConnectionException">Nothing listens there.</exception>
    public static async ValueTask<UnixSocketTransport> ConnectAsync(string path, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var socket = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        try
        {
            await socket.ConnectAsync(new UnixDomainSocketEndPoint(path), cancellationToken).ConfigureAwait(false);
            return new UnixSocketTransport(socket, path);
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
    }

    /// <inheritdoc/>
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

    /// <inheritdoc/>
    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
