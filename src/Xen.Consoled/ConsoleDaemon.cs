using System.Globalization;
using System.Threading.Channels;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Xen.Consoled.Host;
using Xen.Rings;
using Xen.Rings.Host;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Consoled;

/// <summary>
/// A console daemon, what xenconsoled is: serves the PV console of every domain as domains come and go. For each
/// domain whose <c>console/type</c> is <c>xenconsoled</c> (or absent) it maps the console page (grant 0, else the
/// frame in <c>console/ring-ref</c>), binds <c>console/port</c>, makes a pseudo-terminal and publishes its path in
/// <c>console/tty</c> (where <c>xenconsole</c> and <c>xl console</c> find it), logs what the guest prints, and sets the
/// page's Xen 4.21 <c>connection</c> byte to connected.
/// </summary>
/// <remarks>
/// <para>
/// Design. Three kinds of work, each in one place. Control: one task takes xenstore watch events in order
/// (<c>@introduceDomain</c>/<c>@releaseDomain</c>: list the domains again; a domain's <c>console</c> directory: set its
/// console up again), as xenconsoled's <c>handle_xs</c> does. Output: each guest event runs a short step on the
/// event-channel poller thread (no hand-off per event) that takes what the guest wrote (a ring's worth at most), logs it
/// and hands it to the terminal, with xenconsoled's rate limit (after 30 events in a 200 ms period the console is not
/// looked at until the period ends, so a flooding guest cannot starve the others). Terminals: one thread polls every
/// terminal (<see cref="TerminalLoop"/>). An IO lock orders the three over a console's state; no lock is held across a
/// wait, and nothing under it blocks (the pty is non-blocking; a log write is a local file's).
/// </para>
/// <para>
/// Bad guests. Indices a guest corrupts close that console with a log line (nothing is read or written outside the
/// page); a page that cannot be mapped or a port that cannot be bound leaves the domain unserved with a log line, and
/// is tried again on the next change to its <c>console</c> directory. Nothing one guest does stops the others.
/// </para>
/// <para>
/// Differences from xenconsoled: the hypervisor's own console (<c>--log=hv</c>) is not read; secondary consoles
/// (<c>device/console/N</c>) of type <c>xenconsoled</c> are served (it serves none); a console without a <c>limit</c>
/// node holds at most 1 MiB for its pty (libxl's default; xenconsoled holds all); at most 5/4 of the limit waits
/// whatever the piece sizes; the timestamp "line start" is per log, not shared by all guests.
/// </para>
/// </remarks>
public sealed partial class ConsoleDaemon : IAsyncDisposable
{
    private const string DomainListToken = "domlist";

    /// <summary>The output a console without a <c>limit</c> node may hold for its pty: libxl's <c>LIBXL_XENCONSOLE_LIMIT</c>.</summary>
    internal const int DefaultBufferLimit = 1024 * 1024;
    private readonly XenStoreClient _store;
    private readonly IConsoleHost _host;
    private readonly ConsoleDaemonOptions _options;
    private readonly ILogger _logger;
    private readonly object _gate = new();
    private readonly Dictionary<uint, DomainEntry> _domains = [];
    private readonly Channel<string> _control = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private readonly CancellationTokenSource _stop = new();
    private readonly List<XenStoreWatch> _domainListWatches = [];
    private readonly TerminalLoop _terminals;
    private Task _controlLoop = Task.CompletedTask;
    private int _disposed;
    private int _storeLost;

    private ConsoleDaemon(XenStoreClient store, IConsoleHost host, ConsoleDaemonOptions options, ILogger logger)
    {
        _store = store;
        _host = host;
        _options = options;
        _logger = logger;
        _terminals = new TerminalLoop(_gate, () => [.. _domains.Values.SelectMany(d => d.Consoles)], (console, why) => Close(console, why), Drained, logger);
    }

