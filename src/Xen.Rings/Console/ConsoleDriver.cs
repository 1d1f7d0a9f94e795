using System.Numerics;
using Xen.Rings.Events;

namespace Xen.Rings.Console;

/// <summary>
/// A guest console driver over a console page: the behaviour of Linux's Xen virtual console (xencons) as a
/// reusable writer and reader. Output goes through a transmit buffer in front of the <c>out</c> ring and is
/// flushed as the backend frees space; a flow-control character jumps the queue; input is read from the
/// <c>in</c> ring with the magic-SysRq sequence filtered out.
/// </summary>
/// <remarks>
/// <para>
/// Design. The transmit buffer is a power-of-two array with its own masked free-running indices
/// (<c>wc</c>/<c>wp</c>: write consumer and producer). <see cref="Write"/> appends what fits (the write room) and
/// flushes; every notification from the backend flushes again, because a notification means the backend
/// consumed something. A pending flow-control character (<c>x_char</c>) is always sent before buffered data.
/// One lock (the console lock) guards the buffer, <c>x_char</c> and both rings; notifications are sent outside it.
/// </para>
/// <para>
/// One background loop owns the event channel and wakes both the readers and the writers, so neither can take
/// the other's wake-up. Dispose the driver to stop it (buffered output is dropped: call
/// <see cref="ForceFlush"/> or <see cref="FlushAsync"/> first).
/// </para>
/// </remarks>
public sealed class ConsoleDriver : IDisposable
{
    private const int ReaderSignal = 0;
    private const int WriterSignal = 1;

    private readonly Memory<byte> _page;
    private readonly IEventChannel _channel;
    private readonly ConsoleDriverOptions _options;
    private readonly byte[] _buffer;
    private readonly uint _mask;
    private readonly object _lock = new();
    private readonly NotificationPump _pump;
    private uint _wc;
    private uint _wp;
    private byte _xChar;
    private long _sysRqRequestedAt = -1;

    /// <summary>Creates the driver over a console page and the console's event channel.</summary>
    /// <param name="page">The console page (see <see cref="ConsoleLayout"/>); the guest end.</param>
    /// <param name="channel">The console event channel (the driver does not dispose it).</param>
    /// <param name="options">Settings; <see langword="null"/> for the defaults.</param>
    /// <exception cref="ArgumentException">The page is too small.</exception>
    /// <exception cref="ArgumentOutOfRangeException">The buffer size is not positive or above 2^30.</exception>
    public ConsoleDriver(Memory<byte> page, IEventChannel channel, ConsoleDriverOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ConsoleLayout.CheckPage(page.Length, nameof(page));
        _options = options ?? new ConsoleDriverOptions();
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(_options.TransmitBufferSize, nameof(options));
        ArgumentOutOfRangeException.ThrowIfGreaterThan(_options.TransmitBufferSize, 1 << 30, nameof(options));
        _page = page;
        _channel = channel;
        _buffer = new byte[BitOperations.RoundUpToPowerOf2((uint)_options.TransmitBufferSize)];
        _mask = (uint)_buffer.Length - 1;
        _pump = new NotificationPump(channel, 2, () => Flush());
        Flush(); // in case of in-flight data after a resume, as the driver does at init
    }

    /// <summary>The transmit buffer's size (a power of two).</summary>
    public int TransmitBufferSize => _buffer.Length;

    /// <summary><c>write_room</c>: bytes <see cref="Write"/> can take now.</summary>
    public int WriteRoom
    {
        get
        {
            lock (_lock)
            {
                return _buffer.Length - (int)unchecked(_wp - _wc);
            }
        }
    }

    /// <summary><c>chars_in_buffer</c>: bytes buffered and not yet in the ring.</summary>
    public int CharsInBuffer
    {
        get
        {
            lock (_lock)
            {
                return (int)unchecked(_wp - _wc);
            }
        }
    }

    /// <summary>
    /// Appends as much of <paramref name="data"/> as the transmit buffer has room for (with
    /// <see cref="ConsoleDriverOptions.TranslateNewlines"/>, a <c>\n</c> is taken only when its <c>\r\n</c> fits),
    /// then flushes to the ring and notifies the backend if anything moved. Never blocks.
    /// </summary>
    /// <returns>Bytes of <paramref name="data"/> accepted.</returns>
    /// <exception cref="RingCorruptedException">The backend corrupted the <c>out</c> indices.</exception>
    public int Write(ReadOnlySpan<byte> data)
    {
        int accepted = 0;
        lock (_lock)
        {
            uint size = (uint)_buffer.Length;
            foreach (byte b in data)
            {
                uint need = b == (byte)'\n' && _options.TranslateNewlines ? 2u : 1u;
                if (unchecked(_wp - _wc) + need > size)
                {
                    break;
                }

                if (need == 2)
                {
                    _buffer[_wp++ & _mask] = (byte)'\r';
                }

                _buffer[_wp++ & _mask] = b;
                accepted++;
            }
        }

        if (accepted != 0)
        {
            Flush();
        }

        return accepted;
    }

