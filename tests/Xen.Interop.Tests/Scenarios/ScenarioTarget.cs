using Xen.Store.Client;
using Xen.TestSupport.Guests;

namespace Xen.Interop.Tests.Scenarios;

/// <summary>
/// One xenstore daemon the scenario suite runs against, and how it is reached: a privileged dom0 connection, the
/// connection under test (a second dom0 socket connection, or a guest over the shared ring), and further guests
/// where the target can introduce them.
/// </summary>
/// <remarks>
/// A target is started once per scenario (<see cref="StartAsync"/>) and disposed after it, so every scenario
/// sees a fresh daemon and a failing one leaves nothing behind.
/// </remarks>
public abstract class ScenarioTarget : IAsyncDisposable
{
    /// <summary>Which implementation runs.</summary>
    public abstract ScenarioDaemon Daemon { get; }

    /// <summary>Whether the connection under test is a guest over the shared ring (else a dom0 socket connection).</summary>
    public abstract bool ClientIsRingGuest { get; }

    /// <summary>A privileged (dom0) connection, separate from <see cref="Client"/>.</summary>
    public abstract XenStoreClient Dom0 { get; }

    /// <summary>The connection under test.</summary>
    public abstract XenStoreClient Client { get; }

    /// <summary>The domain of <see cref="Client"/> (0 for a socket connection).</summary>
    public abstract uint ClientDomainId { get; }

    /// <summary>Starts the daemon and opens <see cref="Dom0"/> and <see cref="Client"/>.</summary>
    public abstract Task StartAsync();

    /// <summary>Opens another privileged connection.</summary>
    public abstract Task<XenStoreClient> ConnectDom0Async();

    /// <summary>Introduces another guest domain and connects it over its ring.</summary>
    /// <exception cref="NotSupportedException">The target has no ring guests.</exception>
    public abstract Task<RingGuest> IntroduceRingGuestAsync(uint domainId, uint port);

    /// <summary>Suspends the daemon (SIGSTOP): requests sent meanwhile wait, unanswered, until <see cref="ResumeDaemonAsync"/>.</summary>
    public abstract Task PauseDaemonAsync();

    /// <summary>Lets a paused daemon run again (SIGCONT).</summary>
    public abstract Task ResumeDaemonAsync();

    /// <summary>Stops the daemon (connections stay open on our side, to see how they fail).</summary>
    public abstract Task StopDaemonAsync();

    /// <summary>Makes the (stand-in) hypervisor report domain <paramref name="domainId"/> dead and tells the daemon to look.</summary>
    /// <exception cref="NotSupportedException">The target has no ring guests.</exception>
    public abstract Task KillDomainAsync(uint domainId);

    /// <summary>The daemon's state for a failure message (its output so far).</summary>
    public abstract string Describe();

    /// <summary>Closes every connection and stops the daemon.</summary>
    public abstract ValueTask DisposeAsync();
}
