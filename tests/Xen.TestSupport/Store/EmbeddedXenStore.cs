using Xen.Store.Client;
using Xen.Store.Server;

namespace Xen.TestSupport.Store;

/// <summary>
/// Our <see cref="XenStoreServer"/> listening on a Unix socket in a fresh temporary directory of its own, which goes
/// when it is disposed: the xenstore of a test or a benchmark that needs a socket (the C tools, our socket client).
/// </summary>
public sealed class EmbeddedXenStore : IAsyncDisposable
{
    private EmbeddedXenStore(XenStoreServer server, string directory)
    {
        Server = server;
        Directory = directory;
    }

    /// <summary>The server.</summary>
    public XenStoreServer Server { get; }

    /// <summary>The directory of the socket; other files of a test may go there too.</summary>
    public string Directory { get; }

    /// <summary>The server's Unix socket (what <c>XENSTORED_PATH</c> names for the C tools).</summary>
    public string SocketPath => Path.Combine(Directory, "socket");

    /// <summary>Starts a server with <paramref name="options"/> (the defaults when null).</summary>
    /// <param name="prefix">The start of the directory's name, saying whose it is.</param>
    /// <param name="options">The server's options.</param>
    public static Task<EmbeddedXenStore> StartAsync(string prefix, XenStoreServerOptions? options = null) =>
        StartAsync(prefix, _ => options ?? new XenStoreServerOptions());

    /// <summary>Starts a server whose options depend on its directory (a shim host serving guests from it).</summary>
    /// <param name="prefix">The start of the directory's name, saying whose it is.</param>
    /// <param name="options">The server's options, given the directory.</param>
    public static async Task<EmbeddedXenStore> StartAsync(string prefix, Func<string, XenStoreServerOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);

        // A Unix socket's path has room for 107 bytes: the name stays short whatever TMPDIR is.
        string directory = Path.Combine("/tmp", $"{prefix}-{Environment.ProcessId}-{Guid.NewGuid():N}"[..(prefix.Length + 20)]);
        System.IO.Directory.CreateDirectory(directory);
        XenStoreServer? server = null;
        try
        {
            server = await XenStoreServer.StartAsync(options(directory)).ConfigureAwait(false);
            await server.ListenUnixAsync(Path.Combine(directory, "socket")).ConfigureAwait(false);
            return new EmbeddedXenStore(server, directory);
        }
        catch
        {
            if (server is not null)
            {
                await server.DisposeAsync().ConfigureAwait(false);
            }

            System.IO.Directory.Delete(directory, recursive: true);
            throw;
        }
    }

    /// <summary>A privileged (dom0) client in process.</summary>
    public XenStoreClient ConnectInProcess() => XenStoreClient.Create(Server.ConnectInProcess());

    /// <summary>A client on the socket.</summary>
    public ValueTask<XenStoreClient> ConnectAsync(XenStoreClientOptions? options = null, CancellationToken cancellationToken = default) =>
        XenStoreClient.ConnectAsync(SocketPath, options, cancellationToken);

    /// <summary>Stops the server (ending its connections) and removes the directory.</summary>
    public async ValueTask DisposeAsync()
    {
        await Server.DisposeAsync().ConfigureAwait(false);
        System.IO.Directory.Delete(Directory, recursive: true);
    }
}