    /// <summary>
    /// Writes all of <paramref name="data"/>, waiting (on the backend's notifications, not spinning) whenever the
    /// buffer is full.
    /// </summary>
    /// <exception cref="OperationCanceledException">Cancelled; the bytes accepted so far stay buffered.</exception>
    /// <exception cref="RingCorruptedException">The backend corrupted the <c>out</c> indices.</exception>
    public async ValueTask WriteAsync(ReadOnlyMemory<byte> data, CancellationToken cancellationToken = default)
    {
        while (true)
        {
            data = data[Write(data.Span)..];
            if (data.IsEmpty)
            {
                return;
            }

            await _pump.WaitAsync(WriterSignal, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary><c>put_char</c>: buffers one byte without flushing.</summary>
    /// <returns>Whether there was room.</returns>
    public bool PutChar(byte value)
    {
        lock (_lock)
        {
            if (unchecked(_wp - _wc) == (uint)_buffer.Length)
            {
                return false;
            }

            _buffer[_wp++ & _mask] = value;
            return true;
        }
    }

    /// <summary>
    /// <c>send_xchar</c>: queues a high-priority character (flow control) to go out before anything buffered,
    /// and flushes. A second call before it is sent replaces it.
    /// </summary>
    /// <exception cref="RingCorruptedException">The backend corrupted the <c>out</c> indices.</exception>
    public void SendXChar(byte value)
    {
        lock (_lock)
        {
            _xChar = value;
        }

        Flush();
    }

    /// <summary><c>throttle</c>: asks the backend to stop sending input by sending the STOP character (XOFF) ahead of buffered data.</summary>
    public void Throttle() => SendXChar(_options.StopCharacter);

    /// <summary>
    /// <c>unthrottle</c>: if a STOP is still waiting to go out, cancels it; otherwise sends the START character (XON).
    /// </summary>
    public void Unthrottle()
    {
        lock (_lock)
        {
            if (_xChar != 0)
            {
                _xChar = 0;
                return;
            }

            _xChar = _options.StartCharacter;
        }

        Flush();
    }

    /// <summary><c>flush_buffer</c>: discards buffered output that has not reached the ring.</summary>
    public void DiscardBuffer()
    {
        lock (_lock)
        {
            _wc = _wp = 0;
        }
    }

    /// <summary>
    /// <c>flush_chars</c>: moves the pending flow-control character, then as much buffered output as the ring
    /// has room for, into the <c>out</c> ring, and notifies the backend if anything moved.
    /// </summary>
    /// <returns>Bytes moved into the ring.</returns>
    /// <exception cref="RingCorruptedException">The backend corrupted the <c>out</c> indices.</exception>
    public int Flush()
    {
        int moved = 0;
        lock (_lock)
        {
            ByteRing output = new ConsoleFrontend(_page.Span).Output;
            if (_xChar != 0)
            {
                if (output.Write([_xChar]) == 0)
                {
                    return 0; // x_char first: nothing else may overtake it
                }

                _xChar = 0;
                moved = 1;
            }

            while (_wc != _wp)
            {
                uint offset = _wc & _mask;
                int chunk = (int)Math.Min(unchecked(_wp - _wc), (uint)_buffer.Length - offset);
                int sent = output.Write(_buffer.AsSpan((int)offset, chunk));
                if (sent == 0)
                {
                    break;
                }

                _wc = unchecked(_wc + (uint)sent);
                moved += sent;
            }
        }

        if (moved != 0)
        {
            _channel.Notify();
        }

        return moved;
    }

    /// <summary>Waits (on notifications) until the transmit buffer and any flow-control character have reached the ring.</summary>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="RingCorruptedException">The backend corrupted the <c>out</c> indices.</exception>
    public async ValueTask FlushAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            Flush();
            if (IsDrained())
            {
                return;
            }

            await _pump.WaitAsync(WriterSignal, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// <c>xencons_force_flush</c>: before dying, pushes everything buffered into the ring, spinning (no
    /// notifications needed) until it is done or <paramref name="timeout"/> passes.
    /// </summary>
    /// <returns>Whether everything reached the ring.</returns>
    /// <exception cref="RingCorruptedException">The backend corrupted the <c>out</c> indices.</exception>
    public bool ForceFlush(TimeSpan timeout)
    {
        long deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        var spin = default(SpinWait);
        while (true)
        {
            Flush();
            if (IsDrained())
            {
                return true;
            }

            if (Environment.TickCount64 >= deadline)
            {
                return false;
            }

            spin.SpinOnce();
        }
    }

    /// <summary>
    /// Reads available input from the <c>in</c> ring into <paramref name="destination"/>, removing magic-SysRq
    /// sequences (reported to <see cref="ConsoleDriverOptions.SysRqHandler"/>), and notifies the backend that space
    /// was freed. Never blocks.
    /// </summary>
    /// <returns>Bytes stored in <paramref name="destination"/> (0 when nothing is available or all of it was SysRq).</returns>
    /// <exception cref="RingCorruptedException">The backend corrupted the <c>in</c> indices.</exception>
    public int Read(Span<byte> destination)
    {
        int stored = 0;
        int consumed = 0;
        Action<byte>? handler = _options.SysRqHandler;
        var keys = new SysRqKeys();
        lock (_lock)
        {
            ByteRing input = new ConsoleFrontend(_page.Span).Input;
            ByteRingReadReservation unread = input.GetReadSegments();
            ReadOnlySpan<byte> first = unread.First;
            ReadOnlySpan<byte> second = unread.Second;
            int available = first.Length + second.Length;
            while (consumed < available && stored < destination.Length)
            {
                byte b = consumed < first.Length ? first[consumed] : second[consumed - first.Length];
                consumed++;
                if (handler is not null && FilterSysRq(b, ref keys))
                {
                    continue;
                }

                destination[stored++] = b;
            }

            if (consumed != 0)
            {
                input.Advance(unread, consumed);
            }
        }

        if (consumed != 0)
        {
            _channel.Notify();
            Flush(); // as the driver's input handler does: the backend may be waiting on us either way
        }

        keys.Deliver(handler);
        return stored;
    }

    /// <summary>Reads input, waiting (on notifications) until at least one byte is available.</summary>
    /// <returns>Bytes stored; 0 only when <paramref name="destination"/> is empty.</returns>
    /// <exception cref="OperationCanceledException">Cancelled.</exception>
    /// <exception cref="RingCorruptedException">The backend corrupted the <c>in</c> indices.</exception>
    public async ValueTask<int> ReadAsync(Memory<byte> destination, CancellationToken cancellationToken = default)
    {
        if (destination.IsEmpty)
        {
            return 0;
        }

        while (true)
        {
            int n = Read(destination.Span);
            if (n != 0)
            {
                return n;
            }

            await _pump.WaitAsync(ReaderSignal, cancellationToken).ConfigureAwait(false);
        }
    }

    /// <summary>Stops the notification loop. Pending waits fail with <see cref="ObjectDisposedException"/>. The channel is not disposed.</summary>
    public void Dispose() => _pump.Dispose();

    private bool IsDrained()
    {
        lock (_lock)
        {
            return _wc == _wp && _xChar == 0;
        }
    }

    // xencons_rx: ^O starts a SysRq request; the next key within the window is the SysRq key.
    private bool FilterSysRq(byte b, ref SysRqKeys keys)
    {
        if (b == 0x0F)
        {
            _sysRqRequestedAt = _options.TimeProvider.GetTimestamp();
            return true;
        }

        if (_sysRqRequestedAt >= 0)
        {
            long requestedAt = _sysRqRequestedAt;
            _sysRqRequestedAt = -1;
            if (_options.TimeProvider.GetElapsedTime(requestedAt) < _options.SysRqWindow)
            {
                keys.Add(b);
                return true;
            }
        }

        return false;
    }

    // SysRq keys found under the lock, delivered after it is released (the handler may call back into the driver).
    private struct SysRqKeys
    {
        private List<byte>? _keys;

        public void Add(byte key) => (_keys ??= []).Add(key);

        public readonly void Deliver(Action<byte>? handler)
        {
            if (_keys is null || handler is null)
            {
                return;
            }

            foreach (byte key in _keys)
            {
                handler(key);
            }
        }
    }
}
