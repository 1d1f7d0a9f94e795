using System.Globalization;
using System.Runtime.InteropServices;
using Microsoft.Win32.SafeHandles;

namespace Xen.TestSupport.Peers;

/// <summary>
/// Debian's real xenconsoled serving one guest's console, under the shim, talking to a <see cref="XenstoredPeer"/>
/// and sharing its state directory. The guest side (the code under test) maps <see cref="RingPagePath"/> and
/// binds the shim's event channels in <see cref="StateDirectory"/> for <see cref="DomainId"/>, port <see cref="Port"/>.
/// </summary>
/// <remarks>
/// <para>
/// <see cref="StartAsync(XenstoredPeer, IReadOnlyList{ConsoleGuestOptions}, ConsoleDaemonKind, IReadOnlyList{string}?)"/> does what a toolstack and the hypervisor would: it makes the guest exist for the shim
/// (<c>domains/0</c> and <c>domains/&lt;domid&gt;</c>), creates the console page file <c>cons-ring-&lt;domid&gt;</c>,
/// writes <c>/local/domain/&lt;domid&gt;/{name,console/ring-ref,console/port,console/type}</c>, and runs
/// <c>xenconsoled -i --log=guest --log-dir=&lt;dir&gt;/logs</c>. It returns once xenconsoled has bound the event
/// channel, opened the log and published its pty at <c>console/tty</c>.
/// </para>
/// <para>
/// What the guest writes to <c>out[]</c> lands, byte for byte, in <see cref="LogPath"/> (and on the pty); what is
/// written to the pty lands in <c>in[]</c>. One xenconsoled per <see cref="XenstoredPeer"/>: it serves every domain
/// in <c>domains/</c>. Disposing kills it (the store's disposal would too).
/// </para>
/// </remarks>
public sealed partial class XenconsoledPeer : IAsyncDisposable
{
    private const int O_RDWR = 2;
    private const int O_NOCTTY = 0x100;
    private const int O_CLOEXEC = 0x80000;

    private readonly PeerDaemon _daemon;

    private readonly string _logDirectory;

    private XenconsoledPeer(XenstoredPeer store, IReadOnlyList<ConsoleGuestOptions> guests, PeerDaemon daemon, string logDirectory)
    {
        Store = store;
        Guests = guests;
        Guest = guests[0];
        _daemon = daemon;
        _logDirectory = logDirectory;
        LogPath = LogPathOf(Guest);
    }

    /// <summary>The xenstored xenconsoled talks to.</summary>
    public XenstoredPeer Store { get; }

    /// <summary>The guest served.</summary>
    public ConsoleGuestOptions Guest { get; }

    /// <summary>The shim's state directory (the store's): where the guest binds its event channels.</summary>
    public string StateDirectory => Store.StateDirectory;

    /// <summary>The guest's domid.</summary>
    public uint DomainId => Guest.DomainId;

    /// <summary>The guest-side port of the console event channel.</summary>
    public uint Port => Guest.Port;

    /// <summary>The console page file (<c>cons-ring-&lt;domid&gt;</c>) that xenconsoled maps.</summary>
    public string RingPagePath => Path.Combine(StateDirectory, $"cons-ring-{DomainId}");

    /// <summary>The xenstore directory of the guest's console.</summary>
    public string ConsolePath => $"/local/domain/{DomainId}/console";

    /// <summary>xenconsoled's log of the guest's output (<c>logs/guest-&lt;name&gt;.log</c>).</summary>
    public string LogPath { get; }

    /// <summary>The pty xenconsoled published at <c>console/tty</c> (set by <see cref="StartAsync(XenstoredPeer, IReadOnlyList{ConsoleGuestOptions}, ConsoleDaemonKind, IReadOnlyList{string}?)"/>).</summary>
    public string TtyPath { get; private set; } = "";

    /// <summary>xenconsoled's stdout and stderr so far, for failure messages.</summary>
    public string Output => _daemon.Output;

    /// <summary>The daemon's pid (the <c>dotnet</c> process running ours), for signals.</summary>
    public int DaemonProcessId => _daemon.ProcessId;

