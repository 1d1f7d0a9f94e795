using System.CommandLine;
using System.Runtime.InteropServices;
using System.Runtime.Versioning;
using Xen.Blktap.Backend;
using Xen.Blktap.DeviceStore;
using Xen.Rings.Host;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Server.Hosting;

namespace Xen.Tool.Commands;

/// <summary>
/// <c>xen store serve</c>: the embedded xenstored as the host's daemon, taking C xenstored 4.17's command line so it can
/// replace <c>/usr/sbin/xenstored</c>. On a Xen host (or under the LD_PRELOAD stand-in hypervisor) it serves dom0's
/// kernel over <c>/proc/xen/xsd_kva</c>, every guest INTRODUCE names over its granted page and event channel, and
/// releases dead domains on VIRQ_DOM_EXC; with <c>--peer-dir</c> it serves guests over the stand-in's files instead, with
/// <c>-D</c> no domains at all. It listens on <c>--socket</c>, else <c>$XENSTORED_PATH</c>, else
/// <c>$XENSTORED_RUNDIR/socket</c> (default <c>/var/run/xenstored/socket</c>), mode 0600. Once ready it prints one line
/// naming the socket and tells systemd (<c>READY=1</c>); without <c>--no-fork</c> it runs on as a detached daemon. It
/// runs until SIGINT or SIGTERM. With <c>--state-dir</c> every change is journalled there before its reply leaves, and a
/// restart on the directory resumes the store; a journal that can no longer be written ends the server (exit 1). With
/// <c>--simulated-blkback</c> it also plays dom0's block backend (<see cref="SimulatedBlkback"/>), so <c>xen blktap</c>
/// runs end to end on a machine without Xen.
/// </summary>
internal static class StoreServeCommand
{
    /// <summary>The start of the line printed once the socket is ready (the daemon's parent waits for it).</summary>
    public const string ReadyPrefix = "xenstored listening on ";

    private const string Name = "xen store serve";

    public static Command Create(TextWriter? output = null)
    {
        var o = new ServeOptions();
        var command = new Command("serve", "Run the embedded xenstored (C xenstored's options) until SIGINT/SIGTERM.")
        {
            TreatUnmatchedTokensAsErrors = false, // as getopt: an unknown option is reported and skipped
        };
        foreach (Option option in o.All)
        {
            command.Options.Add(option);
        }

        command.SetAction((parseResult, cancellationToken) => RunAsync(parseResult, o, output ?? Console.Out, cancellationToken));
        return command;
    }

    private static async Task<int> RunAsync(ParseResult parse, ServeOptions o, TextWriter output, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            await Console.Error.WriteLineAsync($"{Name}: xenstored runs on Linux only").ConfigureAwait(false);
            return 1;
        }

        foreach (string token in parse.UnmatchedTokens)
        {
            if (!token.StartsWith('-') || token == "-")
            {
                await Console.Error.WriteLineAsync($"{Name}: No arguments desired ({token})").ConfigureAwait(false);
                return 1;
            }

            await Console.Error.WriteLineAsync(token.StartsWith("--", StringComparison.Ordinal)
                ? $"{Name}: unrecognized option '{token}'"
                : $"{Name}: invalid option -- '{token[1..]}'").ConfigureAwait(false);
        }

