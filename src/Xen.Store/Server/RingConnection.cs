using System.Buffers;
using System.Threading.Channels;
using Xen.Rings;
using Xen.Rings.Events;
using Xen.Rings.XenStore;
using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// A domain's connection over the server side of its xenstore ring (<c>struct xenstore_domain_interface</c>) and its
/// event channel.
/// </summary>
/// <remarks>
/// <para>
/// Design. One loop serves the ring: each pass completes a reconnection the guest asked for, writes queued output into
/// <c>rsp[]</c>, reads what fits of <c>req[]</c>, hands whole requests to the engine, writes again, and notifies the
/// guest if any index moved. When a pass makes no progress the loop waits on <c>_wake</c>, a one-slot level signal set
/// by the event channel (a small pump task owns the channel's only wait) and by output queued from other threads; a
/// notification that arrives during a pass leaves the signal set, so the next wait returns at once and nothing is lost
/// (the ring.h final-check pattern).
/// </para>
/// <para>
/// The guest is untrusted: the ring views validate its indices; corrupt indices set <c>error</c> to RINGIDX, a frame
/// announcing more than 4096 bytes sets PROTO, and either stops serving the ring (watches and transactions dropped)
/// until the guest reconnects. While the outstanding-request quota of replies waits unread, no further request is
/// taken; when the output queue overflows (the guest reads nothing while others make it watch events) the connection
/// is closed with <c>error</c> COMM.
/// </para>
/// </remarks>
#pragma warning disable CA1001 // the token source is cancelled on close and needs no disposal (it has no timer)
internal sealed class RingConnection : ServerConnection
#pragma warning restore CA1001
{
    private readonly IStoreEngine _engine;
    private readonly Memory<byte> _page;
    private readonly IDisposable? _pageOwner;
    private readonly Func<uint, IEventChannel>? _rebind;
    private IEventChannel _channel; // replaced only by the loop (a re-INTRODUCE's new channel)
    private bool _ownsChannel;
    private IEventChannel? _nextChannel; // bound by Reintroduce, taken by the loop's next pass
    private int _reintroduced; // 1 from Reintroduce until the loop has emptied the ring
    private readonly Channel<bool> _wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stop = new();
    private const int InputSize = XsHeader.MessageMax * 2;
    private byte[]? _input; // rented for a pass over req[], kept only while it holds bytes (_filled > 0): an idle ring holds none
    private int _filled;
    private int _outputOffset;
    private bool _broken;
    private volatile bool _frozen; // parked by a live update's freeze: nothing touches the buffers until the thaw
    private Task _loop = Task.CompletedTask;

    /// <summary>A connection for <paramref name="domainId"/>'s ring on <paramref name="page"/>, kicked through <paramref name="channel"/>.</summary>
    /// <param name="engine">The store the requests go to.</param>
    /// <param name="domainId">The guest's domain id (0: dom0's kernel, privileged).</param>
    /// <param name="page">The mapped xenstore page.</param>
    /// <param name="pageOwner">Unmaps the page when the connection ends, or null.</param>
    /// <param name="channel">The domain's event channel.</param>
    /// <param name="ownsChannel">Whether the connection unbinds <paramref name="channel"/> when it ends.</param>
    /// <param name="maxQueued">The bound of the output queue.</param>
    /// <param name="rebind">How to bind the domain's channel to a new port on re-INTRODUCE (the host's bind); null keeps the channel.</param>
    /// <param name="watchEventTimeout">How long a watch event may wait unsent before it is dropped (a guest's ring only).</param>
    public RingConnection(
        IStoreEngine engine, uint domainId, Memory<byte> page, IDisposable? pageOwner, IEventChannel channel, bool ownsChannel, int maxQueued,
        Func<uint, IEventChannel>? rebind = null, TimeSpan watchEventTimeout = default)
        : base(domainId, isPrivileged: domainId == 0, $"ring:dom{domainId}", maxQueued, watchEventTimeout) // dom0's kernel is privileged, as in C
    {
        _rebind = rebind;
        _ = new XenStoreServerRing(page.Span); // validates the size
        _engine = engine;
        _page = page;
        _pageOwner = pageOwner;
        _channel = channel;
        _ownsChannel = ownsChannel;
    }

    public override Task Completion => _loop;

    public override string Kind => "ring";

    /// <summary>Advertises the server's features on the page and starts serving it.</summary>
    public void Start(XenStoreServerFeatures features)
    {
        new XenStoreServerRing(_page.Span).ServerFeatures = features;
        _loop = Task.Run(RunAsync);
    }

    protected override void OnOutputQueued() => _wake.Writer.TryWrite(true);

    /// <summary>
    /// Binds the new channel now, so a failure answers the INTRODUCE; the loop's next pass swaps it in (it alone
    /// notifies) and empties the ring. The engine has already dropped the connection's watches and transactions.
    /// </summary>
    public override void Reintroduce(uint port)
    {
        if (_rebind?.Invoke(port) is { } next)
        {
            Interlocked.Exchange(ref _nextChannel, next)?.Dispose(); // a second re-INTRODUCE before the loop took the first
        }

        Volatile.Write(ref _reintroduced, 1);
        _wake.Writer.TryWrite(true);
    }

    protected override void OnClosed() =>
        ThreadPool.UnsafeQueueUserWorkItem(static s => ((CancellationTokenSource)s!).Cancel(), _stop);

    private async Task RunAsync()
    {
        Task pump = PumpAsync();
        try
        {
            _channel.Notify(); // as C xenstored does after INTRODUCE: the guest may have written before we looked
            while (!IsClosed)
            {
                if (_engine.Frozen)
                {
                    await FrozenAsync().ConfigureAwait(false);
                }
                else if (!Service())
                {
                    await _wake.Reader.ReadAsync(_stop.Token).ConfigureAwait(false);
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (ObjectDisposedException)
        {
            // The host disposed the page while the domain was attached (it must outlive the attachment): the
            // connection ends here instead of failing the server's shutdown.
            Close("the page was disposed");
        }
        finally
        {
            Close("stopped");
            if (ClosedForOverflow && !PageDisposed())
            {
                new XenStoreServerRing(_page.Span).Error = XenStoreRingError.Communication;
                _channel.Notify();
            }

            _engine.Detach(this);
            await _stop.CancelAsync().ConfigureAwait(false);
            await pump.ConfigureAwait(false);
            if (_ownsChannel)
            {
                _channel.Dispose();
            }

            Interlocked.Exchange(ref _nextChannel, null)?.Dispose();
            _pageOwner?.Dispose();
        }
    }

    /// <summary>
    /// A live update's freeze: what is queued goes into <c>rsp[]</c> as far as it fits (no request is taken), then the
    /// loop parks until the thaw, leaving <c>_input</c> and the queue for <see cref="CarryOver"/>.
    /// </summary>
    private async Task FrozenAsync()
    {
        try
        {
            var ring = new XenStoreServerRing(_page.Span);
            if (!_broken && WriteOutput(ring))
            {
                _channel.Notify();
            }
        }
        catch (RingCorruptedException e)
        {
            Break(e.Message);
        }

        _frozen = true;
        try
        {
            await _engine.Thawed.WaitAsync(_stop.Token).ConfigureAwait(false);
        }
        finally
        {
            _frozen = false;
        }
    }

    public override bool IsQuiet => _frozen || IsClosed;

    /// <summary>
    /// Wakes the loop, as the guest's notification would, when <c>req[]</c> holds requests or replies wait for room in
    /// <c>rsp[]</c>: a notification can be lost where notifications queue (the server's periodic ring sweep calls this).
    /// A spurious wake costs one pass over the ring.
    /// </summary>
    public void Nudge()
    {
        if (_frozen || _broken || IsClosed)
        {
            return;
        }

        try
        {
            var ring = new XenStoreServerRing(_page.Span);
            if (ring.Requests.Producer != ring.Requests.Consumer || QueuedCount > 0)
            {
                _wake.Writer.TryWrite(true);
            }
        }
        catch (ObjectDisposedException)
        {
            // unmapped: the connection is ending
        }
    }

    /// <summary>
    /// The request bytes taken from <c>req[]</c> and not handled, and the output not yet in <c>rsp[]</c>; none for a
    /// broken ring (its guest's <c>error</c> stays set in the page, and the new process serves it once it reconnects).
    /// </summary>
    public override LiveUpdate.CarriedConnection? CarryOver() =>
        _broken ? new LiveUpdate.CarriedConnection(-1, [], []) : new LiveUpdate.CarriedConnection(-1, _filled == 0 ? [] : _input.AsSpan(0, _filled).ToArray(), QueuedBytes(_outputOffset));

    /// <summary>Takes what a live update carried (before <see cref="Start"/>): held request bytes first, then the output owed.</summary>
    /// <exception cref="InvalidDataException">More bytes were carried than a ring connection holds.</exception>
    public void Resume(LiveUpdate.CarriedConnection carried)
    {
        if (carried.Input.Length > InputSize)
        {
            throw new InvalidDataException($"The live update carried {carried.Input.Length} request bytes for domain {DomainId}'s ring; it holds {InputSize}.");
        }

        if (carried.Input.Length > 0)
        {
            _input = ArrayPool<byte>.Shared.Rent(InputSize);
            carried.Input.CopyTo(_input, 0);
            _filled = carried.Input.Length;
        }
        EnqueueCarried(carried.Output);
    }

    private bool PageDisposed()
    {
        try
        {
            _ = _page.Span;
            return false;
        }
        catch (ObjectDisposedException)
        {
            return true;
        }
    }

    private async Task PumpAsync()
    {
        try
        {
            while (true)
            {
                IEventChannel channel = Volatile.Read(ref _channel);
                try
                {
                    await channel.WaitAsync(_stop.Token).ConfigureAwait(false);
                }
                catch (ObjectDisposedException) when (!ReferenceEquals(channel, Volatile.Read(ref _channel)))
                {
                    continue; // replaced on re-INTRODUCE: wait on the new one
                }

                _wake.Writer.TryWrite(true);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or ObjectDisposedException or IOException)
        {
        }
    }

    /// <summary>One pass over the ring.</summary>
    /// <returns>Whether anything moved (then the caller passes again before waiting).</returns>
    private bool Service()
    {
        var ring = new XenStoreServerRing(_page.Span);
        if (Interlocked.Exchange(ref _reintroduced, 0) == 1)
        {
            Reset(ring);
            return true;
        }

        if (ring.IsReconnectRequested)
        {
            _engine.ResetConnection(this);
            ClearBuffers(broken: false);
            ring.CompleteReconnect();
            _channel.Notify();
            return true;
        }

        if (_broken)
        {
            return false;
        }

        bool moved = false;
        try
        {
            moved |= WriteOutput(ring);
            if (!TakeRequests(ring, ref moved))
            {
                ring.Error = XenStoreRingError.Protocol;
                Break("a request's header is not a valid xenstore header");
                return true;
            }

            moved |= WriteOutput(ring);
        }
        catch (RingCorruptedException e)
        {
            Break(e.Message);
            return true;
        }

        if (moved)
        {
            _channel.Notify();
        }

        return moved;
    }

    /// <summary>A re-INTRODUCE's reset: the new channel in, the old one unbound, buffers and the ring's indices emptied.</summary>
    private void Reset(XenStoreServerRing ring)
    {
        if (Interlocked.Exchange(ref _nextChannel, null) is { } next)
        {
            IEventChannel old = _channel;
            bool ownedOld = _ownsChannel;
            Volatile.Write(ref _channel, next);
            _ownsChannel = true;
            if (ownedOld)
            {
                old.Dispose(); // the pump, waiting on it, moves to the new one
            }
        }

        ClearBuffers(broken: false);
        ring.Requests.Reset();
        ring.Responses.Reset();
        _channel.Notify();
    }

    /// <summary>
    /// Hands the whole requests in <c>req[]</c> to the engine while the guest's unread replies stay under the quota,
    /// and consumes from <c>req[]</c> only the requests handled: one the server has not handled stays in the ring,
    /// where the indices in the shared page keep it for a server started after this one dies. A request larger than the
    /// ring cannot wait there whole: once <c>req[]</c> is full with the start of one (and the quota is not what holds
    /// it back), its bytes are taken into <c>_input</c> (<c>_filled</c> bytes held) until the rest has come.
    /// </summary>
    /// <returns>False when the framing is broken.</returns>
    private bool TakeRequests(XenStoreServerRing ring, ref bool moved)
    {
        ByteRing requests = ring.Requests;
        ByteRingReadReservation waiting;
        try
        {
            waiting = requests.GetReadSegments();
        }
        catch (RingCorruptedException)
        {
            ring.Error = XenStoreRingError.RingIndex;
            throw;
        }

        if (waiting.Length == 0 && _filled == 0)
        {
            return true;
        }

        byte[] input = _input ??= ArrayPool<byte>.Shared.Rent(InputSize);
        int held = _filled;
        int copied = Math.Min(waiting.Length, InputSize - held); // a copy: the guest may change what it has not yet seen consumed
        int first = Math.Min(copied, waiting.First.Length);
        waiting.First[..first].CopyTo(input.AsSpan(held));
        waiting.Second[..(copied - first)].CopyTo(input.AsSpan(held + first));
        int total = held + copied;
        _filled = total;
        int quota = _engine.OutstandingQuota(DomainId);
        if (TakeFrames(_engine, input, ref _filled, quota, out _) == XsFrameStatus.Oversized)
        {
            return false;
        }

        int handled = total - _filled; // TakeFrames moved what is left (held bytes first, then the copy) to the front
        int fromRing = Math.Max(0, handled - held);
        if (fromRing == 0 && copied == requests.Capacity && QueuedCount < quota && !IsClosed)
        {
            fromRing = copied; // req[] is full with the start of a request larger than the ring: hold it all
        }
        else
        {
            _filled = Math.Max(0, held - handled); // the copy of what stays in req[] is dropped: read again next pass
        }

        if (fromRing > 0)
        {
            requests.Advance(waiting, fromRing);
        }

        ReturnInputIfEmpty();
        moved |= handled > 0 || fromRing > 0;
        return true;
    }

    private void ReturnInputIfEmpty()
    {
        if (_filled == 0 && _input is { } input)
        {
            _input = null;
            ArrayPool<byte>.Shared.Return(input);
        }
    }

    private bool WriteOutput(XenStoreServerRing ring)
    {
        bool moved = false;
        while (PeekOutput(started: _outputOffset > 0) is { } message)
        {
            int n = ring.Write(message.AsSpan(_outputOffset));
            if (n == 0)
            {
                break;
            }

            moved = true;
            _outputOffset += n;
            if (_outputOffset < message.Length)
            {
                break;
            }

            DequeueOutput();
            _outputOffset = 0;
        }

        return moved;
    }

    private void Break(string reason)
    {
        StoreLog.RingBroken(_engine.Logger, DomainId, reason);
        ClearBuffers(broken: true);
        _engine.ResetConnection(this);
        _channel.Notify();
    }

    /// <summary>Drops the partial request read and the output not yet written (every kind of reset does).</summary>
    private void ClearBuffers(bool broken)
    {
        _broken = broken;
        _filled = 0;
        ReturnInputIfEmpty();
        _outputOffset = 0;
        ClearOutput();
    }
}
