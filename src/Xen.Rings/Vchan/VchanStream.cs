using Xen.Rings.Events;

namespace Xen.Rings.Vchan;

/// <summary>
/// One connected end of a vchan as a byte <see cref="Stream"/>: libxenvchan's read, write, data-ready and
/// buffer-space over the two rings of a <c>struct vchan_interface</c>, with its notify rules, waiting on the
/// vchan's event channel. The server end reads <c>left</c> and writes <c>right</c>; the client the other way round.
/// </summary>
/// <remarks>
/// <para>
/// Design. The shared page is hostile. The ring orders are read once, here, validated, and the buffers fixed from
/// them; a peer that rewrites them later changes nothing. The indices go through <see cref="ByteRing"/>, so
/// <c>prod - cons</c> beyond the ring's size is a <see cref="RingCorruptedException"/> (where libxenvchan locks the
/// ring up), and no index reads or writes outside the buffer.
/// </para>
/// <para>
/// Events. An end asks to be woken only when it must wait: a read that finds the ring empty sets WRITE in the
/// peer's notify byte and looks again; a write that finds it full sets READ and looks again. An end that moved an
/// index sends an event only if the peer asked. So a stream that keeps up costs no event at all, as in libxenvchan.
/// One <see cref="NotificationPump"/> owns the channel's wait and wakes the reader, the writer and
/// <see cref="WaitForConnectionAsync"/> on each event; each re-checks the rings.
/// </para>
/// <para>
/// Closing. Disposing marks this end's live byte 0 and sends an event (the peer reads end-of-stream once it has
/// drained the ring; its writes fail), then disposes the owner given at creation (unmapping, unbinding, removing
/// xenstore nodes). A peer that closes or dies (its unmap or unshare notification clears its byte) ends our reads
/// after the data already in the ring, and fails our writes with <see cref="IOException"/>.
/// </para>
/// <para>
/// One read and one write may run concurrently; concurrent reads, or concurrent writes, are not supported. Disposing
/// while a read or write runs on another thread is safe: every touch of the shared memory happens between an
/// <c>Enter</c> that fails once the stream is disposed and an <c>Exit</c>, and disposal waits for those (each is a
/// few loads and stores, never a wait) before the owner unmaps the pages.
/// </para>
/// </remarks>
public sealed class VchanStream : Stream
{
    private const int ReaderRole = 0;
    private const int WriterRole = 1;
    private const int StateRole = 2;

    private readonly Memory<byte> _page;
    private readonly Memory<byte> _readBuffer;
    private readonly Memory<byte> _writeBuffer;
    private readonly IEventChannel _channel;
    private readonly IAsyncDisposable? _owner;
    private readonly NotificationPump _pump;
    private int _disposed;
    private int _users; // calls inside Enter/Exit: the memory stays mapped until they have left

    private VchanStream(VchanRole role, Memory<byte> page, Memory<byte> readBuffer, Memory<byte> writeBuffer, IEventChannel channel, IAsyncDisposable? owner)
    {
        Role = role;
        _page = page;
        _readBuffer = readBuffer;
        _writeBuffer = writeBuffer;
        _channel = channel;
        _owner = owner;
        _pump = new NotificationPump(channel, 3, wakeOnEventThread: true);
    }