    /// <summary>
    /// Starts serving every domain's console through Xen's tool libraries: opens them, watches
    /// <c>@introduceDomain</c> and <c>@releaseDomain</c>, and serves the domains that exist now.
    /// </summary>
    /// <param name="store">The xenstore connection (dom0's); it must stay open while the daemon runs.</param>
    /// <param name="options">Logging, overflow and rate-limit settings.</param>
    /// <param name="logger">Where the daemon reports (a console set up or closed, and why).</param>
    /// <param name="cancellationToken">Cancels the start.</param>
    /// <exception cref="XenHostException">Xen's libraries could not be opened (no Xen, or not permitted).</exception>
    /// <exception cref="DllNotFoundException">Xen's tool libraries are not installed.</exception>
    /// <exception cref="XenStoreException">The watches could not be set.</exception>
    public static Task<ConsoleDaemon> StartAsync(XenStoreClient store, ConsoleDaemonOptions? options = null, ILogger? logger = null, CancellationToken cancellationToken = default) =>
        StartAsync(store, NativeConsoleHost.Open(), options, logger, cancellationToken);

    internal static async Task<ConsoleDaemon> StartAsync(XenStoreClient store, IConsoleHost host, ConsoleDaemonOptions? options, ILogger? logger, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(store);
        var daemon = new ConsoleDaemon(store, host, options ?? new ConsoleDaemonOptions(), logger ?? NullLogger.Instance);
        try
        {
            foreach (string special in new[] { "@introduceDomain", "@releaseDomain" })
            {
                XenStoreWatch watch = await store.WatchAsync(special, DomainListToken, cancellationToken: cancellationToken).ConfigureAwait(false);
                daemon._domainListWatches.Add(watch);
                daemon.Forward(watch, DomainListToken);
            }

            daemon._controlLoop = Task.Run(daemon.RunControlAsync, CancellationToken.None);
        }
        catch
        {
            await daemon.DisposeAsync().ConfigureAwait(false);
            throw;
        }

        return daemon;
    }

    /// <summary>The domains whose console is being served now.</summary>
    public IReadOnlyList<uint> ServedDomains
    {
        get
        {
            lock (_gate)
            {
                return [.. _domains.Values.Where(d => d.Console.IsServed).Select(d => d.DomainId).Order()];
            }
        }
    }

    /// <summary>The path of domain <paramref name="domainId"/>'s pseudo-terminal slave, or null when it has none.</summary>
    public string? TerminalPath(uint domainId)
    {
        lock (_gate)
        {
            return _domains.TryGetValue(domainId, out DomainEntry? entry) ? entry.Console.Terminal?.SlavePath : null;
        }
    }

    /// <summary>
    /// Completes when the daemon stops (faulted only by a failure of its own). A xenstore connection that fails, while
    /// a request is in flight or not, only stops it following the domains: the consoles it serves go on being served,
    /// as xenconsoled's do.
    /// </summary>
    public Task Completion => _controlLoop;

    /// <summary>Closes and reopens every guest log (what SIGHUP does to xenconsoled, for logrotate).</summary>
    public void ReopenLogs()
    {
        lock (_gate)
        {
            foreach (DomainEntry entry in _domains.Values)
            {
                GuestConsole console = entry.Console;
                if (console.Log is GuestLog log && !console.IsClosed)
                {
                    log.Dispose();
                    console.Log = null;
                    console.Log = OpenLog(entry);
                }
            }
        }
    }

    /// <summary>Stops serving: every console's channel unbound, page unmapped, terminal and log closed.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stop.CancelAsync().ConfigureAwait(false);
        _control.Writer.TryComplete();
        foreach (XenStoreWatch watch in _domainListWatches)
        {
            await DisposeWatchAsync(watch).ConfigureAwait(false);
        }

        try
        {
            await _controlLoop.ConfigureAwait(false);
        }
        catch (Exception e) when (e is XenStoreException or OperationCanceledException or ObjectDisposedException)
        {
        }

        DomainEntry[] entries;
        lock (_gate)
        {
            entries = [.. _domains.Values];
        }

        foreach (DomainEntry entry in entries)
        {
            await ShutdownAsync(entry, "the daemon stopped").ConfigureAwait(false);
        }

