using System.Globalization;
using System.Buffers.Binary;
using System.Net.Sockets;
using Xen.Interop.Tests.Peers;
using Xen.Store.Client;

namespace Xen.Interop.Tests.Scenarios;

/// <summary>
/// A real xenstored (C or OCaml) under the shim (<see cref="XenstoredPeer"/>). The connection under test is either
/// a second socket connection (dom0) or guest domain 5 over the shared ring, introduced by dom0 with event
/// channel port 7 (the convention of <c>ring_guest_demo.py</c> in the peers folder).
/// </summary>
public sealed class RealXenstoredTarget : ScenarioTarget
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
    public RealXenstoredTarget(XenstoredKind kind, bool ringGuest)
    {
        _kind = kind;
        _ringGuest = ringGuest;
    }

    /// <inheritdoc/>
    public override ScenarioDaemon Daemon => _kind == XenstoredKind.C ? ScenarioDaemon.CXenstored : ScenarioDaemon.Oxenstored;

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
        byte[] virq = new byte[8];
        BinaryPrimitives.WriteUInt32LittleEndian(virq, uint.MaxValue);
        BinaryPrimitives.WriteUInt32LittleEndian(virq.AsSpan(4), 3);
        using var socket = new Socket(AddressFamily.Unix, SocketType.Dgram, ProtocolType.Unspecified);
        await socket.SendToAsync(virq, SocketFlags.None, new UnixDomainSocketEndPoint(Path.Combine(Peer.StateDirectory, "virq-3")));
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
