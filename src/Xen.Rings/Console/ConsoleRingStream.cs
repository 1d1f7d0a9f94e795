using Xen.Rings.Events;

namespace Xen.Rings.Console;

/// <summary>
/// One end of a console ring as a <see cref="Stream"/>: the guest end reads <c>in</c> and writes <c>out</c>, the
/// backend end reads <c>out</c> and writes <c>in</c>. Reads wait for data and writes wait for room on the peer's
/// notifications (never spinning); every read and write notifies the peer. For pipelines, wrap it with
/// <c>PipeReader.Create(stream)</c> / <c>PipeWriter.Create(stream)</c>: the ring's free space is the backpressure.
/// </summary>
/// <remarks>
/// One read and one write may run concurrently (one consumer and one producer per ring); concurrent reads, or
/// concurrent writes, are not supported. A corrupted ring surfaces as <see cref="RingCorruptedException"/> from
/// the call that finds it. The synchronous <see cref="Read(Span{byte})"/> and <see cref="Write(ReadOnlySpan{byte})"/>
/// block the calling thread while waiting.
/// </remarks>
public sealed class ConsoleRingStream : Stream
{
    private const int ReaderSignal = 0;
    private const int WriterSignal = 1;

    private readonly Memory<byte> _page;
    private readonly IEventChannel _channel;
    private readonly bool _isBackend;
    private readonly bool _leaveOpen;
    private readonly NotificationPump _pump;
    private bool _disposed;

    private ConsoleRingStream(Memory<byte> page, IEventChannel channel, bool isBackend, bool leaveOpen)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ConsoleLayout.CheckPage(page.Length, nameof(page));
        _page = page;
        _channel = channel;
        _isBackend = isBackend;
        _leaveOpen = leaveOpen;
        _pump = new NotificationPump(channel, 2);
    }

    /// <summary>The guest end: reads keyboard input from <c>in</c>, writes console output to <c>out</c>.</summary>
    /// <param name="page">The console page.</param>
    /// <param name="channel">The console event channel.</param>
    /// <param name="leaveOpen">Whether disposing the stream leaves the channel open.</param>
    /// <exception cref="ArgumentException">The page is too small.</exception>
    public static ConsoleRingStream OpenFrontend(Memory<byte> page, IEventChannel channel, bool leaveOpen = true) =>
        new(page, channel, isBackend: false, leaveOpen);

    /// <summary>The backend (console daemon) end: reads console output from <c>out</c>, writes keyboard input to <c>in</c>.</summary>
    /// <param name="page">The console page.</param>
    /// <param name="channel">The console event channel.</param>
    /// <param name="leaveOpen">Whether disposing the stream leaves the channel open.</param>
    /// <exception cref="ArgumentException">The page is too small.</exception>
    public static ConsoleRingStream OpenBackend(Memory<byte> page, IEventChannel channel, bool leaveOpen = true) =>
        new(page, channel, isBackend: true, leaveOpen);

    /// <inheritdoc/>
    public override bool CanRead => !_disposed;

    /// <inheritdoc/>
    public override bool CanWrite => !_disposed;

    /// <inheritdoc/>
    public override bool CanSeek => false;

    /// <summary>Bytes that can be read now without waiting.</summary>
    public int BytesAvailable => ReadRing.BytesAvailable;

    /// <inheritdoc/>
    public override long Length => throw new NotSupportedException();

    /// <inheritdoc/>
    public override long Position
    {
        get => throw new NotSupportedException();
        set => throw new NotSupportedException();
    }

    private ByteRing ReadRing => _isBackend ? new ConsoleBackend(_page.Span).Output : new ConsoleFrontend(_page.Span).Input;

    private ByteRing WriteRing => _isBackend ? new ConsoleBackend(_page.Span).Input : new ConsoleFrontend(_page.Span).Output;

    /// <summary>Reads at least one byte, waiting for the peer if the ring is empty.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; nothing was consumed.</exception>
    /// <exception cref="RingCorruptedException">The peer corrupted the ring indices.</exception>
    public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (buffer.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            int n = TryRead(buffer.Span);
            if (n != 0)
            {
                return n;
            }

            await _pump.WaitAsync(ReaderSignal, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Writes every byte, waiting for the peer to free space whenever the ring is full.</summary>
    /// <exception cref="OperationCanceledException">Cancelled; the bytes already in the ring stay there.</exception>
    /// <exception cref="RingCorruptedException">The peer corrupted the ring indices.</exception>
    public override async ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            buffer = buffer[TryWrite(buffer.Span)..];
            if (buffer.IsEmpty)
            {
                return;
            }

            await _pump.WaitAsync(WriterSignal, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Reads what is available now without waiting, and notifies the peer if anything was read.</summary>
    /// <returns>Bytes read (0 when the ring is empty).</returns>
    /// <exception cref="RingCorruptedException">The peer corrupted the ring indices.</exception>
    public int TryRead(Span<byte> buffer)
    {
        int n = ReadRing.Read(buffer);
        if (n != 0)
        {
            _channel.Notify();
        }

        return n;
    }

    /// <summary>Writes what fits now without waiting, and notifies the peer if anything was written.</summary>
    /// <returns>Bytes written (0 when the ring is full).</returns>
    /// <exception cref="RingCorruptedException">The peer corrupted the ring indices.</exception>
    public int TryWrite(ReadOnlySpan<byte> buffer)
    {
        int n = WriteRing.Write(buffer);
        if (n != 0)
        {
            _channel.Notify();
        }

        return n;
    }

    /// <inheritdoc/>
    public override Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        ReadAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
        WriteAsync(buffer.AsMemory(offset, count), cancellationToken).AsTask();

    /// <inheritdoc/>
    public override int Read(byte[] buffer, int offset, int count) => Read(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override int Read(Span<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            int n = TryRead(buffer);
            if (n != 0 || buffer.IsEmpty)
            {
                return n;
            }

            _pump.WaitAsync(ReaderSignal, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
    }

    /// <inheritdoc/>
    public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

    /// <inheritdoc/>
    public override void Write(ReadOnlySpan<byte> buffer)
    {
        ObjectDisposedException.ThrowIf(_disposed, this);
        while (true)
        {
            buffer = buffer[TryWrite(buffer)..];
            if (buffer.IsEmpty)
            {
                return;
            }

            _pump.WaitAsync(WriterSignal, CancellationToken.None).AsTask().GetAwaiter().GetResult();
        }
    }

    /// <summary>Nothing to do: every write is in the ring (and the peer notified) when it returns.</summary>
    public override void Flush()
    {
    }

    /// <inheritdoc/>
    public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

    /// <inheritdoc/>
    public override void SetLength(long value) => throw new NotSupportedException();

    /// <inheritdoc/>
    protected override void Dispose(bool disposing)
    {
        if (disposing && !_disposed)
        {
            _disposed = true;
            _pump.Dispose();
            if (!_leaveOpen)
            {
                _channel.Dispose();
            }
        }

        base.Dispose(disposing);
    }
}
