using System.Runtime.InteropServices;
using Microsoft.Extensions.Logging;
using Xen.Consoled.Native;
using Xen.Rings;

namespace Xen.Consoled;

/// <summary>
/// The one thread that moves bytes between the consoles and their pseudo-terminals, as xenconsoled's <c>poll</c> loop
/// does: each terminal master is polled for reading while its guest's <c>in[]</c> has room and for writing while output
/// waits in its buffer; an eventfd wakes the loop when either changes. Guest output itself is taken from the rings by
/// the consoles' event-channel tasks, which then try the terminal at once and leave the rest to this loop.
/// </summary>
/// <remarks>
/// Cost: one thread for every console together, one <c>poll</c> per wake-up over the terminals that have work; a
/// terminal nobody reads costs nothing but its buffer, which <see cref="ConsoleBuffer"/> bounds.
/// </remarks>
internal sealed unsafe class TerminalLoop : IDisposable
{
    private const int InputChunk = 1024;
    private readonly object _gate;
    private readonly Func<IReadOnlyCollection<GuestConsole>> _consoles;
    private readonly Action<GuestConsole, string> _broken;
    private readonly Action<GuestConsole> _drained;
    private readonly ILogger _logger;
    private readonly int _wake;
    private readonly Thread _thread;
    private volatile bool _stopping;

    /// <param name="gate">The daemon's IO lock (held while a console is touched).</param>
    /// <param name="consoles">The consoles now (called with <paramref name="gate"/> held).</param>
    /// <param name="broken">Closes a console whose ring or terminal failed (called with <paramref name="gate"/> held).</param>
    /// <param name="drained">Takes output again for a console whose buffer was at its limit and is not now (called with <paramref name="gate"/> held).</param>
    /// <param name="logger">Where failures are reported.</param>
    /// <exception cref="IOException">The eventfd could not be made.</exception>
    public TerminalLoop(object gate, Func<IReadOnlyCollection<GuestConsole>> consoles, Action<GuestConsole, string> broken, Action<GuestConsole> drained, ILogger logger)
    {
        _gate = gate;
        _consoles = consoles;
        _broken = broken;
        _drained = drained;
        _logger = logger;
        _wake = LibC.EventFd(0, LibC.EfdNonBlock | LibC.EfdCloExec);
        if (_wake < 0)
        {
            throw new IOException($"eventfd failed: errno {Marshal.GetLastPInvokeError()}");
        }

        _thread = new Thread(Run) { IsBackground = true, Name = "xen console terminals" };
        _thread.Start();
    }

    /// <summary>Makes the loop look at every console again (new output, room in a ring, a console added or closed).</summary>
    public void Wake()
    {
        ulong one = 1;
        _ = LibC.Write(_wake, (byte*)&one, sizeof(ulong));
    }

    /// <summary>
    /// Writes what waits in the console's buffer to its terminal, as far as the terminal takes it now. Called with the
    /// IO lock held, by the loop and by an output task right after taking output.
    /// </summary>
    public void Flush(GuestConsole console)
    {
        if (console.Terminal is not PseudoTerminal terminal)
        {
            return;
        }

        bool wasFull = !console.Buffer.CanTakeMore;
        while (!console.Buffer.IsEmpty)
        {
            int n = terminal.Write(console.Buffer.Pending, out int errno);
            if (n < 0)
            {
                _broken(console, $"writing its terminal {terminal.SlavePath} failed: errno {errno}");
                return;
            }

            if (n == 0)
            {
                break; // the client is not reading: the rest waits for POLLOUT
            }

            console.Buffer.Advance(n);
        }

        if (wasFull && console.Buffer.CanTakeMore)
        {
            _drained(console);
        }
    }

    public void Dispose()
    {
        _stopping = true;
        Wake();
        _thread.Join();
        _ = LibC.Close(_wake);
    }

    private void Run()
    {
        var polled = new List<GuestConsole>();
        LibC.PollFd[] fds = new LibC.PollFd[16];
        byte* input = stackalloc byte[InputChunk];
        while (!_stopping)
        {
            int count = 1;
            polled.Clear();
            lock (_gate)
            {
                foreach (GuestConsole console in _consoles())
                {
                    short events = Interest(console);
                    if (events == 0)
                    {
                        continue;
                    }

                    if (count == fds.Length)
                    {
                        Array.Resize(ref fds, fds.Length * 2);
                    }

                    fds[count++] = new LibC.PollFd { Fd = console.Terminal!.MasterDescriptor, Events = events };
                    polled.Add(console);
                }
            }

            fds[0] = new LibC.PollFd { Fd = _wake, Events = LibC.PollIn };
            int ready;
            fixed (LibC.PollFd* p = fds)
            {
                ready = LibC.Poll(p, (nuint)count, -1);
            }

            if (ready < 0)
            {
                int errno = Marshal.GetLastPInvokeError();
                if (errno == LibC.EIntr)
                {
                    continue;
                }

                Log.PollFailed(_logger, errno);
                return;
            }

            if ((fds[0].REvents & LibC.PollIn) != 0)
            {
                ulong value;
                _ = LibC.Read(_wake, (byte*)&value, sizeof(ulong));
            }

            lock (_gate)
            {
                for (int i = 0; i < polled.Count; i++)
                {
                    Serve(polled[i], fds[i + 1], new Span<byte>(input, InputChunk));
                }
            }
        }
    }

    /// <summary>What to poll a console's terminal for now (called with the IO lock held).</summary>
    private short Interest(GuestConsole console)
    {
        if (!console.IsServed || console.Terminal is null)
        {
            return 0;
        }

        short events = 0;
        try
        {
            if (console.InputRoom > 0)
            {
                events |= LibC.PollIn;
                console.InputWaitsForRoom = false;
            }
            else
            {
                console.InputWaitsForRoom = true; // the guest's next event (it consumed in[]) must wake the loop
            }
        }
        catch (RingCorruptedException e)
        {
            _broken(console, e.Message);
            return 0;
        }

        if (!console.Buffer.IsEmpty)
        {
            events |= LibC.PollOut;
        }

        console.TerminalWatchesOutput = (events & LibC.PollOut) != 0;
        return events;
    }

    private void Serve(GuestConsole console, LibC.PollFd fd, Span<byte> input)
    {
        if (!console.IsServed || console.Terminal is not PseudoTerminal terminal || terminal.MasterDescriptor != fd.Fd)
        {
            return; // closed or remade since the poll
        }

        if ((fd.REvents & (LibC.PollErr | LibC.PollNval)) != 0)
        {
            _broken(console, $"its terminal {terminal.SlavePath} failed (poll events 0x{fd.REvents:x})");
            return;
        }

        try
        {
            if ((fd.REvents & LibC.PollIn) != 0)
            {
                int room = console.InputRoom;
                int n = terminal.Read(input[..Math.Min(room, input.Length)], out int errno);
                if (n < 0)
                {
                    _broken(console, $"reading its terminal {terminal.SlavePath} failed: errno {errno}");
                    return;
                }

                if (n > 0)
                {
                    console.PutInput(input[..n]);
                }
            }

            if ((fd.REvents & LibC.PollOut) != 0)
            {
                Flush(console);
            }
        }
        catch (RingCorruptedException e)
        {
            _broken(console, e.Message);
        }
    }
}
