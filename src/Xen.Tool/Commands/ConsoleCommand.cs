using System.CommandLine;
using System.Globalization;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Xen.Rings;
using Xen.Rings.Console;
using Xen.Rings.Events;
using Xen.Rings.Memory;
using Xen.Rings.Shim;

namespace Xen.Tool.Commands;

/// <summary>
/// <c>xen console [DOMID] (--dir DIR | --page FILE) [--port P] [--frontend] [--no-input]</c>: attaches to a console
/// page (<c>struct xencons_interface</c> in a 4096-byte file, <c>DIR/cons-ring-DOMID</c> by default) and copies raw
/// bytes both ways, as <c>xl console</c> does through xenconsoled's pty.
/// </summary>
/// <remarks>
/// <para>
/// By default the tool is the console backend (what xenconsoled is): what the guest writes to <c>out</c> goes to
/// standard output, standard input goes to <c>in</c>. With <c>--frontend</c> it is the guest end: standard input goes
/// to <c>out</c> and <c>in</c> comes out, which is what a real xenconsoled (or our own backend) talks to.
/// </para>
/// <para>
/// Notifications use the shim's datagram sockets in DIR (<c>port-DOMID-P</c> bound by the backend, <c>domDOMID.evtchn</c>
/// by the guest); without <c>--port</c> the ring is polled every <c>--poll-interval</c> milliseconds and the peer is
/// not notified.
/// </para>
/// <para>
/// The session ends with status 0 on SIGINT, SIGTERM or SIGHUP; at the end of standard input, once all of the input
/// is in the ring (waiting for the peer to make room when it is full) and the output that is in the ring then has
/// been copied out; and, when standard input is a terminal (put in raw mode, so Ctrl-C goes to the guest), on
/// Ctrl-] as in xenconsole. <c>--no-input</c> does not read standard input at all (watch or log a console) and runs
/// until a signal. A missing page, a page that is not 4096 bytes, bad options or a corrupted ring: a message on
/// standard error and status 1.
/// </para>
/// </remarks>
internal static class ConsoleCommand
{
    /// <summary>Ctrl-]: the key that ends a session on a terminal, as in xenconsole and telnet.</summary>
    public const byte EscapeCharacter = 0x1d;

    private const string Program = "xen console";

    public static Command Create()
    {
        var domid = new Argument<uint?>("domid")
        {
            Arity = ArgumentArity.ZeroOrOne,
            Description = "The guest's domain id: names the page (DIR/cons-ring-DOMID) and the event channel sockets (DIR/port-DOMID-P, DIR/domDOMID.evtchn).",
        };
        var dir = new Option<string?>("--dir", "-d")
        {
            Description = "The shim's state directory holding the page files and event channel sockets (as under ../shared/peers).",
            HelpName = "DIR",
        };
        var page = new Option<string?>("--page")
        {
            Description = "The console page file (4096 bytes); default DIR/cons-ring-DOMID.",
            HelpName = "FILE",
        };
        var port = new Option<uint?>("--port", "-p")
        {
            Description = "The guest-side port of the console event channel (/local/domain/DOMID/console/port); needs --dir and DOMID. Without it the ring is polled and the peer is not notified.",
            HelpName = "P",
        };
        var pollInterval = new Option<int>("--poll-interval")
        {
            Description = "Milliseconds between looks at the ring when no --port is given.",
            DefaultValueFactory = _ => 20,
            HelpName = "MS",
        };
        var frontend = new Option<bool>("--frontend")
        {
            Description = "Be the guest end: standard input goes to out[] and in[] to standard output (to talk to a real xenconsoled, or to a backend run with xen console).",
        };
        var noInput = new Option<bool>("--no-input")
        {
            Description = "Do not read standard input: only copy the console's output, until SIGINT or SIGTERM.",
        };
        var command = new Command("console", "Attach to a console ring page: print what the other end writes, send what is typed (raw bytes both ways). "
            + "By default the backend end, as xenconsoled: out[] to standard output, standard input to in[]. "
            + "Ends on SIGINT/SIGTERM, at the end of standard input (once the input is in the ring), or on Ctrl-] when standard input is a terminal.");
        command.Subcommands.Add(ConsoleServeCommand.Create());
        command.Arguments.Add(domid);
        command.Options.Add(dir);
        command.Options.Add(page);
        command.Options.Add(port);
        command.Options.Add(pollInterval);
        command.Options.Add(frontend);
        command.Options.Add(noInput);
        command.SetAction((parseResult, cancellationToken) => RunAsync(
            new Settings(
                parseResult.GetValue(domid),
                parseResult.GetValue(dir),
                parseResult.GetValue(page),
                parseResult.GetValue(port),
                parseResult.GetValue(pollInterval),
                parseResult.GetValue(frontend),
                parseResult.GetValue(noInput)),
            cancellationToken));
        return command;
    }

