using System.CommandLine;
using System.Runtime.InteropServices;
using Xen.Blktap.Backend;
using Xen.Blktap.DeviceStore;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Server.Hosting;

namespace Xen.Tool.Commands;

/// <summary>
/// <c>xen store serve --socket PATH [--peer-dir DIR] [--state FILE] [--simulated-blkback] [--receive-spin US]</c>: the embedded xenstored
/// as a daemon. It prints nothing until the socket is ready, then one line naming it, and runs until SIGINT or
/// SIGTERM; on the way out it saves the tree to <c>--state</c> when given. With <c>--peer-dir</c> it also releases
/// introduced domains that the shim reports dead (<c>dead-D</c>, then the <c>virq-3</c> datagram), as C xenstored
/// does. With <c>--simulated-blkback</c> it also plays dom0's block backend (<see cref="SimulatedBlkback"/> on an
/// in-process connection), so <c>xen blktap</c> runs end to end on a machine without Xen.
/// </summary>
internal static class StoreServeCommand
{
    public static Command Create(TextWriter? output = null)
    {
        var socket = new Option<string>("--socket", "-s") { Description = "The Unix socket to listen on (clients: XENSTORED_PATH=PATH).", Required = true };
        var peerDir = new Option<string?>("--peer-dir") { Description = "Serve guests introduced with INTRODUCE over the page files and datagram event channels of this directory (the convention of the LD_PRELOAD shim the real Xen daemons run under without a hypervisor): xs-ring-D, port-D-P, domD.evtchn; a domain marked dead-D is released when virq-3 is raised." };
        var state = new Option<string?>("--state") { Description = "Load the tree from this file at start (if it exists) and save it there on a clean shutdown." };
        var blkback = new Option<bool>("--simulated-blkback") { Description = "Also play dom0's block backend and its hotplug script: every device under /local/domain/0/backend/{vbd,tap} is taken through the xenbus states (hotplug-status connected, InitWait, Connected once its frontend is, Closed after Closing), so xen blktap create/destroy complete without Xen. No I/O is served." };
        var spin = new Option<double?>("--receive-spin") { Description = "Microseconds a socket connection checks for the next request before sleeping after answering one (default 50; 0 never spins), only while no other connection is busy." };
        spin.Validators.Add(result =>
        {
            if (result.GetValue(spin) is double us && (us < 0 || us > XenStoreServerOptions.MaxReceiveSpin.TotalMicroseconds))
            {
                result.AddError($"--receive-spin must be between 0 and {XenStoreServerOptions.MaxReceiveSpin.TotalMicroseconds} microseconds.");
            }
        });
        var command = new Command("serve", "Run the embedded xenstored on a Unix socket until SIGINT/SIGTERM.");
        command.Options.Add(socket);
        command.Options.Add(peerDir);
        command.Options.Add(state);
        command.Options.Add(blkback);
        command.Options.Add(spin);
        command.SetAction((parseResult, cancellationToken) =>
        {
            string? peerDirectory = parseResult.GetValue(peerDir);
            var options = new XenStoreServerOptions
            {
                Host = peerDirectory is null ? null : new ShimXenStoreHost(peerDirectory),
                StateFile = parseResult.GetValue(state),
            };
            if (parseResult.GetValue(spin) is double us)
            {
                options = options with { ReceiveSpin = TimeSpan.FromMicroseconds(us) };
            }

            return RunAsync(parseResult.GetValue(socket)!, options, peerDirectory, parseResult.GetValue(blkback), output ?? Console.Out, cancellationToken);
        });
        return command;
    }

    private static async Task<int> RunAsync(string socketPath, XenStoreServerOptions options, string? peerDirectory, bool simulatedBlkback, TextWriter output, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var signals = new SignalStop(stop, PosixSignal.SIGTERM, PosixSignal.SIGINT);

        if (peerDirectory is not null && !Directory.Exists(peerDirectory))
        {
            await Console.Error.WriteLineAsync($"xen store serve: the peer directory {peerDirectory} does not exist").ConfigureAwait(false);
            return 1;
        }

        XenStoreServer started;
        try
        {
            started = await XenStoreServer.StartAsync(options, stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (peerDirectory is not null && e is ArgumentException or System.Net.Sockets.SocketException)
        {
            await Console.Error.WriteLineAsync($"xen store serve: cannot use the peer directory {peerDirectory}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        await using XenStoreServer server = started;
        try
        {
            await server.ListenUnixAsync(socketPath, stop.Token).ConfigureAwait(false);
        }
        catch (Exception e) when (e is ArgumentException or System.Net.Sockets.SocketException or IOException or UnauthorizedAccessException)
        {
            await Console.Error.WriteLineAsync($"xen store serve: cannot listen on {socketPath}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        // Started before the socket is announced, so a client that waits for the announcement finds the backend serving.
        await using XenStoreClient? backendClient = simulatedBlkback ? XenStoreClient.Create(server.ConnectInProcess(0)) : null;
        await using SimulatedBlkback? blkback = backendClient is null ? null
            : await SimulatedBlkback.StartAsync(new XenStoreDeviceStore(backendClient), cancellationToken: stop.Token).ConfigureAwait(false);
        await output.WriteLineAsync($"xenstored listening on {socketPath}").ConfigureAwait(false);
        await output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        try
        {
            await Task.Delay(Timeout.Infinite, stop.Token).ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }

        return 0;
    }
}