        XenStoreServerOptions options;
        try
        {
            options = o.ServerOptions(parse, Console.Error);
        }
        catch (FormatException e)
        {
            await Console.Error.WriteLineAsync($"{Name}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        // The new daemon of a live update is the old one's process (same pid, same stdio): it neither forks nor detaches.
        bool liveUpdated = parse.GetValue(o.LiveUpdate);
        bool daemonChild = DaemonChild.IsChild && !liveUpdated;
        if (!parse.GetValue(o.NoFork) && !daemonChild && !liveUpdated)
        {
            return await DaemonChild.StartChildAsync(ReadyPrefix, output, cancellationToken).ConfigureAwait(false);
        }

        string socketPath = Path.GetFullPath(o.SocketPath(parse));
        options = options with { LiveUpdate = o.LiveUpdateSettings(parse, socketPath) };
        string? pidFile = parse.GetValue(o.PidFile) is { } pid ? Path.GetFullPath(pid) : null;
        string? peerDirectory = parse.GetValue(o.PeerDirectory) is { } peers ? Path.GetFullPath(peers) : null;
        if (peerDirectory is not null && !Directory.Exists(peerDirectory))
        {
            await Console.Error.WriteLineAsync($"{Name}: the peer directory {peerDirectory} does not exist").ConfigureAwait(false);
            return 1;
        }

        if (daemonChild)
        {
            DaemonChild.Detach();
        }

        using PidFile? pidLock = pidFile is null ? null : PidFile.TryAcquire(pidFile);
        if (pidFile is not null && pidLock is null)
        {
            return 0; // a daemon already holds the pid file: leave quietly, as C xenstored does
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var signals = new SignalStop(stop, PosixSignal.SIGTERM, PosixSignal.SIGINT);
        using NativeXenStoreHost? native = OpenHost(parse, o, peerDirectory, out IXenStoreHost? host, out string? hostError);
        if (hostError is not null)
        {
            if (parse.GetValue(o.Socket) is null)
            {
                await Console.Error.WriteLineAsync($"FATAL: {hostError}").ConfigureAwait(false);
                return 1;
            }

            // An explicit socket is a test or a tool's private store: serve it, and say why no guest will be served.
            await Console.Error.WriteLineAsync($"{Name}: {hostError}; serving {socketPath} only").ConfigureAwait(false);
        }

        XenStoreServer started;
        try
        {
            started = await XenStoreServer.StartAsync(options with { Host = host }, stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is XenHostException or ArgumentException or IOException or InvalidDataException or System.Net.Sockets.SocketException)
        {
            string what = liveUpdated ? $"cannot carry on from the live update's {options.LiveUpdate!.DumpPath}"
                : e is InvalidDataException ? $"cannot resume the state in {options.StateDirectory}"
                : peerDirectory is not null ? $"cannot use the peer directory {peerDirectory}"
                : e is XenHostException ? "Failed to initialize dom0" // C xenstored's words for the kernel connection
                : "cannot start";
            await Console.Error.WriteLineAsync($"{Name}: {what}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        await using XenStoreServer server = started;
        if (server.LiveUpdateResumed)
        {
            await Console.Error.WriteLineAsync($"{Name}: live update: carried on from {options.LiveUpdate!.DumpPath}").ConfigureAwait(false);
            foreach (string failure in server.LiveUpdateUnresumed)
            {
                await Console.Error.WriteLineAsync($"{Name}: not serving the ring of {failure}").ConfigureAwait(false);
            }
        }

        if (server.Recovery is { } recovered && (recovered.FromSnapshot || recovered.RecordsReplayed > 0 || recovered.DiscardedBytes > 0))
        {
            await Console.Error.WriteLineAsync(
                $"{Name}: resumed {options.StateDirectory} at change {recovered.LastSequence} ({(recovered.FromSnapshot ? "snapshot and " : "")}{recovered.RecordsReplayed} journal records" +
                (recovered.DiscardedBytes > 0 ? $"; {recovered.DiscardedBytes} bytes of an unfinished record cut" : "") + ")").ConfigureAwait(false);

            if (recovered.ResumedDomains.Count > 0)
            {
                await Console.Error.WriteLineAsync($"{Name}: serving the rings of domains {string.Join(' ', recovered.ResumedDomains)} again").ConfigureAwait(false);
            }

            foreach (string failure in recovered.UnresumedDomains)
            {
                await Console.Error.WriteLineAsync($"{Name}: not serving the ring of {failure}").ConfigureAwait(false);
            }
        }

        using PosixSignalRegistration hangUp = HangUpSignal.Register(() =>
        {
            // SIGHUP reopens the trace (log rotation), as in C xenstored
            try
            {
                server.ReopenTraceFile();
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                Console.Error.WriteLine($"{Name}: the trace file was not reopened: {e.Message}");
            }
        });
        try
        {
            if (parse.GetValue(o.Socket) is null && Path.GetDirectoryName(socketPath) is { } runDirectory)
            {
                CreateRunDirectory(runDirectory);
            }

            await server.ListenUnixAsync(socketPath, stop.Token).ConfigureAwait(false);
            File.SetUnixFileMode(socketPath, UnixFileMode.UserRead | UnixFileMode.UserWrite); // C's chmod 0600
        }
        catch (Exception e) when (e is ArgumentException or System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"{Name}: cannot listen on {socketPath}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        // Started before the socket is announced, so a client that waits for the announcement finds the backend serving.
        await using XenStoreClient? backendClient = parse.GetValue(o.SimulatedBlkback) ? XenStoreClient.Create(server.ConnectInProcess(0)) : null;
        await using SimulatedBlkback? blkback = backendClient is null ? null
            : await SimulatedBlkback.StartAsync(new XenStoreDeviceStore(backendClient), cancellationToken: stop.Token).ConfigureAwait(false);
        if (parse.GetValue(o.OutputPid))
        {
            await output.WriteLineAsync(Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        }

        await output.WriteLineAsync(ReadyPrefix + socketPath).ConfigureAwait(false);
        await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            _ = SystemdNotify.Notify("READY=1");
        }
        catch (System.Net.Sockets.SocketException e)
        {
            await Console.Error.WriteLineAsync($"{Name}: systemd was not told it is ready: {e.Message}").ConfigureAwait(false);
        }

        if (daemonChild)
        {
            DaemonChild.FinishDetach();
        }

        Task stopped = Task.Delay(Timeout.Infinite, stop.Token);
        if (await Task.WhenAny(stopped, server.Faulted).ConfigureAwait(false) == server.Faulted)
        {
            await Console.Error.WriteLineAsync($"FATAL: {server.Faulted.Exception?.InnerException?.Message}; nothing after it was acknowledged, restart on the same --state-dir").ConfigureAwait(false);
            return 1;
        }

        return 0;
    }

    /// <summary>Makes the run directory (mode 0755) as C xenstored does, one level, ignoring failure: the bind reports it.</summary>
    [SupportedOSPlatform("linux")]
    private static void CreateRunDirectory(string path)
    {
        try
        {
            if (!Directory.Exists(path) && Directory.Exists(Path.GetDirectoryName(path)))
            {
                Directory.CreateDirectory(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute |
                    UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
            }
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
        }
    }

    /// <summary>
    /// The hypervisor the server uses: none with <c>-D</c>, the stand-in's files with <c>--peer-dir</c>, else Xen's
    /// libraries (<paramref name="error"/> says, in C xenstored's words, why they could not be opened).
    /// </summary>
    private static NativeXenStoreHost? OpenHost(ParseResult parse, ServeOptions o, string? peerDirectory, out IXenStoreHost? host, out string? error)
    {
        error = null;
        host = null;
        if (parse.GetValue(o.NoDomainInit))
        {
            return null;
        }

        if (peerDirectory is not null)
        {
            host = new ShimXenStoreHost(peerDirectory);
            return null;
        }

        try
        {
            NativeXenStoreHost native = NativeXenStoreHost.Open();
            host = native;
            return native;
        }
        catch (Exception e) when (e is XenHostException or DllNotFoundException)
        {
            error = $"Failed to open connection to hypervisor: {e.Message}";
            return null;
        }
    }
}