    /// <summary>Whether xenconsoled has exited.</summary>
    public bool HasExited => _daemon.HasExited;

    /// <summary>Sets up the guest's console and starts xenconsoled; returns once it serves the console.</summary>
    /// <exception cref="PeerUnavailableException">xenconsoled or stty is missing.</exception>
    /// <exception cref="TimeoutException">xenconsoled did not take up the console (the message quotes its output).</exception>
    /// <param name="store">The xenstored the daemon talks to.</param>
    /// <param name="guest">The guest's console.</param>
    /// <param name="daemon">The real xenconsoled, or ours in its place (same options, same shim).</param>
    /// <param name="daemonOptions">More of xenconsoled's options (e.g. <c>--timestamp=guest</c>), after the usual ones.</param>
    public static Task<XenconsoledPeer> StartAsync(XenstoredPeer store, ConsoleGuestOptions? guest = null, ConsoleDaemonKind daemon = ConsoleDaemonKind.Xenconsoled, IReadOnlyList<string>? daemonOptions = null) =>
        StartAsync(store, [guest ?? new ConsoleGuestOptions()], daemon, daemonOptions);

    /// <summary>
    /// As <see cref="StartAsync(XenstoredPeer, ConsoleGuestOptions?, ConsoleDaemonKind, IReadOnlyList{string}?)"/> for
    /// several guests at once (distinct domids); the single-guest members describe the first.
    /// </summary>
    public static async Task<XenconsoledPeer> StartAsync(XenstoredPeer store, IReadOnlyList<ConsoleGuestOptions> guests, ConsoleDaemonKind daemon = ConsoleDaemonKind.Xenconsoled, IReadOnlyList<string>? daemonOptions = null)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(guests);
        PeerPrograms.Require(requirePeersScripts: false, daemon == ConsoleDaemonKind.Xenconsoled ? PeerPrograms.Xenconsoled : PeerPrograms.XenTool, "stty");
        string dir = store.StateDirectory;
        string domains = Path.Combine(dir, "domains");
        string logs = Path.Combine(dir, "logs");
        Directory.CreateDirectory(domains);
        Directory.CreateDirectory(logs);
        await File.WriteAllBytesAsync(Path.Combine(domains, "0"), []).ConfigureAwait(false);
        foreach (ConsoleGuestOptions guest in guests)
        {
            await CreateGuestAsync(store, guest).ConfigureAwait(false);
        }

