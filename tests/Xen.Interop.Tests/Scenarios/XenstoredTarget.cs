using System.Globalization;
using Xen.Rings.Shim;
using Xen.Store.Client;
using Xen.TestSupport.Guests;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Scenarios;

/// <summary>
/// A xenstored running as a process of its own (<see cref="XenstoredPeer"/>): the real C xenstored or oxenstored
/// under the shim, or this project's server as the drop-in daemon (<c>run_xenstored.sh ours</c>). The connection under
/// test is either a second socket connection (dom0) or guest domain 5 over the shared ring, introduced by dom0
/// with event channel port 7 (the convention of <c>ring_guest_demo.py</c> in the peers folder). Pausing,
/// resuming and stopping the daemon are real signals to its process.
/// </summary>
public sealed class XenstoredTarget : ScenarioTarget
{
    /// <summary>The domain id of the ring guest under test.</summary>
    public const uint GuestDomainId = 5;

    /// <summary>The guest-side port of the ring guest's xenstore event channel.</summary>
    public const uint GuestPort = 7;

    private readonly XenstoredKind _kind;
    private readonly bool _ringGuest;
    private readonly List<IAsyncDisposable> _owned = [];
    private XenstoredPeer? _peer;
    private XenStoreClient? _dom0;
    private XenStoreClient? _client;

    /// <summary>Describes the target; nothing starts before <see cref="StartAsync"/>.</summary>
    public XenstoredTarget(XenstoredKind kind, bool ringGuest)
    {
        if (kind == XenstoredKind.External)
        {
            throw new ArgumentException("A scenario target starts its daemon itself; External has none.", nameof(kind));
        }

        _kind = kind;
        _ringGuest = ringGuest;
    }

    /// <inheritdoc/>
    public override ScenarioDaemon Daemon => _kind switch
    {
        XenstoredKind.C => ScenarioDaemon.CXenstored,
        XenstoredKind.OCaml => ScenarioDaemon.Oxenstored,
        XenstoredKind.Embedded => ScenarioDaemon.Embedded,
        _ => throw new InvalidOperationException($"No scenario target runs a {_kind} xenstore."),
    };

    /// <inheritdoc/>
    public override bool ClientIsRingGuest => _ringGuest;

    /// <inheritdoc/>
    public override XenStoreClient Dom0 => _dom0 ?? throw new InvalidOperationException("The target was not started.");

    /// <inheritdoc/>
    public override XenStoreClient Client => _client ?? throw new InvalidOperationException("The target was not started.");

    /// <inheritdoc/>
    public override uint ClientDomainId => _ringGuest ? GuestDomainId : 0;

    private XenstoredPeer Peer => _peer ?? throw new InvalidOperationException("The target was not started.");

    /// <inheritdoc/>
    public override async Task StartAsync()
    {
        _peer = await XenstoredPeer.StartAsync(_kind);
        _dom0 = await ConnectDom0Async();
        _client = _ringGuest
            ? (await IntroduceRingGuestAsync(GuestDomainId, GuestPort)).Client
            : await ConnectDom0Async();
    }

    /// <inheritdoc/>
    public override async Task<XenStoreClient> ConnectDom0Async()
    {
        XenStoreClient client = await XenStoreClient.ConnectAsync(Peer.SocketPath);
        Own(client);
        return client;
    }

    /// <inheritdoc/>
    public override async Task<RingGuest> IntroduceRingGuestAsync(uint domainId, uint port)
    {
        if (!_ringGuest)
        {
            throw new NotSupportedException("This target's scenarios run without ring guests.");
        }

        RingGuest guest = await RingGuest.IntroduceAsync(Dom0, Peer.StateDirectory, domainId, port);
        Own(guest);
        return guest;
    }

    /// <inheritdoc/>
    public override Task PauseDaemonAsync() => PeerCommand.RunCheckedAsync("/bin/kill", ["-STOP", Peer.DaemonProcessId.ToString(CultureInfo.InvariantCulture)]);

    /// <inheritdoc/>
    public override Task ResumeDaemonAsync() => PeerCommand.RunCheckedAsync("/bin/kill", ["-CONT", Peer.DaemonProcessId.ToString(CultureInfo.InvariantCulture)]);

    /// <inheritdoc/>
    public override async Task StopDaemonAsync() => await Peer.DisposeAsync();

    /// <inheritdoc/>
    /// <remarks>
    /// The shim's convention: <c>dead-&lt;domid&gt;</c> marks the domain dead, and a datagram
    /// <c>&lt;0xFFFFFFFF&gt;&lt;3&gt;</c> to <c>virq-3</c> raises VIRQ_DOM_EXC, on which the daemon rescans its domains.
    /// </remarks>
    public override async Task KillDomainAsync(uint domainId)
    {
        if (!_ringGuest)
        {
            throw new NotSupportedException("This target's scenarios run without ring guests.");
        }

        await File.WriteAllBytesAsync(Path.Combine(Peer.StateDirectory, $"dead-{domainId}"), []);
        ShimEventChannels.RaiseVirq(Peer.StateDirectory, ShimEventChannels.VirqDomainException);
    }

    /// <inheritdoc/>
    public override string Describe() => _peer is null ? "(not started)" : $"{_kind} xenstored in {_peer.StateDirectory}; its output: {_peer.DaemonOutput}";

    /// <inheritdoc/>
    public override async ValueTask DisposeAsync()
    {
        IAsyncDisposable[] owned;
        lock (_owned)
        {
            owned = [.. _owned];
            _owned.Clear();
        }

        foreach (IAsyncDisposable o in owned.Reverse())
        {
            await o.DisposeAsync();
        }

        if (_peer is not null)
        {
            await _peer.DisposeAsync();
        }
    }

    private void Own(IAsyncDisposable disposable)
    {
        lock (_owned)
        {
            _owned.Add(disposable);
        }
    }
}