    /// <summary>
    /// Creates the stream of one end over a vchan's memory. The orders are read from <paramref name="page"/> once and
    /// must be a valid pair; a ring of order 12 or more lives in its own pages (<paramref name="leftRing"/>,
    /// <paramref name="rightRing"/>, exactly 2^order bytes), an order-10 or 11 ring inside the page (pass empty memory).
    /// </summary>
    /// <param name="role">Which end this process is.</param>
    /// <param name="page">The shared page (its header already written by the server).</param>
    /// <param name="leftRing">The left (client to server) ring's own pages, or empty for an in-page ring.</param>
    /// <param name="rightRing">The right (server to client) ring's own pages, or empty for an in-page ring.</param>
    /// <param name="channel">The vchan's event channel (the stream owns its wait; it does not dispose it).</param>
    /// <param name="owner">What to dispose when the stream is disposed, after this end is marked closed (the mappings,
    /// the port, the xenstore nodes); null for none.</param>
    /// <exception cref="RingCorruptedException">The orders in the page are not a valid pair (a hostile or broken server).</exception>
    /// <exception cref="ArgumentException">The page is smaller than 4096 bytes, or a ring's memory does not match its order.</exception>
    public static VchanStream Create(VchanRole role, Memory<byte> page, Memory<byte> leftRing, Memory<byte> rightRing, IEventChannel channel, IAsyncDisposable? owner = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        VchanLayout.CheckPage(page.Length, nameof(page));
        var shared = new VchanInterface(page.Span, role);
        int leftOrder = shared.LeftOrder;
        int rightOrder = shared.RightOrder;
        if (!VchanLayout.IsValidOrderPair(leftOrder, rightOrder))
        {
            throw new RingCorruptedException($"The vchan page gives ring orders {leftOrder} (left) and {rightOrder} (right); each must be 10..20, and not both the same in-page order.");
        }

        Memory<byte> left = RingBuffer(page, leftRing, leftOrder, nameof(leftRing));
        Memory<byte> right = RingBuffer(page, rightRing, rightOrder, nameof(rightRing));
        return role == VchanRole.Server
            ? new VchanStream(role, page, left, right, channel, owner)
            : new VchanStream(role, page, right, left, channel, owner);
    }

    /// <summary>Which end this stream is.</summary>
    public VchanRole Role { get; }

    /// <summary>The size of the ring this end reads, in bytes.</summary>
    public int ReadRingSize => _readBuffer.Length;

    /// <summary>The size of the ring this end writes, in bytes.</summary>
    public int WriteRingSize => _writeBuffer.Length;

