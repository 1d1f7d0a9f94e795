using Xen.Store.Server;
using Xen.TestSupport.Store;

namespace Xen.Store.Tests.Client;

/// <summary>An <see cref="EmbeddedXenStore"/> for one test class's tests, started and stopped by xunit.</summary>
#pragma warning disable CA1001 // xunit disposes the server through IAsyncLifetime.DisposeAsync
public abstract class ServerOnSocket(string prefix, XenStoreServerOptions? options = null) : IAsyncLifetime
#pragma warning restore CA1001
{
    private EmbeddedXenStore? _store;

    private EmbeddedXenStore Store => _store ?? throw new InvalidOperationException("The server is not started.");

    /// <summary>The directory the socket is in (removed afterwards); other sockets of a test may go there too.</summary>
    protected string Directory => Store.Directory;

    protected string SocketPath => Store.SocketPath;

    protected XenStoreServer Server => Store.Server;

    public async Task InitializeAsync() => _store = await EmbeddedXenStore.StartAsync(prefix, options);

    public async Task DisposeAsync() => await Store.DisposeAsync();
}