        string[] options = ["-i", "--log=guest", $"--log-dir={logs}", .. daemonOptions ?? []];
        PeerDaemon process = daemon == ConsoleDaemonKind.Xenconsoled
            ? store.StartShimmed(PeerPrograms.Xenconsoled, options)
            : store.StartShimmed("dotnet", [PeerPrograms.XenTool, "console", "serve", .. options]);
        var peer = new XenconsoledPeer(store, guests, process, logs);
        try
        {
            foreach (ConsoleGuestOptions guest in guests)
            {
                string portSocket = Path.Combine(dir, $"port-{guest.DomainId}-{guest.Port}");
                string log = peer.LogPathOf(guest);
                await Deadline.PollAsync(
                    () => process.HasExited || (File.Exists(portSocket) && File.Exists(log)),
                    () => $"the console daemon did not bind {portSocket} and open {log}; its output: {process.Output}").ConfigureAwait(false);
                if (process.HasExited)
                {
                    throw new InvalidOperationException($"the console daemon exited before serving the console; its output: {process.Output}");
                }
            }

            peer.TtyPath = await store.ReadAsync($"/local/domain/{guests[0].DomainId}/console/tty").ConfigureAwait(false);
            return peer;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Makes a guest exist as a toolstack and the hypervisor would before its console is served: the shim's
    /// <c>domains/&lt;domid&gt;</c>, the page <c>cons-ring-&lt;domid&gt;</c>, and its <c>name</c> and <c>console/*</c>
    /// nodes. A daemon already running learns of it on the next <c>@introduceDomain</c>.
    /// </summary>
    public static async Task CreateGuestAsync(XenstoredPeer store, ConsoleGuestOptions guest)
    {
        ArgumentNullException.ThrowIfNull(store);
        ArgumentNullException.ThrowIfNull(guest);
        string dir = store.StateDirectory;
        Directory.CreateDirectory(Path.Combine(dir, "domains"));
        await File.WriteAllBytesAsync(Path.Combine(dir, "domains", guest.DomainId.ToString(CultureInfo.InvariantCulture)), []).ConfigureAwait(false);
        byte[] page = new byte[4096];
        guest.PreparePage?.Invoke(page);
        await File.WriteAllBytesAsync(Path.Combine(dir, $"cons-ring-{guest.DomainId}"), page).ConfigureAwait(false);
        string domainPath = $"/local/domain/{guest.DomainId}";
        await store.WriteAsync(
            ($"{domainPath}/name", guest.Name),
            ($"{domainPath}/console/ring-ref", "1"),
            ($"{domainPath}/console/port", guest.Port.ToString(CultureInfo.InvariantCulture)),
            ($"{domainPath}/console/type", "xenconsoled")).ConfigureAwait(false);
    }

    /// <summary>Every guest served.</summary>
    public IReadOnlyList<ConsoleGuestOptions> Guests { get; }

    /// <summary>The daemon's log of <paramref name="guest"/>'s output (<c>logs/guest-&lt;name&gt;.log</c>).</summary>
    public string LogPathOf(ConsoleGuestOptions guest) => Path.Combine(_logDirectory, $"guest-{guest.Name}.log");

    /// <summary>The console page file of <paramref name="guest"/>.</summary>
    public string RingPagePathOf(ConsoleGuestOptions guest) => Path.Combine(StateDirectory, $"cons-ring-{guest.DomainId}");

    /// <summary>The log's bytes now (empty if xenconsoled has not created it).</summary>
    public byte[] ReadLog() => ReadLog(Guest);

    /// <summary><paramref name="guest"/>'s log's bytes now (empty if the daemon has not created it).</summary>
    public byte[] ReadLog(ConsoleGuestOptions guest)
    {
        try
        {
            return File.ReadAllBytes(LogPathOf(guest));
        }
        catch (FileNotFoundException)
        {
            return [];
        }
    }

    /// <summary>Waits until the log holds at least <paramref name="byteCount"/> bytes and returns all of it.</summary>
    /// <exception cref="TimeoutException">It did not grow that far (the message shows what it holds and xenconsoled's output).</exception>
    public async Task<byte[]> WaitForLogAsync(int byteCount)
    {
        byte[] log = [];
        await Deadline.PollAsync(
            () => (log = ReadLog()).Length >= byteCount,
            () => $"xenconsoled's log {LogPath} holds {log.Length} of the {byteCount} bytes expected; xenconsoled: {Output}")
            .ConfigureAwait(false);
        return log;
    }

    /// <summary>
    /// Opens the console's pty as a terminal user would, after <c>stty -F &lt;pty&gt; raw -echo</c> so bytes pass
    /// unchanged. Writing to the stream types into the guest's console. Opened without becoming the controlling
    /// terminal of the test process.
    /// </summary>
    /// <exception cref="InvalidOperationException">stty failed.</exception>
    /// <exception cref="IOException">The pty could not be opened.</exception>
    public async Task<FileStream> OpenTtyAsync()
    {
        await PeerCommand.RunCheckedAsync("stty", ["-F", TtyPath, "raw", "-echo"]).ConfigureAwait(false);
        int fd = Open(TtyPath, O_RDWR | O_NOCTTY | O_CLOEXEC);
        if (fd < 0)
        {
            throw new IOException($"Could not open {TtyPath}: errno {Marshal.GetLastPInvokeError()}.");
        }

        return new FileStream(new SafeFileHandle(fd, ownsHandle: true), FileAccess.ReadWrite, bufferSize: 0);
    }

    /// <summary>Kills xenconsoled.</summary>
    public ValueTask DisposeAsync()
    {
        _daemon.Dispose();
        return ValueTask.CompletedTask;
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);
}
