using System.Globalization;
using System.Net.Sockets;

namespace Xen.TestSupport.Peers;

/// <summary>
/// A real xenstored (C or OCaml) running in plain userspace under the LD_PRELOAD shim of <c>../shared/peers</c>,
/// in its own short state directory, which is also the shim's "hypervisor": page files, event-channel sockets,
/// the <c>domains/</c> folder. Other real programs that talk to this xenstored (xenconsoled, QEMU) run in the same
/// directory through <see cref="StartShimmed"/>.
/// </summary>
/// <remarks>
/// <para>
/// Start with <see cref="StartAsync"/> and dispose with <c>await using</c>: disposing kills every program started
/// through <see cref="StartShimmed"/>, then the daemon, and removes the directory. The daemon is started by
/// <c>run_xenstored.sh</c>, which builds the shim with gcc into the directory and prints the daemon's pid.
/// </para>
/// <para>
/// Kind <see cref="XenstoredKind.Embedded"/> starts this project's own xenstored the same way, as a drop-in
/// (<c>run_xenstored.sh ours</c>: <c>xen store serve --no-fork --pid-file</c> under the shim, no socket option), so it
/// finds its socket, dom0's page and its guests through the calls C xenstored makes, and a test written for the real
/// daemons runs against it unchanged.
/// </para>
/// <para>
/// Clients reach the daemon through <see cref="SocketPath"/> (the CLIs read it from <c>XENSTORED_PATH</c>, see
/// <see cref="ClientEnvironment"/>). The connection is dom0's, so it may write anywhere.
/// </para>
/// </remarks>
public sealed class XenstoredPeer : IAsyncDisposable
{
    private static readonly HashSet<XenstoredPeer> s_live = [];
    private readonly List<PeerDaemon> _daemons = [];
    private int _disposed;

