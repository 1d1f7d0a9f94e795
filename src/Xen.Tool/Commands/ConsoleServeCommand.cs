using System.CommandLine;
using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Xen.Consoled;
using Xen.Rings.Host;
using Xen.Store;
using Xen.Store.Client;

namespace Xen.Tool.Commands;

/// <summary>
/// <c>xen console serve</c>: the console daemon (<see cref="ConsoleDaemon"/>) with xenconsoled 4.17's options, so an
/// init script or <c>smoke_console_qemu.sh</c>'s <c>XENCONSOLED_CMD</c> can start it in xenconsoled's place.
/// </summary>
/// <remarks>
/// Options as xenconsoled reads them: <c>-i/--interactive</c> (stay in the foreground; else it becomes a daemon and
/// writes <c>--pid-file</c>, default <c>/var/run/xenconsoled.pid</c>), <c>--log=none|guest|hv|all</c>,
/// <c>--log-dir=DIR</c>, <c>-t/--timestamp=none|guest|hv|all</c>, <c>-o/--overflow-data=discard|keep</c>,
/// <c>--replace-escape</c>, <c>-v/--verbose</c> (report to standard error), <c>-V/--version</c>. An unknown value of
/// <c>--log</c>, <c>-t</c> or <c>-o</c> is ignored, as there. SIGHUP reopens the guest logs; SIGTERM and SIGINT stop it.
/// <c>hv</c> asks for the hypervisor's own console, which is not read: it is accepted and said so.
/// </remarks>
internal static class ConsoleServeCommand
{
    private const string Name = "xen console serve";
    private const string ReadyPrefix = "xen console serve: serving";
    private const string DefaultPidFile = "/var/run/xenconsoled.pid";

    public static Command Create()
    {
        var interactive = new Option<bool>("--interactive", "-i") { Description = "Stay in the foreground (do not become a daemon)." };
        var log = new Option<string>("--log") { Description = "What to log: none, guest (each guest's output to DIR/guest-NAME.log), hv or all.", DefaultValueFactory = _ => "none", HelpName = "none|guest|hv|all" };
        var logDir = new Option<string>("--log-dir") { Description = "Where the logs go.", DefaultValueFactory = _ => ConsoleDaemonOptions.DefaultLogDirectory, HelpName = "DIR" };
        var pidFile = new Option<string>("--pid-file") { Description = "The daemon's pid file (not used with -i).", DefaultValueFactory = _ => DefaultPidFile, HelpName = "PATH" };
        var timestamp = new Option<string>("--timestamp", "-t") { Description = "Which logs get a [YYYY-MM-DD HH:MM:SS] stamp on each line.", DefaultValueFactory = _ => "none", HelpName = "none|guest|hv|all" };
        var overflow = new Option<string>("--overflow-data", "-o") { Description = "Output nobody reads beyond the console's limit: discard it, or keep it in the guest's ring.", DefaultValueFactory = _ => "discard", HelpName = "discard|keep" };
        var replaceEscape = new Option<bool>("--replace-escape") { Description = "Replace ESC with '.' when writing a guest log." };
        var verbose = new Option<bool>("--verbose", "-v") { Description = "Report every console set up and closed on standard error." };
        var version = new Option<bool>("--version", "-V") { Description = "Print the version and exit." };
        var command = new Command("serve", "Serve every domain's PV console as xenconsoled does: a pseudo-terminal per console published as console/tty, guest logs, fairness between guests.");
        foreach (Option option in new Option[] { interactive, log, logDir, pidFile, timestamp, overflow, replaceEscape, verbose, version })
        {
            command.Options.Add(option);
        }

        command.SetAction(async (parse, cancellationToken) =>
        {
            if (parse.GetValue(version))
            {
                await Console.Out.WriteLineAsync("Xen Console Daemon 3.0 (xen console serve)").ConfigureAwait(false);
                return 0;
            }

            string logWhat = parse.GetValue(log)!;
            string stamps = parse.GetValue(timestamp)!;
            var options = new ConsoleDaemonOptions
            {
                LogGuests = logWhat is "guest" or "all",
                LogDirectory = Path.GetFullPath(parse.GetValue(logDir)!),
                GuestTimestamps = stamps is "guest" or "all",
                Overflow = parse.GetValue(overflow) == "keep" ? ConsoleOverflow.Keep : ConsoleOverflow.Discard,
                ReplaceEscape = parse.GetValue(replaceEscape),
            };
            return await RunAsync(options, logWhat is "hv" or "all", parse.GetValue(interactive), Path.GetFullPath(parse.GetValue(pidFile)!), parse.GetValue(verbose), cancellationToken).ConfigureAwait(false);
        });
        return command;
    }

