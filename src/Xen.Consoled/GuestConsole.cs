using System.Buffers;
using Xen.Rings;
using Xen.Rings.Console;
using Xen.Consoled.Host;

namespace Xen.Consoled;

/// <summary>
/// The state of one domain's PV console (xenconsoled's <c>struct console</c>): its page, event channel, terminal,
/// log and output buffer. Every field is read and written under the daemon's IO lock; the ring IO methods are called
/// with it held.
/// </summary>
internal sealed class GuestConsole
{
    public GuestConsole(uint domainId, string xenStorePath, ConsoleBuffer buffer)
    {
        DomainId = domainId;
        XenStorePath = xenStorePath;
        Buffer = buffer;
    }

    public uint DomainId { get; }

    /// <summary><c>/local/domain/&lt;id&gt;/console</c>.</summary>
    public string XenStorePath { get; }

    public ConsoleBuffer Buffer { get; }

    public MemoryManager<byte>? Page { get; set; }

    /// <summary>
    /// Whether <c>ring-ref</c> is a grant reference (a secondary console's frontend grants its page) rather than the
    /// frame of a primary console, which is mapped through grant 0 when it can be.
    /// </summary>
    public bool RingRefIsGrant { get; init; }

    /// <summary>The <c>ring-ref</c> the page was mapped from, so a new one remaps it; null when it came from grant 0.</summary>
    public uint? MappedRingRef { get; set; }

    /// <summary>Where output is taken from the ring to (one ring's worth), reused for every event.</summary>
    public byte[] Chunk { get; } = new byte[ConsoleLayout.OutSize];

    /// <summary>xenconsoled's rate limit: events in the current period, and when the period ends (a <see cref="TimeProvider"/> timestamp).</summary>
    public int EventCount { get; set; }

    /// <inheritdoc cref="EventCount"/>
    public long PeriodEnd { get; set; }

    /// <summary>The allowance ran out: output is taken again when the period ends (the guest's events wait, as when xenconsoled leaves the port masked).</summary>
    public bool Deferred { get; set; }

    /// <summary>Under <c>--overflow-data=keep</c> the buffer reached the limit: output is taken again once the pty has drained it.</summary>
    public bool WaitsForDrain { get; set; }

    /// <summary>Runs the deferred output step at the end of the period.</summary>
    public ITimer? PeriodTimer { get; set; }

    public IConsoleChannel? Channel { get; set; }

    public uint? RemotePort { get; set; }

    public PseudoTerminal? Terminal { get; set; }

    public GuestLog? Log { get; set; }

    /// <summary>Set once the console is closed for good (domain gone, or its ring broken): nothing touches it after.</summary>
    public bool IsClosed { get; set; }

    /// <summary>
    /// Set by the terminal loop when it left the pty unread because <c>in[]</c> was full: the guest's next event (it
    /// consumed some) must wake the loop. Otherwise an event that left nothing waiting for the pty needs no wake-up.
    /// </summary>
    public bool InputWaitsForRoom { get; set; }

    /// <summary>
    /// Set by the terminal loop while it polls the pty for writing (output was waiting when it looked): more output then
    /// needs no wake-up, the pty's readiness brings the loop round.
    /// </summary>
    public bool TerminalWatchesOutput { get; set; }

    /// <summary>Whether the page is mapped and the channel bound: the console is being served.</summary>
    public bool IsServed => !IsClosed && Page is not null && Channel is not null;

    /// <summary>Bytes the terminal may put into <c>in[]</c> now (0 when the page is not mapped).</summary>
    /// <exception cref="RingCorruptedException">The guest corrupted the <c>in</c> indices.</exception>
    public int InputRoom => IsServed ? new ConsoleBackend(Page!.GetSpan()).Input.BytesFree : 0;

    /// <summary>
    /// Takes everything the guest wrote to <c>out[]</c> (at most the ring's 2048 bytes), tells the guest, and returns
    /// how much was taken into <paramref name="destination"/>.
    /// </summary>
    /// <exception cref="RingCorruptedException">The guest corrupted the <c>out</c> indices; nothing was taken.</exception>
    public int TakeOutput(Span<byte> destination)
    {
        int n = new ConsoleBackend(Page!.GetSpan()).Read(destination);
        if (n != 0)
        {
            Channel!.Notify(); // out_cons moved: the guest may be waiting for room
        }

        return n;
    }

    /// <summary>Puts what the terminal's client typed into <c>in[]</c> and tells the guest.</summary>
    /// <exception cref="RingCorruptedException">The guest corrupted the <c>in</c> indices.</exception>
    public void PutInput(ReadOnlySpan<byte> input)
    {
        _ = new ConsoleBackend(Page!.GetSpan()).Write(input);
        Channel!.Notify();
    }

    /// <summary>Xen 4.21's <c>connection</c> byte: 0 once the daemon serves the ring.</summary>
    public void MarkConnected() => new ConsoleBackend(Page!.GetSpan()).SetConnected(true);

    public override string ToString() => $"domain {DomainId} console";
}