    static XenstoredPeer()
    {
        // A test run that ends without disposing (a crash, Ctrl-C) still stops the daemons it started.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            XenstoredPeer[] live;
            lock (s_live)
            {
                live = [.. s_live];
            }

            foreach (XenstoredPeer peer in live)
            {
                peer.Stop();
            }
        };
    }

    private XenstoredPeer(XenstoredKind kind, string stateDirectory, int daemonProcessId)
    {
        Kind = kind;
        StateDirectory = stateDirectory;
        DaemonProcessId = daemonProcessId;
        ClientEnvironment = new Dictionary<string, string> { ["XENSTORED_PATH"] = SocketPath };
    }

    /// <summary>Which daemon runs.</summary>
    public XenstoredKind Kind { get; }

    /// <summary>The state directory (<c>/tmp/xp-&lt;random&gt;</c>): the shim's <c>XENSHIM_DIR</c>.</summary>
    public string StateDirectory { get; }

    /// <summary>The daemon's Unix socket: the value of <c>XENSTORED_PATH</c> for clients.</summary>
    public string SocketPath => Path.Combine(StateDirectory, "socket");

    /// <summary>Where a daemon started with <c>traced</c> writes its request/reply trace.</summary>
    public string TraceFilePath => Path.Combine(StateDirectory, "trace.log");

    /// <summary>The shim library built for this directory: the <c>LD_PRELOAD</c> of every shimmed program.</summary>
    public string ShimLibraryPath => Path.Combine(StateDirectory, "xenstored_shim.so");

    /// <summary>The daemon's pid (0 for <see cref="XenstoredKind.External"/>; the <c>dotnet</c> process running <c>xen store serve</c> for <see cref="XenstoredKind.Embedded"/>).</summary>
    public int DaemonProcessId { get; }

    /// <summary>The environment a xenstore client needs to reach this daemon (<c>XENSTORED_PATH</c>).</summary>
    public IReadOnlyDictionary<string, string> ClientEnvironment { get; }

    /// <summary>The daemon's stdout and stderr so far (<c>daemon.out</c>), for failure messages.</summary>
    public string DaemonOutput
    {
        get
        {
            try
            {
                return File.ReadAllText(Path.Combine(StateDirectory, "daemon.out"));
            }
            catch (IOException e)
            {
                return $"(no daemon.out: {e.Message})";
            }
        }
    }

    /// <summary>
    /// Creates a fresh state directory and starts the daemon in it; returns once its socket accepts connections.
    /// </summary>
    /// <exception cref="PeerUnavailableException">The peers folder or a needed program is missing.</exception>
    /// <exception cref="InvalidOperationException">The daemon did not start (the message quotes its output).</exception>
    /// <param name="kind">Which daemon.</param>
    /// <param name="daemonOptions">
    /// For <see cref="XenstoredKind.Embedded"/> only: more of C xenstored's options for our daemon (quotas, say), given
    /// after the command as <c>run_xenstored.sh</c> runs it. Words without spaces.
    /// </param>
    /// <param name="traced">
    /// Start C xenstored or ours with <c>--trace-file</c> <see cref="TraceFilePath"/> (the script's <c>XS_TRACE</c>).
    /// </param>
    public static async Task<XenstoredPeer> StartAsync(XenstoredKind kind = XenstoredKind.C, IReadOnlyList<string>? daemonOptions = null, bool traced = false)
    {
        if (daemonOptions is { Count: > 0 } && kind != XenstoredKind.Embedded)
        {
            throw new ArgumentException("Only our daemon takes extra options here.", nameof(daemonOptions));
        }

        if (kind == XenstoredKind.External)
        {
            throw new ArgumentException($"Use {nameof(HostExternallyAsync)} for a xenstore the test hosts.", nameof(kind));
        }

        PeerPrograms.Require(
            requirePeersScripts: true,
            kind switch { XenstoredKind.C => PeerPrograms.Xenstored, XenstoredKind.OCaml => PeerPrograms.Oxenstored, _ => PeerPrograms.XenTool },
            PeerPrograms.XenstoreRead,
            PeerPrograms.XenstoreWrite,
            PeerPrograms.XenctrlHeader,
            "gcc",
            "/bin/sh");
        string directory = CreateStateDirectory();
        try
        {
            string stdout = await PeerCommand.RunCheckedAsync(
                PeerPrograms.RunXenstoredScript, [ScriptKind(kind), directory], ScriptEnvironment(kind, daemonOptions ?? [], traced)).ConfigureAwait(false);
            string lastLine = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)[^1];
            await WaitUntilListeningAsync(Path.Combine(directory, "socket")).ConfigureAwait(false);
            var peer = new XenstoredPeer(kind, directory, int.Parse(lastLine, CultureInfo.InvariantCulture));
            lock (s_live)
            {
                s_live.Add(peer);
            }

            return peer;
        }
        catch
        {
            KillScriptDaemon(directory, kind);
            DeleteDirectory(directory);
            throw;
        }
    }

    /// <summary>The argument of <c>run_xenstored.sh</c> that starts <paramref name="kind"/>.</summary>
    private static string ScriptKind(XenstoredKind kind) => kind switch
    {
        XenstoredKind.C => "c",
        XenstoredKind.OCaml => "ocaml",
        _ => "ours",
    };

    /// <summary>
    /// For our daemon, the command <c>run_xenstored.sh ours</c> starts (it adds <c>--no-fork --pid-file</c> and the
    /// environment, as for C xenstored): the <c>xen</c> tool built beside the tests.
    /// </summary>
    private static Dictionary<string, string> ScriptEnvironment(XenstoredKind kind, IReadOnlyList<string> daemonOptions, bool traced)
    {
        var environment = new Dictionary<string, string>();
        if (kind == XenstoredKind.Embedded)
        {
            environment["XENSTORED_OURS"] = string.Join(' ', ["dotnet", PeerPrograms.XenTool, "store", "serve", .. daemonOptions]);
        }

        if (traced)
        {
            environment["XS_TRACE"] = "1";
        }

        return environment;
    }

    /// <summary>
    /// Prepares a state directory and the shim for a xenstore that the test hosts itself (kind
    /// <see cref="XenstoredKind.External"/>): creates the directory, builds the shim into it with gcc, and calls
    /// <paramref name="host"/> with the directory and the socket path it must listen on before returning. Programs
    /// started with <see cref="StartShimmed"/> then use that xenstore. Disposing kills them and removes the directory;
    /// stopping the hosted xenstore is the caller's.
    /// </summary>
    /// <exception cref="PeerUnavailableException">The peers folder, gcc or the Xen headers are missing.</exception>
    /// <exception cref="InvalidOperationException">The shim did not compile, or nothing listens on the socket after <paramref name="host"/>.</exception>
    public static async Task<XenstoredPeer> HostExternallyAsync(Func<string, string, Task> host)
    {
        ArgumentNullException.ThrowIfNull(host);
        PeerPrograms.Require(requirePeersScripts: true, PeerPrograms.XenstoreRead, PeerPrograms.XenstoreWrite, PeerPrograms.XenctrlHeader, "gcc");
        string directory = CreateStateDirectory();
        var peer = new XenstoredPeer(XenstoredKind.External, directory, 0);
        try
        {
            await PeerCommand.RunCheckedAsync(
                "gcc",
                ["-O2", "-Wall", "-shared", "-fPIC", "-o", peer.ShimLibraryPath, Path.Combine(PeerPrograms.PeersDirectory, "xenstored_shim.c"), "-ldl"])
                .ConfigureAwait(false);
            await host(directory, peer.SocketPath).ConfigureAwait(false);
            if (!File.Exists(peer.SocketPath))
            {
                throw new InvalidOperationException($"Nothing listens on {peer.SocketPath} after the host callback.");
            }

            await WaitUntilListeningAsync(peer.SocketPath).ConfigureAwait(false); // a daemon binds the file before it listens

            lock (s_live)
            {
                s_live.Add(peer);
            }

            return peer;
        }
        catch
        {
            DeleteDirectory(directory);
            throw;
        }
    }

    /// <summary>
    /// Starts <paramref name="program"/> under the shim in this state directory, talking to this daemon
    /// (<c>LD_PRELOAD</c>, <c>XENSHIM_DIR</c>, <c>XENSTORED_PATH</c>). It is killed when this peer is disposed,
    /// if not before.
    /// </summary>
    /// <exception cref="ObjectDisposedException">This peer was disposed.</exception>
    public PeerDaemon StartShimmed(string program, IEnumerable<string> arguments)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var environment = new Dictionary<string, string>(ClientEnvironment)
        {
            ["LD_PRELOAD"] = ShimLibraryPath,
            ["XENSHIM_DIR"] = StateDirectory,
        };
        PeerDaemon daemon = PeerDaemon.Start(program, arguments, environment);
        lock (_daemons)
        {
            _daemons.Add(daemon);
        }

        return daemon;
    }

    /// <summary>Writes one node with <c>xenstore-write</c>.</summary>
    /// <exception cref="InvalidOperationException">The CLI failed (the message quotes it).</exception>
    public Task WriteAsync(string path, string value) => WriteAsync((path, value));

    /// <summary>Writes several nodes with one <c>xenstore-write</c> (one transaction).</summary>
    /// <exception cref="InvalidOperationException">The CLI failed (the message quotes it).</exception>
    public Task WriteAsync(params (string Path, string Value)[] nodes) =>
        PeerCommand.RunCheckedAsync(PeerPrograms.XenstoreWrite, nodes.SelectMany(n => new[] { n.Path, n.Value }), ClientEnvironment);

    /// <summary>Reads a node with <c>xenstore-read</c>.</summary>
    /// <exception cref="InvalidOperationException">The CLI failed, e.g. the node does not exist (the message quotes it).</exception>
    public async Task<string> ReadAsync(string path)
    {
        string stdout = await PeerCommand.RunCheckedAsync(PeerPrograms.XenstoreRead, [path], ClientEnvironment).ConfigureAwait(false);
        return stdout.EndsWith('\n') ? stdout[..^1] : stdout;
    }

    /// <summary>Reads a node with <c>xenstore-read</c>; null when the CLI fails (e.g. the node does not exist).</summary>
    public async Task<string?> TryReadAsync(string path)
    {
        PeerCommandResult result = await PeerCommand.RunAsync(PeerPrograms.XenstoreRead, [path], ClientEnvironment).ConfigureAwait(false);
        return result.ExitCode != 0 ? null
            : result.StandardOutput.EndsWith('\n') ? result.StandardOutput[..^1] : result.StandardOutput;
    }

    /// <summary>Kills the programs started here and the daemon, and removes the state directory.</summary>
    public ValueTask DisposeAsync()
    {
        Stop();
        return ValueTask.CompletedTask;
    }

    private void Stop()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        PeerDaemon[] daemons;
        lock (_daemons)
        {
            daemons = [.. _daemons];
        }

        foreach (PeerDaemon daemon in daemons.Reverse())
        {
            daemon.Dispose();
        }

        KillDaemon(DaemonProcessId, Kind);
        DeleteDirectory(StateDirectory);
        lock (s_live)
        {
            s_live.Remove(this);
        }
    }

    /// <summary>
    /// The script (or a host callback) returns once the socket file exists, but a daemon binds it a moment before it
    /// listens (oxenstored; C xenstored too, seen once in CI): until then a connection is refused. Wait until one is accepted.
    /// </summary>
    /// <param name="socketPath">The daemon's socket.</param>
    /// <param name="failure">Null while the daemon may still come up, else why it will not (it exited).</param>
    private static Task WaitUntilListeningAsync(string socketPath, Func<string?>? failure = null) =>
        Deadline.RunAsync(
            async token =>
            {
                while (true)
                {
                    if (failure?.Invoke() is { } why)
                    {
                        throw new InvalidOperationException(why);
                    }

                    using var probe = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                    try
                    {
                        await probe.ConnectAsync(new UnixDomainSocketEndPoint(socketPath), token).ConfigureAwait(false);
                        return;
                    }
                    catch (SocketException)
                    {
                        await Task.Delay(Deadline.PollInterval, token).ConfigureAwait(false);
                    }
                }
            },
            () => $"nothing accepted connections on {socketPath}");

    private static string CreateStateDirectory()
    {
        // Socket paths must fit in 108 bytes, so the directory is short and under /tmp whatever TMPDIR says.
        while (true)
        {
            string path = $"/tmp/xp-{Convert.ToHexStringLower(Guid.NewGuid().ToByteArray(), 0, 5)}";
            if (!Path.Exists(path))
            {
                Directory.CreateDirectory(path);
                return path;
            }
        }
    }

    private static void KillScriptDaemon(string directory, XenstoredKind kind)
    {
        try
        {
            string text = File.ReadAllText(Path.Combine(directory, "daemon.pid")).Trim();
            if (int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int pid))
            {
                KillDaemon(pid, kind);
            }
        }
        catch (IOException)
        {
            // The script failed before starting the daemon.
        }
    }

    /// <summary>
    /// Kills the daemon the script started. It is not our child (the script exited), so check first that the pid
    /// still names that program, then wait until it is gone or a zombie for its new parent to reap.
    /// </summary>
    private static void KillDaemon(int pid, XenstoredKind kind)
    {
        if (kind is XenstoredKind.External || !IsDaemon(pid, kind))
        {
            return;
        }

        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            process.Kill();
        }
        catch (ArgumentException)
        {
            return;
        }
        catch (InvalidOperationException)
        {
            return;
        }

        DateTime giveUp = DateTime.UtcNow + Deadline.Default;
        while (DateTime.UtcNow < giveUp && ProcessStat.IsRunning(pid))
        {
            Thread.Sleep(Deadline.PollInterval);
        }
    }

    /// <summary>Whether <paramref name="pid"/> still runs that daemon: its executable, or for ours the tool's dll on its command line.</summary>
    private static bool IsDaemon(int pid, XenstoredKind kind)
    {
        try
        {
            return kind == XenstoredKind.Embedded
                ? File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains(PeerPrograms.XenTool)
                : new FileInfo($"/proc/{pid}/exe").LinkTarget == (kind == XenstoredKind.C ? PeerPrograms.Xenstored : PeerPrograms.Oxenstored);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
    }

    private static void DeleteDirectory(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
    }
}