    /// <summary>Whether the peer is still there (<c>libxenvchan_is_open</c>; for a server, a client not yet connected counts).</summary>
    public bool IsPeerOpen
    {
        get
        {
            if (!TryEnter())
            {
                return false;
            }

            try
            {
                return Shared.IsPeerOpen;
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <summary>Whether the client has connected (for either end: the client's <c>cli_live</c> is 1).</summary>
    public bool IsClientConnected => ClientLive() == VchanLiveState.Connected;

    /// <summary>
    /// Bytes that can be read now (<c>libxenvchan_data_ready</c>; it also asks the peer for an event when it writes).
    /// </summary>
    /// <exception cref="RingCorruptedException">The peer corrupted the ring indices.</exception>
    public int DataReady
    {
        get
        {
            Enter();
            try
            {
                Shared.RequestNotify(VchanNotify.Write);
                return ReadRing.BytesAvailable;
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <summary>
    /// Bytes that can be written now (<c>libxenvchan_buffer_space</c>; it also asks the peer for an event when it reads).
    /// </summary>
    /// <exception cref="RingCorruptedException">The peer corrupted the ring indices.</exception>
    public int BufferSpace
    {
        get
        {
            Enter();
            try
            {
                Shared.RequestNotify(VchanNotify.Read);
                return WriteRing.BytesFree;
            }
            finally
            {
                Exit();
            }
        }
    }

    /// <inheritdoc/>
    public override bool CanRead => !IsDisposed;

    /// <inheritdoc/>
    public override bool CanWrite => !IsDisposed;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    private bool IsDisposed => Volatile.Read(ref _disposed) != 0;

    private VchanInterface Shared => new(_page.Span, Role);

    private ByteRing ReadRing
    {
        get
        {
            VchanInterface shared = Shared;
            return new ByteRing(_readBuffer.Span, ref shared.ReadCons, ref shared.ReadProd, Role == VchanRole.Server ? "left" : "right");
        }
    }

    private ByteRing WriteRing
    {
        get
        {
            VchanInterface shared = Shared;
            return new ByteRing(_writeBuffer.Span, ref shared.WriteCons, ref shared.WriteProd, Role == VchanRole.Server ? "right" : "left");
        }
    }

    /// <summary>
    /// Reads what is in the ring now, without waiting, and sends the peer an event if it asked for one. When the ring
    /// is empty it asks the peer to send one on its next write (so a wait after a 0 is not missed). Allocates nothing.
    /// </summary>
    /// <returns>Bytes read; 0 when the ring is empty (see <see cref="IsPeerOpen"/> for whether more can come). Only a
    /// call that returns 0 has asked for an event: call again before waiting.</returns>
    /// <exception cref="RingCorruptedException">The peer corrupted the ring indices; nothing was consumed.</exception>
    /// <exception cref="ObjectDisposedException">The stream was disposed.</exception>
    public int TryRead(Span<byte> buffer)
    {
        Enter();
        try
        {
            return buffer.IsEmpty ? 0 : ReadNow(buffer);
        }
        finally
        {
            Exit();
        }
    }

    private int ReadNow(Span<byte> buffer)
    {
        ByteRing ring = ReadRing;
        int n = ring.Read(buffer);
        if (n == 0)
        {
            Shared.RequestNotify(VchanNotify.Write); // about to wait: tell me when you write, then look again
            n = ring.Read(buffer);
            if (n == 0)
            {
                return 0;
            }
        }

        if (Shared.TakeNotifyRequest(VchanNotify.Read))
        {
            _channel.Notify();
        }

        return n;
    }

    /// <summary>
    /// Writes what fits in the ring now, without waiting, and sends the peer an event if it asked for one. When the
    /// ring is full it asks the peer to send one on its next read. Allocates nothing.
    /// </summary>
    /// <returns>Bytes written; 0 when the ring is full. Only a call that returns 0 has asked for an event: after a
    /// partial write, call again before waiting.</returns>
    /// <exception cref="IOException">The peer has closed: nothing was written.</exception>
    /// <exception cref="RingCorruptedException">The peer corrupted the ring indices; nothing was written.</exception>
    /// <exception cref="ObjectDisposedException">The stream was disposed.</exception>
    public int TryWrite(ReadOnlySpan<byte> buffer)
    {
        Enter();
        try
        {
            return !Shared.IsPeerOpen ? throw PeerClosed() : buffer.IsEmpty ? 0 : WriteNow(buffer);
        }
        finally
        {
            Exit();
        }
    }

    private int WriteNow(ReadOnlySpan<byte> buffer)
    {
        ByteRing ring = WriteRing;
        int n = ring.Write(buffer);
        if (n == 0)
        {
            Shared.RequestNotify(VchanNotify.Read); // about to wait: tell me when you read, then look again
            n = ring.Write(buffer);
            if (n == 0)
            {
                return 0;
            }
        }

        if (Shared.TakeNotifyRequest(VchanNotify.Write))
        {
            _channel.Notify();
        }

        return n;
    }

    /// <summary>
    /// Reads at least one byte, waiting for the peer while the ring is empty; 0 (end of stream) once the peer has
    /// closed and the ring is drained.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; nothing was consumed.</exception>
    /// <exception cref="RingCorruptedException">The peer corrupted the ring indices.</exception>
    /// <exception cref="ObjectDisposedException">The stream was disposed.</exception>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            int n = TryRead(buffer.Span);
            if (n != 0 || buffer.IsEmpty)
            {
                return n;
            }

            if (!IsPeerOpen)
            {
                return TryRead(buffer.Span); // what it wrote before it closed, then end of stream
            }

            await _pump.WaitAsync(ReaderRole, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes every byte, waiting for the peer to make room whenever the ring is full.</summary>
    /// <exception cref="IOException">The peer closed before everything was written (what was written stays in the ring).</exception>
    /// <exception cref="OperationCanceledException">Cancelled; the bytes already in the ring stay there.</exception>
    /// <exception cref="RingCorruptedException">The peer corrupted the ring indices.</exception>
    /// <exception cref="ObjectDisposedException">The stream was disposed.</exception>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            int n = TryWrite(buffer.Span);
            buffer = buffer[n..];
            if (buffer.IsEmpty)
            {
                return;
            }

            // Wait only after a try that found the ring full: only that one asked the reader for an event.
            if (n == 0)
            {
                await _pump.WaitAsync(WriterRole, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// Server: completes when the client has connected (<c>cli_live</c> 1); at once if it already has.
    /// </summary>
    /// <exception cref="IOException">The client connected and closed, or the server closed, before this saw it connected.</exception>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    public async ValueTask WaitForConnectionAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            switch (ClientLive() ?? throw new ObjectDisposedException(nameof(VchanStream)))
            {
                case VchanLiveState.Connected:
                    return;
                case VchanLiveState.Exited:
                    throw PeerClosed();
            }

            await _pump.WaitAsync(StateRole, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <summary>Reads at least one byte, blocking the thread while the ring is empty; 0 at end of stream.</summary>
    public override int Read(Span<byte> buffer)
    {
        while (true)
        {
            int n = TryRead(buffer);
            if (n != 0 || buffer.IsEmpty)
            {
                return n;
            }

            if (!IsPeerOpen)
            {
                return TryRead(buffer);
            }

            _pump.WaitAsync(ReaderRole, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <summary>Writes every byte, blocking the thread while the ring is full.</summary>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        while (true)
        {
            int n = TryWrite(buffer);
            buffer = buffer[n..];
            if (buffer.IsEmpty)
            {
                return;
            }

            if (n == 0)
            {
                _pump.WaitAsync(WriterRole, CancellationToken.None).AsTask().GetAwaiter().GetResult();
            }
        }
    }

    /// <summary>Nothing to do: every write is in the ring (and the peer woken if it asked) when it returns.</summary>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <summary>Closes this end (<c>libxenvchan_close</c>): live byte 0, an event to the peer, then the owner disposed.</summary>
    public override async ValueTask DisposeAsync()
    {
        if (CloseEnd())
        {
            if (_owner is not null)
            {
                await _owner.DisposeAsync().ConfigureAwait(false);
            }
        }

        await base.DisposeAsync().ConfigureAwait(false); // Stream's own state; this end is already closed
    }

    /// <summary>As <see cref="DisposeAsync"/>, blocking until the owner is disposed.</summary>
    protected override void Dispose(bool disposing)
    {
        if (disposing && CloseEnd() && _owner is not null)
        {
            // Stream.Dispose is synchronous; the owner's cleanup (a xenstore remove) is not. Blocking here is what a
            // caller of Dispose asked for; DisposeAsync is the non-blocking way.
            _owner.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }

        base.Dispose(disposing);
    }

    private bool CloseEnd()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return false;
        }

        var spin = new SpinWait();
        while (Volatile.Read(ref _users) != 0)
        {
            spin.SpinOnce(); // a TryRead/TryWrite on another thread finishing its few loads and stores
        }

        Shared.MarkClosed();
        try
        {
            _channel.Notify(); // the peer wakes, sees our live byte 0, reads what is left and ends
        }
        catch (Exception e) when (e is ObjectDisposedException or IOException or InvalidOperationException)
        {
            // The channel is already gone (the owner closed it first): the unmap notification tells the peer instead.
        }

        _pump.Dispose();
        return true;
    }

    private static Memory<byte> RingBuffer(Memory<byte> page, Memory<byte> ownPages, int order, string paramName)
    {
        int inPage = VchanLayout.InPageOffset(order);
        if (inPage >= 0)
        {
            if (!ownPages.IsEmpty)
            {
                ThrowHelper.ThrowArgument($"An order-{order} ring lives in the shared page; pass empty memory, not {ownPages.Length} bytes.", paramName);
            }

            return page.Slice(inPage, 1 << order);
        }

        if (ownPages.Length != 1 << order)
        {
            ThrowHelper.ThrowArgument($"An order-{order} ring needs {1 << order} bytes of its own pages; this memory has {ownPages.Length}.", paramName);
        }

        return ownPages;
    }

    /// <summary>Marks a touch of the shared memory; false once the stream is disposed (then nothing may be touched).</summary>
    private bool TryEnter()
    {
        Interlocked.Increment(ref _users); // a full fence: the disposed flag is read after it, as disposal reads _users after setting the flag
        if (Volatile.Read(ref _disposed) == 0)
        {
            return true;
        }

        Interlocked.Decrement(ref _users);
        return false;
    }

    private void Enter() => ObjectDisposedException.ThrowIf(!TryEnter(), this);

    private void Exit() => Interlocked.Decrement(ref _users);

    /// <summary><c>cli_live</c> now; null once disposed.</summary>
    private VchanLiveState? ClientLive()
    {
        if (!TryEnter())
        {
            return null;
        }

        try
        {
            return Shared.ClientLive;
        }
        finally
        {
            Exit();
        }
    }

    private IOException PeerClosed() =>
        new($"The vchan {(Role == VchanRole.Server ? "client" : "server")} has closed.");
}