    private static async Task<int> RunAsync(ConsoleDaemonOptions options, bool hypervisorLog, bool interactive, string pidFile, bool verbose, CancellationToken cancellationToken)
    {
        if (!OperatingSystem.IsLinux())
        {
            await Console.Error.WriteLineAsync($"{Name}: the console daemon runs on Linux only").ConfigureAwait(false);
            return 1;
        }

        bool daemonChild = DaemonChild.IsChild;
        if (!interactive && !daemonChild)
        {
            return await DaemonChild.StartChildAsync(ReadyPrefix, Console.Out, cancellationToken).ConfigureAwait(false);
        }

        if (daemonChild)
        {
            DaemonChild.Detach();
        }

        using PidFile? pidLock = interactive ? null : PidFile.TryAcquire(pidFile);
        if (!interactive && pidLock is null)
        {
            return 0; // a daemon already holds the pid file
        }

        if (hypervisorLog)
        {
            await Console.Error.WriteLineAsync($"{Name}: --log=hv: the hypervisor's console is not read; guest logs only").ConfigureAwait(false);
        }

        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var signals = new SignalStop(stop, PosixSignal.SIGTERM, PosixSignal.SIGINT);
        var logger = new StandardErrorLogger(Name, verbose ? LogLevel.Debug : LogLevel.Warning);
        XenStoreClient store;
        try
        {
            store = await XenStoreClient.ConnectAsync(cancellationToken: stop.Token).ConfigureAwait(false);
        }
        catch (XenStoreException e)
        {
            await Console.Error.WriteLineAsync($"{Name}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        // SIGHUP is taken before the daemon starts: it serves (and logs) as soon as it has started, and a SIGHUP that
        // came before the handler was registered would be dropped by the runtime (nobody asked for it), leaving the
        // logs unreopened. One that comes before the daemon is there reopens the logs once it is.
        var hangUps = new HangUpRelay();
        using PosixSignalRegistration hangUp = HangUpSignal.Register(hangUps.Raise); // reopens the logs (logrotate), as in xenconsoled
        await using (store.ConfigureAwait(false))
        {
            ConsoleDaemon daemon;
            try
            {
                daemon = await ConsoleDaemon.StartAsync(store, options, logger, stop.Token).ConfigureAwait(false);
                hangUps.Serve(daemon);
            }
            catch (Exception e) when (e is XenHostException or DllNotFoundException or XenStoreException)
            {
                await Console.Error.WriteLineAsync($"{Name}: {e.Message}").ConfigureAwait(false);
                return 1;
            }

            await using (daemon.ConfigureAwait(false))
            {
                if (daemonChild)
                {
                    await Console.Out.WriteLineAsync(ReadyPrefix).ConfigureAwait(false);
                    await Console.Out.FlushAsync(CancellationToken.None).ConfigureAwait(false);
                    DaemonChild.FinishDetach();
                }

                try
                {
                    await daemon.Completion.WaitAsync(stop.Token).ConfigureAwait(false);
                    return 0;
                }
                catch (OperationCanceledException)
                {
                    return 0;
                }
                catch (XenStoreException e)
                {
                    await Console.Error.WriteLineAsync($"{Name}: the xenstore connection failed: {e.Message}").ConfigureAwait(false);
                    return 1;
                }
            }
        }
    }

    /// <summary>SIGHUP's way to the daemon: a reopen of its logs, or, before the daemon has started, one once it has.</summary>
    private sealed class HangUpRelay
    {
        private readonly object _gate = new();
        private ConsoleDaemon? _daemon;
        private bool _missed;

        public void Raise()
        {
            lock (_gate)
            {
                if (_daemon is null)
                {
                    _missed = true;
                }
                else
                {
                    _daemon.ReopenLogs();
                }
            }
        }

        public void Serve(ConsoleDaemon daemon)
        {
            lock (_gate)
            {
                _daemon = daemon;
                if (_missed)
                {
                    daemon.ReopenLogs();
                }
            }
        }
    }
}
