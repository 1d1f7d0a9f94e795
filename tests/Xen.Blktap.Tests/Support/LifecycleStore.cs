using Xen.Store.Client;
using Xen.Store.Server;
using Xen.TestSupport.Peers;
using Xen.TestSupport.Store;

namespace Xen.Blktap.Tests.Support;

/// <summary>Which xenstore the end-to-end lifecycle tests run against.</summary>
public enum StoreTarget
{
    /// <summary>The real C xenstored under the shim; every connection on its Unix socket.</summary>
    CXenstored,

    /// <summary>The real oxenstored under the shim; every connection on its Unix socket.</summary>
    Oxenstored,

    /// <summary>Our embedded <see cref="XenStoreServer"/>: the toolstack and the blkback connect in process.</summary>
    Embedded,

    /// <summary>Our embedded <see cref="XenStoreServer"/>: the toolstack and the blkback connect on its Unix socket.</summary>
    EmbeddedSocket,
}

/// <summary>
/// The xenstore of an end-to-end lifecycle test: a real daemon (<see cref="XenstoredPeer"/>) or our embedded server,
/// which also listens on a Unix socket so that the C CLIs read and write it as they would the real daemon.
/// </summary>
internal sealed class LifecycleStore : IAsyncDisposable
{
    private const string XenstoreLs = "/usr/bin/xenstore-ls";
    private readonly XenstoredPeer? _peer;
    private readonly EmbeddedXenStore? _embedded;
    private readonly Dictionary<string, string> _cliEnvironment;

    private LifecycleStore(StoreTarget target, string socketPath, XenstoredPeer? peer, EmbeddedXenStore? embedded)
    {
        Target = target;
        SocketPath = socketPath;
        _peer = peer;
        _embedded = embedded;
        _cliEnvironment = new Dictionary<string, string> { ["XENSTORED_PATH"] = socketPath };
    }

    public StoreTarget Target { get; }

    /// <summary>The Unix socket the C CLIs use (<c>XENSTORED_PATH</c>).</summary>
    public string SocketPath { get; }

    /// <summary>The real daemon's output, or a note that the store is ours, for failure messages.</summary>
    public string Output => _peer?.DaemonOutput ?? "(embedded server)";

    public static async Task<LifecycleStore> StartAsync(StoreTarget target)
    {
        if (target is StoreTarget.CXenstored or StoreTarget.Oxenstored)
        {
            PeerPrograms.Require(requirePeersScripts: false, XenstoreLs);
            XenstoredPeer peer = await XenstoredPeer.StartAsync(target == StoreTarget.CXenstored ? XenstoredKind.C : XenstoredKind.OCaml);
            return new LifecycleStore(target, peer.SocketPath, peer, null);
        }

        // The CLIs check what the toolstack wrote; nothing else of the peers is needed.
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenstoreRead, PeerPrograms.XenstoreWrite, XenstoreLs);
        EmbeddedXenStore embedded = await EmbeddedXenStore.StartAsync("blk");
        return new LifecycleStore(target, embedded.SocketPath, null, embedded);
    }

    /// <summary>A new dom0 connection: on the daemon's socket, or in process or on the socket as the target says.</summary>
    public async Task<XenStoreClient> ConnectAsync() =>
        Target == StoreTarget.Embedded ? _embedded!.ConnectInProcess() : await XenStoreClient.ConnectAsync(SocketPath);

    /// <summary>Writes one node with <c>xenstore-write</c>.</summary>
    public Task WriteAsync(string path, string value) =>
        PeerCommand.RunCheckedAsync(PeerPrograms.XenstoreWrite, [path, value], _cliEnvironment);

    /// <summary>Reads one node with <c>xenstore-read</c>: what another toolstack or a hotplug script would see.</summary>
    public async Task<string> ReadAsync(string path)
    {
        string stdout = await PeerCommand.RunCheckedAsync(PeerPrograms.XenstoreRead, [path], _cliEnvironment);
        return stdout.EndsWith('\n') ? stdout[..^1] : stdout;
    }

    /// <summary>
    /// Every node under <paramref name="paths"/> with its value and permissions, as <c>xenstore-ls -f -p</c> prints
    /// them (one line each, sorted); a path that does not exist gives one line saying so.
    /// </summary>
    public async Task<IReadOnlyList<string>> ListTreeAsync(params string[] paths)
    {
        var lines = new List<string>();
        foreach (string path in paths)
        {
            PeerCommandResult result = await PeerCommand.RunAsync(XenstoreLs, ["-f", "-p", path], _cliEnvironment);
            if (result.ExitCode != 0)
            {
                lines.Add($"{path}: xenstore-ls exited with {result.ExitCode}: {result.StandardError.Trim()}");
                continue;
            }

            lines.AddRange(result.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries).Order(StringComparer.Ordinal));
        }

        return lines;
    }

    /// <summary>Checks the embedded server's tree against its own indexes (true for a real daemon).</summary>
    public bool CheckConsistency() => _embedded?.Server.CheckConsistency() ?? true;

    public async ValueTask DisposeAsync()
    {
        if (_peer is not null)
        {
            await _peer.DisposeAsync();
        }

        if (_embedded is not null)
        {
            await _embedded.DisposeAsync();
        }
    }
}