        _terminals.Dispose();
        _host.Dispose();
        _stop.Dispose();
    }

    private async Task RunControlAsync()
    {
        _control.Writer.TryWrite(DomainListToken); // the domains that exist already
        await foreach (string token in _control.Reader.ReadAllAsync(_stop.Token).ConfigureAwait(false))
        {
            if (Volatile.Read(ref _storeLost) != 0)
            {
                continue; // nothing more can be asked of xenstore: the consoles served go on as they are
            }

            try
            {
                if (token == DomainListToken)
                {
                    await EnumerateDomainsAsync().ConfigureAwait(false);
                }
                else if (token.StartsWith(SecondaryTokenPrefix, StringComparison.Ordinal)
                    && uint.TryParse(token.AsSpan(SecondaryTokenPrefix.Length), NumberStyles.None, CultureInfo.InvariantCulture, out uint id)
                    && _domains.TryGetValue(id, out DomainEntry? owner) && !owner.IsDead)
                {
                    await SetUpSecondariesAsync(owner).ConfigureAwait(false);
                }
                else if (uint.TryParse(token.AsSpan(3), NumberStyles.None, CultureInfo.InvariantCulture, out uint domainId)
                    && _domains.TryGetValue(domainId, out DomainEntry? entry) && !entry.IsDead)
                {
                    await SetUpAsync(entry).ConfigureAwait(false);
                }
            }
            catch (XenStoreErrorException e)
            {
                Log.StoreRefused(_logger, token, e.Message);
            }
            catch (XenStoreConnectionException e)
            {
                LoseStore(e.Message); // a request in flight when xenstored went: the same as a watch seeing it go
            }
        }
    }

    /// <summary>xenconsoled's <c>enum_domains</c>: new domains get a watch on their console directory; dying and vanished ones are shut down.</summary>
    private async Task EnumerateDomainsAsync()
    {
        IReadOnlyList<DomainInfo> domains;
        try
        {
            domains = _host.ListDomains();
        }
        catch (XenHostException e)
        {
            Log.ListFailed(_logger, e.Message);
            return;
        }

        var seen = new HashSet<uint>();
        foreach (DomainInfo info in domains)
        {
            seen.Add(info.DomainId);
            _domains.TryGetValue(info.DomainId, out DomainEntry? entry);
            if (info.IsDying)
            {
                if (entry is not null)
                {
                    await ShutdownAsync(entry, "the domain is dying").ConfigureAwait(false);
                }
            }
            else if (entry is null)
            {
                await CreateDomainAsync(info.DomainId).ConfigureAwait(false);
            }
        }

        foreach (DomainEntry gone in _domains.Values.Where(d => !seen.Contains(d.DomainId)).ToArray())
        {
            await ShutdownAsync(gone, "the domain is gone").ConfigureAwait(false);
        }
    }

    private async Task CreateDomainAsync(uint domainId)
    {
        string path = $"{XsPath.DomainPath(domainId)}/console";
        var entry = new DomainEntry(domainId, new GuestConsole(domainId, path,
            new ConsoleBuffer(0, _options.Overflow == ConsoleOverflow.Discard)));
        string token = string.Create(CultureInfo.InvariantCulture, $"dom{domainId}");
        entry.Watch = await _store.WatchAsync(path, token).ConfigureAwait(false);
        lock (_gate)
        {
            _domains[domainId] = entry;
        }

        Log.NewDomain(_logger, domainId);
        Forward(entry.Watch, token); // its first event (at once) sets the console up
        await WatchSecondariesAsync(entry).ConfigureAwait(false);
    }

    /// <summary>xenconsoled's <c>console_create_ring</c>: (re)maps, (re)binds, makes the terminal and the log as needed.</summary>
    private async Task SetUpAsync(DomainEntry entry)
    {
        GuestConsole console = entry.Console;
        if (console.IsClosed)
        {
            return;
        }

        string? ringRefText = await _store.TryReadStringAsync($"{console.XenStorePath}/ring-ref").ConfigureAwait(false);
        string? portText = await _store.TryReadStringAsync($"{console.XenStorePath}/port").ConfigureAwait(false);
        if (ringRefText is null || portText is null || !TryParseLeadingNumber(ringRefText, out uint ringRef) || !TryParseLeadingNumber(portText, out uint port))
        {
            return; // not (fully) written yet: the next change to the directory brings us back
        }

        string? type = await _store.TryReadStringAsync($"{console.XenStorePath}/type").ConfigureAwait(false);
        if (type is not null && type != "xenconsoled")
        {
            return; // another backend's console (QEMU's "ioemu")
        }

        string? limitText = null;
        bool needTerminal;
        lock (_gate)
        {
            needTerminal = console.Terminal is null;
        }

        if (needTerminal)
        {
            limitText = await _store.TryReadStringAsync($"{console.XenStorePath}/limit").ConfigureAwait(false);
        }

        string? terminalPath = null;
        bool logWanted;
        lock (_gate)
        {
            if (console.IsClosed)
            {
                return;
            }

            if (!MapAndBind(console, ringRef, port))
            {
                return;
            }

            if (!EnsureTerminal(console, limitText, out terminalPath))
            {
                return;
            }

            logWanted = _options.LogGuests && console.Log is null;
        }

        if (terminalPath is not null)
        {
            await _store.WriteAsync($"{console.XenStorePath}/tty", terminalPath).ConfigureAwait(false);
        }

        if (logWanted)
        {
            entry.Name = await _store.TryReadStringAsync($"{XsPath.DomainPath(entry.DomainId)}/name").ConfigureAwait(false);
            lock (_gate)
            {
                if (!console.IsClosed && console.Log is null)
                {
                    console.Log = OpenLog(entry);
                }
            }
        }

        lock (_gate)
        {
            if (console.IsServed)
            {
                console.MarkConnected();
                Log.Served(_logger, entry.DomainId, port, console.Terminal?.SlavePath);
            }
        }

        _terminals.Wake();
    }

    /// <summary>
    /// Makes the console's pty if it has none (IO lock held), its buffer limit from the <c>limit</c> node's text;
    /// <paramref name="newPath"/> is the new pty's path (to publish), null when it had one. False (logged, channel
    /// unbound) when no pty could be made.
    /// </summary>
    private bool EnsureTerminal(GuestConsole console, string? limitText, out string? newPath)
    {
        newPath = null;
        if (console.Terminal is not null)
        {
            return true;
        }

        try
        {
            console.Terminal = PseudoTerminal.Open();
            // No limit node: libxl's default (it writes 1 MiB for every console) rather than xenconsoled's none, so a
            // console nobody reads cannot grow without bound. A node holding 0 still means no limit, as there.
            console.Buffer.MaxCapacity = limitText is null ? DefaultBufferLimit
                : TryParseLeadingNumber(limitText, out uint limit) ? (int)Math.Min(limit, int.MaxValue) : 0;
            newPath = console.Terminal.SlavePath;
            return true;
        }
        catch (IOException e)
        {
            Log.TerminalFailed(_logger, console.DomainId, e.Message);
            UnbindLocked(console);
            return false;
        }
    }

    /// <summary>Maps the page and binds the port unless already done for these values; false (logged) when either fails.</summary>
    private bool MapAndBind(GuestConsole console, uint ringRef, uint port)
    {
        if (console.Page is not null && console.MappedRingRef is uint mappedRef && mappedRef != ringRef)
        {
            UnbindLocked(console); // the page moved (a new frame, or a new grant): map the new one
            ((IDisposable)console.Page).Dispose();
            console.Page = null;
        }

        if (console.Page is null)
        {
            try
            {
                if (console.RingRefIsGrant)
                {
                    console.Page = _host.MapGrant(console.DomainId, ringRef);
                    console.MappedRingRef = ringRef;
                }
                else
                {
                    (console.Page, bool fromGrant) = _host.MapConsolePage(console.DomainId, ringRef);
                    console.MappedRingRef = fromGrant ? null : ringRef; // grant 0 does not move with ring-ref
                }
            }
            catch (XenHostException e)
            {
                Log.MapFailed(_logger, console.DomainId, ringRef, e.Message);
                return false;
            }
        }

        if (console.Channel is not null && console.RemotePort == port)
        {
            return true;
        }

        UnbindLocked(console);
        try
        {
            console.Channel = _host.BindInterdomain(console.DomainId, port);
            console.RemotePort = port;
        }
        catch (XenHostException e)
        {
            Log.BindFailed(_logger, console.DomainId, port, e.Message);
            return false;
        }

        IConsoleChannel channel = console.Channel;
        channel.SetEventHandler(() => OnEvent(console, channel));
        return true;
    }

    /// <summary>
    /// The guest's event (on the event-channel poller thread): takes its output, logs it and hands it to the terminal,
    /// under xenconsoled's rate limit. Past the allowance the console is left alone until the period ends, when
    /// <see cref="Resume"/> takes what the guest wrote meanwhile (xenconsoled leaves the port masked until then).
    /// </summary>
    private void OnEvent(GuestConsole console, IConsoleChannel channel)
    {
        bool wake;
        lock (_gate)
        {
            if (!ReferenceEquals(console.Channel, channel) || console.IsClosed)
            {
                return;
            }

            TimeProvider clock = _options.Clock;
            long now = clock.GetTimestamp();
            if (now >= console.PeriodEnd)
            {
                console.PeriodEnd = now + Ticks(_options.RateLimitPeriod, clock);
                console.EventCount = 0;
            }

            if (console.EventCount >= _options.RateLimitEvents)
            {
                if (!console.Deferred)
                {
                    console.Deferred = true;
                    console.PeriodTimer ??= clock.CreateTimer(
                        static state =>
                        {
                            (ConsoleDaemon daemon, GuestConsole deferred) = ((ConsoleDaemon, GuestConsole))state!;
                            _ = daemon.Resume(deferred);
                        },
                        (this, console),
                        Timeout.InfiniteTimeSpan,
                        Timeout.InfiniteTimeSpan);
                    console.PeriodTimer.Change(clock.GetElapsedTime(now, console.PeriodEnd), Timeout.InfiniteTimeSpan);
                }

                return;
            }

            console.EventCount++;
            wake = TakeOutputStep(console);
        }

        if (wake)
        {
            _terminals.Wake();
        }
    }

    /// <summary>The end of a period in which the console used its allowance: a new period, and the output that waited.</summary>
    private bool Resume(GuestConsole console)
    {
        bool wake;
        lock (_gate)
        {
            if (console.IsClosed || !console.Deferred)
            {
                return false;
            }

            console.Deferred = false;
            TimeProvider clock = _options.Clock;
            console.PeriodEnd = clock.GetTimestamp() + Ticks(_options.RateLimitPeriod, clock);
            console.EventCount = 1;
            wake = TakeOutputStep(console);
        }

        if (wake)
        {
            _terminals.Wake();
        }

        return wake;
    }

    /// <summary>
    /// Takes output unless the buffer is at its limit under keep (then the terminal loop's drain takes it up again); IO
    /// lock held. True when the terminal loop must look again: output waits for the pty, or the pty for room in in[].
    /// </summary>
    private bool TakeOutputStep(GuestConsole console)
    {
        if (!console.Buffer.CanTakeMore)
        {
            console.WaitsForDrain = true; // --overflow-data=keep: the guest's ring holds the rest
            return true;
        }

        TakeOutput(console, console.Chunk);
        return !console.IsClosed && ((!console.Buffer.IsEmpty && !console.TerminalWatchesOutput) || console.InputWaitsForRoom);
    }

    /// <summary>The terminal loop drained a buffer that was at its limit (IO lock held): take the output that waited.</summary>
    private void Drained(GuestConsole console)
    {
        if (console.WaitsForDrain && !console.IsClosed && console.Buffer.CanTakeMore)
        {
            console.WaitsForDrain = false;
            _ = TakeOutputStep(console);
        }
    }

    /// <summary>Takes the guest's output into the buffer and the log (IO lock held).</summary>
    private void TakeOutput(GuestConsole console, byte[] chunk)
    {
        if (console.Page is null)
        {
            return;
        }

        int n;
        try
        {
            n = console.TakeOutput(chunk);
        }
        catch (RingCorruptedException e)
        {
            Close(console, e.Message);
            return;
        }

        if (n == 0)
        {
            return;
        }

        try
        {
            console.Log?.Write(chunk.AsSpan(0, n));
        }
        catch (IOException e)
        {
            Log.LogWriteFailed(_logger, console.DomainId, e.Message);
        }

        console.Buffer.Append(chunk.AsSpan(0, n));
        _terminals.Flush(console);
    }

    private GuestLog? OpenLog(DomainEntry entry)
    {
        if (string.IsNullOrEmpty(entry.Name))
        {
            return null; // xenconsoled logs nothing for a domain without a name
        }

        try
        {
            return GuestLog.Open(_options.LogDirectory, entry.Name, _options.GuestTimestamps, _options.ReplaceEscape, _options.Clock);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            Log.LogOpenFailed(_logger, entry.DomainId, e.Message);
            return null;
        }
    }

    /// <summary>Closes a console for good after its ring or terminal failed (IO lock held); the domain's others are unaffected.</summary>
    private void Close(GuestConsole console, string why)
    {
        if (console.IsClosed)
        {
            return;
        }

        Log.Closing(_logger, console.DomainId, why);
        Release(console);
        _terminals.Wake();
    }

    private async Task ShutdownAsync(DomainEntry entry, string why)
    {
        entry.IsDead = true;
        lock (_gate)
        {
            _domains.Remove(entry.DomainId);
            Log.RemovingDomain(_logger, entry.DomainId, why);
            foreach (GuestConsole console in entry.Consoles.Where(c => !c.IsClosed))
            {
                Release(console);
            }
        }

        foreach (XenStoreWatch watch in new[] { entry.Watch, entry.SecondaryWatch, entry.FrontendWatch }.OfType<XenStoreWatch>())
        {
            await DisposeWatchAsync(watch).ConfigureAwait(false);
        }

        _terminals.Wake();
    }

    /// <summary>Unbinds, unmaps and closes everything of a console (IO lock held).</summary>
    private static void Release(GuestConsole console)
    {
        console.IsClosed = true;
        UnbindLocked(console);
        if (console.Page is not null)
        {
            ((IDisposable)console.Page).Dispose();
            console.Page = null;
        }

        console.Terminal?.Dispose();
        console.Terminal = null;
        console.Log?.Dispose();
        console.Log = null;
        console.PeriodTimer?.Dispose();
        console.PeriodTimer = null;
    }

    private static void UnbindLocked(GuestConsole console)
    {
        console.Channel?.Dispose(); // no more events: the handler is not called again
        console.Channel = null;
        console.RemotePort = null;
    }

    /// <summary>Copies a watch's events into the control queue as its token.</summary>
    private void Forward(XenStoreWatch watch, string token) =>
        _ = Task.Run(async () =>
        {
            try
            {
                await foreach (XenStoreWatchEvent _ in watch.ReadAllAsync(_stop.Token).ConfigureAwait(false))
                {
                    _control.Writer.TryWrite(token);
                }

                if (_store.IsFaulted)
                {
                    LoseStore($"the connection to {_store.Description} failed"); // the stream ended because the connection did
                }
            }
            catch (XenStoreConnectionException e)
            {
                LoseStore(e.Message);
            }
            catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or XenStoreException)
            {
                // The watch was removed or the daemon stopped.
            }
        });

    /// <summary>
    /// The xenstore connection is gone: said once. The consoles served go on being served (their rings and ptys do not
    /// need xenstore, and xenconsoled keeps them too); domains that come or go are not seen until a restart.
    /// </summary>
    private void LoseStore(string why)
    {
        if (Interlocked.Exchange(ref _storeLost, 1) == 0)
        {
            Log.StoreLost(_logger, why);
        }
    }

    private static async Task DisposeWatchAsync(XenStoreWatch watch)
    {
        try
        {
            await watch.DisposeAsync().ConfigureAwait(false);
        }
        catch (Exception e) when (e is XenStoreException or ObjectDisposedException)
        {
        }
    }

    /// <summary>What <c>sscanf("%u")</c> takes: leading blanks, then decimal digits (at least one).</summary>
    private static bool TryParseLeadingNumber(string text, out uint value)
    {
        ReadOnlySpan<char> s = text.AsSpan().TrimStart();
        int digits = 0;
        while (digits < s.Length && char.IsAsciiDigit(s[digits]))
        {
            digits++;
        }

        return uint.TryParse(s[..digits], NumberStyles.None, CultureInfo.InvariantCulture, out value);
    }

    private static long Ticks(TimeSpan span, TimeProvider clock) => (long)(span.TotalSeconds * clock.TimestampFrequency);

    private sealed class DomainEntry(uint domainId, GuestConsole console)
    {
        public uint DomainId { get; } = domainId;

        /// <summary>The domain's first console (<c>console/</c>).</summary>
        public GuestConsole Console { get; } = console;

        /// <summary>Its other consoles (<c>device/console/N</c>) by device number.</summary>
        public Dictionary<string, GuestConsole> Secondaries { get; } = [];

        /// <summary>Every console of the domain, the first first.</summary>
        public IEnumerable<GuestConsole> Consoles => Secondaries.Values.Prepend(Console);

        public XenStoreWatch? Watch { get; set; }

        /// <summary>The watch on the secondary consoles' backend directory.</summary>
        public XenStoreWatch? SecondaryWatch { get; set; }

        /// <summary>The watch on the secondary consoles' frontend directory.</summary>
        public XenStoreWatch? FrontendWatch { get; set; }

        public string? Name { get; set; }

        public bool IsDead { get; set; }
    }
}
