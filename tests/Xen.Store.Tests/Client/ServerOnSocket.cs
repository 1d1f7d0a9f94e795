using Xen.Store.Server;

namespace Xen.Store.Tests.Client;

/// <summary>Our server listening on a Unix socket in a fresh temporary directory, for one test class's tests.</summary>
#pragma warning disable CA1001 // xunit disposes the server through IAsyncLifetime.DisposeAsync
public abstract class ServerOnSocket(string prefix, XenStoreServerOptions? options = null) : IAsyncLifetime
#pragma warning restore CA1001
{
    private XenStoreServer? _server;

    /// <summary>The directory the socket is in (removed afterwards); other sockets of a test may go there too.</summary>
    protected string Directory { get; private set; } = "";

    protected string SocketPath => Path.Combine(Directory, "socket");

    protected XenStoreServer Server => _server ?? throw new InvalidOperationException("The server is not started.");

    public async Task InitializeAsync()
    {
        Directory = Path.Combine(Path.GetTempPath(), $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..40]);
        System.IO.Directory.CreateDirectory(Directory);
        _server = new XenStoreServer(options);
        await _server.ListenUnixAsync(SocketPath);
    }

    public async Task DisposeAsync()
    {
        await _server!.DisposeAsync();
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
