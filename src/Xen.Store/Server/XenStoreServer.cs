using System.Net.Sockets;
using Xen.Rings.Events;
using Xen.Rings.XenStore;
using Xen.Store.Server.Hosting;
using Xen.Store.Server.LiveUpdate;
using Xen.Store.Transports;

namespace Xen.Store.Server;

/// <summary>
/// An embedded xenstored: the tree, permissions, transactions, watches, domains and quotas of C xenstored, served to
/// in-process clients (<see cref="ConnectInProcess"/>), to Unix-socket clients (<see cref="ListenUnixAsync"/>, each a
/// dom0 connection, which Xen's own <c>xenstore-*</c> tools and libxenstore accept), and to domains over their xenstore
/// rings (<see cref="AttachDomainRing"/>, or INTRODUCE when the server has a host that maps guests' pages).
/// Domains that die are released as RELEASE does (<see cref="ReleaseDeadDomains"/>; with a host, on its
/// VIRQ_DOM_EXC).
/// </summary>
/// <remarks>
/// Every request is handled under one lock in arrival order, as C xenstored's single thread does. Unix-socket
/// connections are served by a bounded set of threads (<see cref="XenStoreServerOptions.MaxSocketThreads"/>), quiet ones
/// parked holding none; rings and in-process connections run on the thread pool. Each connection has a bounded output queue: a client that stops reading is dropped, never allowed
/// to grow the server's memory. A connection that breaks the framing (a payload over 4096 bytes, garbage in a ring's
/// indices) is closed alone. Dispose the server to stop listening and close every connection.
/// </remarks>
public sealed class XenStoreServer : IAsyncDisposable
{
    private const XenStoreServerFeatures RingFeatures = XenStoreServerFeatures.Reconnection | XenStoreServerFeatures.Error | XenStoreServerFeatures.WatchDepth;

    private readonly StoreEngine _engine;
    private readonly SocketWorkers _socketWorkers;
    private readonly object _listenersGate = new();
    private readonly List<Socket> _listeners = [];
    private readonly List<Task> _acceptLoops = [];
    private readonly List<FdAcceptor> _acceptors = [];
    private readonly CancellationTokenSource _stopping = new();
    private readonly IEventChannel? _domainException;
    private readonly Task _domainWatch = Task.CompletedTask;
    private readonly Task _ringSweep = Task.CompletedTask;
    private static readonly Task NeverFaulted = new TaskCompletionSource().Task;
    private int _disposed;
    private readonly ReportThrottle _refusals = new(); // of socket clients refused at the open-file limit
    private int _inheritedListener = -1; // a live update's listening socket, taken by the first ListenUnixAsync