    private sealed record Settings(uint? DomainId, string? Directory, string? PagePath, uint? Port, int PollIntervalMs, bool Frontend, bool NoInput);

    private static async Task<int> RunAsync(Settings settings, CancellationToken cancellationToken)
    {
        TextWriter error = Console.Error;
        if (Check(settings) is string usage)
        {
            await error.WriteLineAsync($"{Program}: {usage}").ConfigureAwait(false);
            return 1;
        }

        string pagePath = settings.PagePath ?? Path.Combine(settings.Directory!, string.Create(CultureInfo.InvariantCulture, $"cons-ring-{settings.DomainId}"));
        if (CheckPageFile(pagePath) is string pageProblem)
        {
            await error.WriteLineAsync($"{Program}: {pageProblem}").ConfigureAwait(false);
            return 1;
        }

        SharedPage page;
        try
        {
            page = SharedPage.MapFile(pagePath, ConsoleLayout.PageSize);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            await error.WriteLineAsync($"{Program}: cannot map {pagePath}: {e.Message}").ConfigureAwait(false);
            return 1;
        }

        using (page)
        {
            ShimGuestDomain? guest = null;
            IEventChannel channel;
            try
            {
                channel = OpenChannel(settings, out guest);
            }
            catch (Exception e) when (e is SocketException or ArgumentException or IOException)
            {
                await error.WriteLineAsync($"{Program}: cannot bind the event channel in {settings.Directory}: {e.Message}").ConfigureAwait(false);
                return 1;
            }

            try
            {
                using ConsoleRingStream ring = settings.Frontend
                    ? ConsoleRingStream.OpenFrontend(page.Memory, channel, leaveOpen: false)
                    : ConsoleRingStream.OpenBackend(page.Memory, channel, leaveOpen: false);
                return await RunSessionAsync(ring, settings, pagePath, error, cancellationToken).ConfigureAwait(false);
            }
            finally
            {
                guest?.Dispose();
            }
        }
    }

    /// <summary>What is wrong with the options, or null.</summary>
    private static string? Check(Settings settings)
    {
        if (settings.PagePath is null && (settings.Directory is null || settings.DomainId is null))
        {
            return "no console page: give the domid and --dir DIR (the page is DIR/cons-ring-DOMID), or --page FILE";
        }

        if (settings.Port is not null && (settings.Directory is null || settings.DomainId is null))
        {
            return "--port needs the domid and --dir DIR (the event channel sockets are DIR/port-DOMID-P and DIR/domDOMID.evtchn)";
        }

        if (settings.PollIntervalMs <= 0)
        {
            return $"--poll-interval must be a positive number of milliseconds, not {settings.PollIntervalMs}";
        }

        return null;
    }

    /// <summary>Why the file is not a console page, or null.</summary>
    private static string? CheckPageFile(string path)
    {
        if (Directory.Exists(path))
        {
            return $"{path} is a directory, not a console page file";
        }

        var info = new FileInfo(path);
        if (!info.Exists)
        {
            return $"no console page at {path}";
        }

        return info.Length == ConsoleLayout.PageSize
            ? null
            : $"{path} has {info.Length} bytes; a console page (struct xencons_interface) is exactly {ConsoleLayout.PageSize} bytes";
    }

    private static IEventChannel OpenChannel(Settings settings, out ShimGuestDomain? guest)
    {
        guest = null;
        if (settings.Port is not uint port)
        {
            return new PollingEventChannel(TimeSpan.FromMilliseconds(settings.PollIntervalMs));
        }

        uint domainId = settings.DomainId!.Value;
        if (!settings.Frontend)
        {
            return ShimEventChannels.BindBackend(settings.Directory!, domainId, port);
        }

        guest = ShimEventChannels.BindGuest(settings.Directory!, domainId);
        try
        {
            return guest.OpenChannel(port);
        }
        catch
        {
            guest.Dispose();
            guest = null;
            throw;
        }
    }