    /// <summary>
    /// Creates a server with the initial tree of C xenstored (<c>/</c>, <c>/tool</c>, <c>/tool/xenstored</c>); nothing
    /// listens yet. With a host, it binds the host's VIRQ_DOM_EXC at once.
    /// </summary>
    /// <param name="options">Settings; null for the defaults.</param>
    /// <exception cref="ArgumentException">The host cannot bind VIRQ_DOM_EXC (a stand-in hypervisor's socket path is too long).</exception>
    /// <exception cref="IOException">The host's state is missing (a stand-in hypervisor's directory does not exist), or the state directory cannot be read or written.</exception>
    /// <exception cref="SocketException">The host's VIRQ_DOM_EXC could not be bound.</exception>
    /// <exception cref="Xen.Rings.Host.XenHostException">A Xen host's VIRQ_DOM_EXC or kernel connection could not be bound or mapped.</exception>
    /// <exception cref="InvalidDataException">The <see cref="XenStoreServerOptions.StateDirectory"/>'s snapshot is damaged, or what it holds is not a consistent tree.</exception>
    /// <remarks>With a state directory that holds state, the server resumes it (see <see cref="Recovery"/>): the store as it was,
    /// and with a host, the rings of the introduced guests that are still alive, their watches registered again.</remarks>
    public XenStoreServer(XenStoreServerOptions? options = null)
    {
        Options = options ?? new XenStoreServerOptions();
        _engine = new StoreEngine(Options, (uint)RingFeatures);
        if (Options.StateDirectory is not null)
        {
            Recovery = _engine.OpenJournal();
        }

        _socketWorkers = new SocketWorkers(Options.MaxSocketThreads, SocketSpin.For(Options, Environment.ProcessorCount));
        List<ServerConnection> carriedSockets = [];
        if (Options.LiveUpdate is { } liveUpdate && OperatingSystem.IsLinux())
        {
            if (liveUpdate.Resume)
            {
                carriedSockets = ResumeLiveUpdate(liveUpdate);
            }

            var coordinator = new LiveUpdateCoordinator(_engine, _socketWorkers, ListenerDescriptor, liveUpdate);
            _engine.LiveUpdateStarted = coordinator.Started;
        }

        if (Options.Host is { } host)
        {
            _engine.RingFactory = d => CreateHostedRing(host, d);
            _engine.DomainExists = host.DomainExists;
            try
            {
                _domainException = host.BindDomainException();
                if (host.ConnectKernel() is { } kernel)
                {
                    AttachKernelRing(kernel);
                }

                if (Recovery is not null || LiveUpdateResumed)
                {
                    ReleaseDeadDomains(host.DomainExists); // those that died while no server ran: released as at VIRQ_DOM_EXC
                    var (resumed, failed) = _engine.ResumeRings();
                    List<string> unresumed = failed.ConvertAll(f => $"domain {f.Domain}: {f.Why}");
                    Recovery = Recovery is null ? null : Recovery with { ResumedDomains = resumed, UnresumedDomains = unresumed };
                    LiveUpdateUnresumed = unresumed;
                }
            }
            catch
            {
                _domainException?.Dispose();
                _engine.Journal?.Dispose(); // its flusher and files: nothing was acknowledged yet
                throw;
            }

            if (_domainException is { } signal)
            {
                _domainWatch = Task.Run(() => WatchDomainsAsync(host, signal), CancellationToken.None);
            }

            _ringSweep = Task.Run(SweepRingsAsync, CancellationToken.None);
        }

        foreach (ServerConnection socket in carriedSockets)
        {
            ((SocketConnection)socket).Start();
        }

        _engine.Metrics.Register(_engine);
        _ = Faulted.ContinueWith(
            static (t, logger) => StoreLog.JournalFailed((Microsoft.Extensions.Logging.ILogger)logger!, t.Exception?.InnerException?.Message ?? "unknown"),
            _engine.Logger,
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnFaulted | TaskContinuationOptions.ExecuteSynchronously,
            TaskScheduler.Default);
    }

    /// <summary>Whether this server started from a live update's state (its options said so, and the dump was read).</summary>
    internal bool LiveUpdateResumed { get; private set; }

    /// <summary>After a live update, the guests whose rings could not be served again, with why (empty otherwise).</summary>
    internal IReadOnlyList<string> LiveUpdateUnresumed { get; private set; } = [];

    /// <summary>The settings the server was created with.</summary>
    public XenStoreServerOptions Options { get; }

    /// <summary>What was recovered from <see cref="XenStoreServerOptions.StateDirectory"/> at start; null without one.</summary>
    public XenStoreRecovery? Recovery { get; }

    /// <summary>
    /// Faults when the server can no longer keep changes (the state directory could not be written: a full disk, say).
    /// From then on no reply or event that could show a change leaves, so nothing unkept is acknowledged; whoever runs the
    /// server should dispose it and start a new one on the directory, which resumes from what was kept. Never completes
    /// without a state directory.
    /// </summary>
    public Task Faulted => _engine.Journal?.Faulted ?? NeverFaulted;

    /// <summary>Creates a server (as the constructor does) for callers that start it asynchronously.</summary>
    /// <exception cref="InvalidDataException">The state directory's snapshot is damaged.</exception>
    /// <exception cref="IOException">The state directory cannot be read or written.</exception>
    public static Task<XenStoreServer> StartAsync(XenStoreServerOptions? options = null, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return Task.FromResult(new XenStoreServer(options));
    }