    private static async Task<int> RunSessionAsync(ConsoleRingStream ring, Settings settings, string pagePath, TextWriter error, CancellationToken cancellationToken)
    {
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        using var signals = new SignalStop(stop, PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGHUP);

        bool terminal = !settings.NoInput && !Console.IsInputRedirected;
        using TerminalRawMode? raw = terminal ? TerminalRawMode.TryEnter() : null;
        if (terminal)
        {
            await error.WriteAsync($"{Program}: attached to {pagePath}; Ctrl-] to quit\r\n").ConfigureAwait(false);
        }

        Stream stdout = Console.OpenStandardOutput();
        using var outputStop = CancellationTokenSource.CreateLinkedTokenSource(stop.Token);
        Task output = CopyOutputAsync(ring, stdout, outputStop.Token);
        Task input = settings.NoInput
            ? Task.Delay(Timeout.Infinite, stop.Token)
            : CopyInputAsync(ring, OpenStandardInput(terminal), terminal, stop.Token);
        try
        {
            Task first = await Task.WhenAny(output, input).ConfigureAwait(false);
            if (first == input && !stop.IsCancellationRequested)
            {
                // The end of the input (or Ctrl-]): everything typed is in the ring; copy out what the peer has written so far.
                await input.ConfigureAwait(false);
                await outputStop.CancelAsync().ConfigureAwait(false);
                await IgnoreCancellationAsync(output).ConfigureAwait(false);
                await DrainOutputAsync(ring, stdout).ConfigureAwait(false);
                return 0;
            }

            // A signal, or the output side failed: the input side may be blocked reading standard input, which
            // cannot be cancelled; it is left behind, and the process exits.
            await outputStop.CancelAsync().ConfigureAwait(false);
            await IgnoreCancellationAsync(output).ConfigureAwait(false);
            return 0;
        }
        catch (RingCorruptedException e)
        {
            await error.WriteLineAsync($"{Program}: {pagePath}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (IOException e)
        {
            await error.WriteLineAsync($"{Program}: {e.Message}").ConfigureAwait(false);
            return 1;
        }
        catch (ObjectDisposedException e)
        {
            await error.WriteLineAsync($"{Program}: the event channel closed: {e.Message}").ConfigureAwait(false);
            return 1;
        }
    }

    /// <summary>
    /// Standard input as raw bytes. On a terminal, <see cref="Console.OpenStandardInput()"/> reads through .NET's line
    /// editor (echo, key processing), so file descriptor 0 is read directly instead.
    /// </summary>
    private static Stream OpenStandardInput(bool terminal) =>
        terminal
            ? new FileStream(new Microsoft.Win32.SafeHandles.SafeFileHandle(0, ownsHandle: false), FileAccess.Read, bufferSize: 0)
            : Console.OpenStandardInput();

    private static async Task IgnoreCancellationAsync(Task task)
    {
        try
        {
            await task.ConfigureAwait(false);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static async Task CopyOutputAsync(ConsoleRingStream ring, Stream stdout, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[ConsoleLayout.OutSize];
        while (true)
        {
            int n = await ring.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            await stdout.WriteAsync(buffer.AsMemory(0, n), CancellationToken.None).ConfigureAwait(false);
            await stdout.FlushAsync(CancellationToken.None).ConfigureAwait(false);
        }
    }

    private static async Task DrainOutputAsync(ConsoleRingStream ring, Stream stdout)
    {
        byte[] buffer = new byte[ConsoleLayout.OutSize];
        int n;
        while ((n = ring.TryRead(buffer)) != 0)
        {
            await stdout.WriteAsync(buffer.AsMemory(0, n)).ConfigureAwait(false);
        }

        await stdout.FlushAsync().ConfigureAwait(false);
    }

    /// <summary>Copies standard input into the ring until its end (or Ctrl-] on a terminal).</summary>
    private static async Task CopyInputAsync(ConsoleRingStream ring, Stream stdin, bool terminal, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[ConsoleLayout.InSize];
        while (true)
        {
            int n = await stdin.ReadAsync(buffer, cancellationToken).ConfigureAwait(false);
            if (n == 0)
            {
                return;
            }

            int escape = terminal ? Array.IndexOf(buffer, EscapeCharacter, 0, n) : -1;
            await ring.WriteAsync(buffer.AsMemory(0, escape < 0 ? n : escape), cancellationToken).ConfigureAwait(false);
            if (escape >= 0)
            {
                return;
            }
        }
    }
}