    /// <summary>
    /// Opens an in-process connection (no socket): pass the result to <see cref="Client.XenStoreClient.Create"/>.
    /// Domain 0 is privileged, as a Unix-socket client is; any other domain is an unprivileged guest with that domid
    /// (permissions and quotas apply), without being introduced.
    /// </summary>
    /// <param name="domainId">The connection's domain.</param>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public IXenStoreTransport ConnectInProcess(uint domainId = 0)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(domainId, (uint)ushort.MaxValue);
        var (client, server) = InProcessTransport.CreatePair($"in-process:dom{domainId}");
        var connection = new InProcessConnection(_engine, server, domainId, Options.MaxQueuedMessages);
        _engine.Attach(connection);
        connection.Start();
        return client;
    }

    /// <summary>
    /// Listens on a Unix socket at <paramref name="socketPath"/> (a stale socket file there is replaced). Every client is
    /// a privileged dom0 connection, as with C xenstored; point libxenstore's tools at it with <c>XENSTORED_PATH</c>.
    /// Returns once the socket is bound; accepting runs until the server is disposed.
    /// </summary>
    /// <exception cref="ArgumentException">The path is too long for a Unix socket.</exception>
    /// <exception cref="SocketException">The socket could not be bound.</exception>
    public Task ListenUnixAsync(string socketPath, CancellationToken cancellationToken = default)
    {
        ArgumentException.ThrowIfNullOrEmpty(socketPath);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        cancellationToken.ThrowIfCancellationRequested();
        UnixDomainSocketEndPoint endPoint;
        try
        {
            endPoint = new UnixDomainSocketEndPoint(socketPath);
        }
        catch (ArgumentOutOfRangeException e)
        {
            throw new ArgumentException($"The socket path '{socketPath}' is too long for a Unix socket.", nameof(socketPath), e);
        }

        Socket listener;
        if (Interlocked.Exchange(ref _inheritedListener, -1) is int inherited and >= 0)
        {
            listener = new Socket(new SafeSocketHandle(inherited, ownsHandle: true)); // bound and listening in the process before
        }
        else
        {
            if (File.Exists(socketPath))
            {
                File.Delete(socketPath);
            }

            listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
            try
            {
                listener.Bind(endPoint);
                listener.Listen(64);
            }
            catch
            {
                listener.Dispose();
                throw;
            }
        }

        lock (_listenersGate)
        {
            _listeners.Add(listener);
            if (OperatingSystem.IsLinux() && !Options.ManagedSockets)
            {
                listener.Blocking = false; // accept4 until EAGAIN, then wait in the epoll set
                string description = $"unix:{socketPath}";
                var acceptor = new FdAcceptor(listener.SafeHandle, _socketWorkers.Epoll, fd => Serve(FdSocket.Adopt(fd, description, _socketWorkers.Epoll)), ClientRefused);
                _acceptors.Add(acceptor);
                _acceptLoops.Add(acceptor.Completion);
                acceptor.Start();
            }
            else
            {
                _acceptLoops.Add(Task.Run(() => AcceptLoopAsync(listener, socketPath), CancellationToken.None));
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>
    /// Serves domain <paramref name="domainId"/> over its xenstore page and event channel (what INTRODUCE does with a real
    /// page), and fires <c>@introduceDomain</c>. The server advertises RECONNECTION and ERROR in <c>server_features</c>.
    /// </summary>
    /// <param name="domainId">The guest's domid (not 0).</param>
    /// <param name="page">The guest's xenstore page (4096 bytes; it must stay valid until the domain is released or the server disposed).</param>
    /// <param name="channel">The back-end end of the guest's xenstore event channel.</param>
    /// <param name="ownsChannel">Whether the server disposes the channel when the connection ends.</param>
    /// <exception cref="ArgumentException">The page is too small.</exception>
    /// <exception cref="InvalidOperationException">The domain already has a ring.</exception>
    public void AttachDomainRing(uint domainId, Memory<byte> page, IEventChannel channel, bool ownsChannel = false)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentOutOfRangeException.ThrowIfZero(domainId);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(domainId, (uint)ushort.MaxValue);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        RingConnection ring = NewRing(domainId, page, null, channel, ownsChannel);
        _engine.AttachDomain(domainId, ring);
        ring.Start(RingFeatures);
    }

    /// <summary>
    /// Reopens <see cref="XenStoreServerOptions.TraceFile"/> (once log rotation has moved it away), as C xenstored does on
    /// SIGHUP. Nothing happens when the server traces nothing.
    /// </summary>
    /// <exception cref="IOException">The file could not be reopened; tracing goes on into the old one.</exception>
    /// <exception cref="UnauthorizedAccessException">The file may not be written; tracing goes on into the old one.</exception>
    public void ReopenTraceFile() => _engine.Trace.Reopen();

    /// <summary>
    /// Looks for introduced domains that no longer exist, as C xenstored does on VIRQ_DOM_EXC, and releases each as
    /// RELEASE does: its ring connection ends, every node it owns is removed with its subtree (watchers are told as of
    /// an RM), and <c>@releaseDomain</c> fires. A host that runs guests itself calls this when one dies; a server
    /// created with a hypervisor host calls it on that host's VIRQ_DOM_EXC.
    /// </summary>
    /// <param name="domainExists">Whether a domain still exists; called outside the server's lock, for each introduced domain but dom0.</param>
    /// <returns>The domains released, in domid order.</returns>
    /// <exception cref="ObjectDisposedException">The server was disposed.</exception>
    public IReadOnlyList<uint> ReleaseDeadDomains(Func<uint, bool> domainExists)
    {
        ArgumentNullException.ThrowIfNull(domainExists);
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var released = new List<uint>();
        foreach (uint domainId in _engine.IntroducedDomains().Order())
        {
            if (!domainExists(domainId) && _engine.ReleaseDead(domainId))
            {
                released.Add(domainId);
            }
        }

        return released;
    }

    /// <summary>The threads serving the Unix-socket connections (for tests and diagnostics).</summary>
    internal SocketWorkers SocketWorkers => _socketWorkers;

    /// <summary>Runs the CONTROL <c>check</c> consistency check of the tree (children and parents agree, ownership counts add up).</summary>
    public bool CheckConsistency() => _engine.Check();

    /// <summary>Stops listening, closes every connection and the state directory's journal.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }

        await _stopping.CancelAsync().ConfigureAwait(false);
        _domainException?.Dispose();
        await _domainWatch.ConfigureAwait(false);
        await _ringSweep.ConfigureAwait(false);
        Task[] loops;
        lock (_listenersGate)
        {
            foreach (FdAcceptor a in _acceptors)
            {
                a.Stop(); // before its listener closes: it is then neither armed again nor accepted on
            }

            foreach (Socket s in _listeners)
            {
                s.Dispose();
            }

            loops = [.. _acceptLoops];
        }

        await Task.WhenAll(loops).ConfigureAwait(false);
        var completions = new List<Task>();
        foreach (ServerConnection c in _engine.Connections())
        {
            c.Close("the server is shutting down");
            completions.Add(c.Completion);
        }

        await Task.WhenAll(completions).ConfigureAwait(false);
        _socketWorkers.Stop();
        _engine.Metrics.Unregister(_engine);
        _engine.Journal?.Dispose(); // every record is written already: closing keeps them
        _engine.Trace.Dispose();
        _stopping.Dispose();
    }

    /// <summary>
    /// Accepts with the runtime's sockets (platforms without epoll, or <see cref="XenStoreServerOptions.ManagedSockets"/>);
    /// on Linux an <see cref="FdAcceptor"/> accepts instead.
    /// </summary>
    /// <summary>
    /// A client closed at once because the process is at its open-file limit: a warning through a
    /// <see cref="ReportThrottle"/> with the count since the last (a backlog of refusals comes in a burst).
    /// </summary>
    private void ClientRefused()
    {
        lock (_refusals) // one acceptor per listener
        {
            if (_refusals.Due(out int heldBack))
            {
                StoreLog.ClientsRefused(_engine.Logger, heldBack + 1);
            }
        }
    }

    private async Task AcceptLoopAsync(Socket listener, string socketPath)
    {
        string description = $"unix:{socketPath}";
        try
        {
            while (true)
            {
                Socket client = await listener.AcceptAsync(_stopping.Token).ConfigureAwait(false);
                Serve(new ManagedSocket(client, description));
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or SocketException)
        {
        }
    }

    /// <summary>Serves an accepted client as a dom0 connection.</summary>
    private void Serve(AcceptedSocket socket)
    {
        var connection = new SocketConnection(_engine, socket, Options.MaxQueuedMessages, _socketWorkers);
        _engine.Attach(connection);
        connection.Start();
    }

    /// <summary>The first listening socket's descriptor, for a live update to hand on (-1: none).</summary>
    private int ListenerDescriptor()
    {
        lock (_listenersGate)
        {
            return _listeners.Count > 0 ? (int)_listeners[0].SafeHandle.DangerousGetHandle() : -1;
        }
    }

    /// <summary>
    /// Loads the state a live update's old process dumped (and removes the dump): the store, and the socket clients on
    /// the descriptors this process inherited (started once the server is built); the guests' rings are served again
    /// as after a restart.
    /// </summary>
    /// <exception cref="IOException">There is no dump to read.</exception>
    /// <exception cref="InvalidDataException">The dump is not a migration stream this server reads.</exception>
    private List<ServerConnection> ResumeLiveUpdate(LiveUpdateSettings settings)
    {
        byte[] stream = File.ReadAllBytes(settings.DumpPath);
        File.Delete(settings.DumpPath);
        (int listenerFd, List<ServerConnection> sockets) = _engine.LoadLiveUpdate(stream, (fd, carried) =>
        {
            var connection = new SocketConnection(_engine, FdSocket.Adopt(fd, "unix:live-update", _socketWorkers.Epoll), Options.MaxQueuedMessages, _socketWorkers);
            connection.Resume(carried);
            return connection;
        });
        _inheritedListener = listenerFd;
        LiveUpdateResumed = true;
        return sockets;
    }

    /// <summary>Releases the domains that died each time the host raises VIRQ_DOM_EXC, until the server is disposed.</summary>
    private async Task WatchDomainsAsync(IXenStoreHost host, IEventChannel domainException)
    {
        try
        {
            while (true)
            {
                await domainException.WaitAsync(_stopping.Token).ConfigureAwait(false);
                ReleaseDeadDomains(host.DomainExists);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException)
        {
        }
    }

    /// <summary>How often a host's guest rings are looked at for work their notifications did not announce.</summary>
    internal static readonly TimeSpan RingSweepInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>
    /// Every <see cref="RingSweepInterval"/>, wakes each guest's ring that holds requests (or owes replies) its
    /// notification may not have announced. Notifications can be lost where they queue: Linux's evtchn device keeps 1024
    /// pending ports per handle and reports an overflow instead of more, the shim's handle a datagram queue of
    /// <c>net.unix.max_dgram_qlen</c> (10 by default: a burst of 100 guests kicking at once loses most of theirs). C
    /// xenstored looks at every ring after each wake-up and so never stalls on a lost one; here a ring is event-driven,
    /// and this sweep bounds such a stall to the interval. Cost: two index reads per ring per sweep.
    /// </summary>
    private async Task SweepRingsAsync()
    {
        using var timer = new PeriodicTimer(RingSweepInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(_stopping.Token).ConfigureAwait(false))
            {
                foreach (ServerConnection ring in _engine.DomainRings())
                {
                    (ring as RingConnection)?.Nudge();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private RingConnection NewRing(
        uint domainId, Memory<byte> page, IDisposable? pageOwner, IEventChannel channel, bool ownsChannel, Func<uint, IEventChannel>? rebind = null) =>
        new(_engine, domainId, page, pageOwner, channel, ownsChannel, Options.MaxQueuedMessages, rebind, Options.WatchEventTimeout);

    /// <summary>
    /// Serves the host's kernel as domain 0's ring connection, introduced from the start without @introduceDomain, and
    /// tells the kernel the server is there, as C xenstored's <c>dom0_init</c> does.
    /// </summary>
    private void AttachKernelRing(XenStoreKernelConnection kernel)
    {
        RingConnection ring = NewRing(0, kernel.Page.Page, kernel.Page.Owner, kernel.Channel, ownsChannel: true);
        if (_engine.CarriedOf(0) is { } carried)
        {
            ring.Resume(carried);
        }

        _engine.AttachDomain(0, ring, announce: false);
        ring.Start(RingFeatures);
        kernel.Channel.Notify();
    }

    private RingConnection CreateHostedRing(IXenStoreHost host, DomainRecord domain)
    {
        XenStorePageMapping page = host.MapXenStorePage(domain.Id, domain.Gfn);
        bool introducing = !domain.Introduced; // not a ring served again after a restart or a live update
        if (introducing && new XenStoreServerRing(page.Page.Span).EvtchnPort is uint pagePort and not 0)
        {
            domain.Port = pagePort; // Xen 4.21: a port the domain's builder left on the page wins over INTRODUCE's (dom0less)
        }

        IEventChannel channel;
        try
        {
            channel = host.BindInterdomain(domain.Id, domain.Port);
        }
        catch
        {
            page.Owner.Dispose();
            throw;
        }

        uint domainId = domain.Id;
        RingConnection ring = NewRing(domainId, page.Page, page.Owner, channel, ownsChannel: true, port => host.BindInterdomain(domainId, port));
        if (domain.Carried is { } carried)
        {
            ring.Resume(carried); // its watches are registered by the engine once the ring is attached
        }

        ring.Start((XenStoreServerFeatures)domain.Features); // the domain's, which SET_FEATURE may have narrowed before INTRODUCE
        return ring;
    }
}
