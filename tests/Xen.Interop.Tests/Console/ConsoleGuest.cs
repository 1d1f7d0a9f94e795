using Xen.Rings.Console;
using Xen.Rings.Events;
using Xen.Rings.Memory;
using Xen.Rings.Shim;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>
/// The guest side under test, built only from the library: <see cref="ConsoleFrontend"/> over the console page
/// file (<see cref="SharedPage.MapFile"/>) and the console event channel from
/// <see cref="ShimEventChannels.BindGuest"/>. Every wait is on the event channel, re-checking the ring after each
/// wake-up, as a guest driver does.
/// </summary>
internal sealed class ConsoleGuest : IDisposable
{
    private readonly XenconsoledPeer _console;
    private readonly SharedPage _page;
    private readonly ShimGuestDomain _domain;

    private ConsoleGuest(XenconsoledPeer console, SharedPage page, ShimGuestDomain domain, IEventChannel channel)
    {
        _console = console;
        _page = page;
        _domain = domain;
        Channel = channel;
    }

    /// <summary>The console event channel (guest end).</summary>
    public IEventChannel Channel { get; }

    public uint OutCons => Frontend.Output.Consumer;

    public uint OutProd => Frontend.Output.Producer;

    public uint InCons => Frontend.Input.Consumer;

    public uint InProd => Frontend.Input.Producer;

    private ConsoleFrontend Frontend => new(_page.GetSpan());

    public static ConsoleGuest Attach(XenconsoledPeer console) => Attach(console, console.Guest);

    /// <summary>Attaches to one of the guests <paramref name="console"/> serves.</summary>
    public static ConsoleGuest Attach(XenconsoledPeer console, ConsoleGuestOptions guest)
    {
        SharedPage page = SharedPage.MapFile(console.RingPagePathOf(guest));
        ShimGuestDomain? domain = null;
        try
        {
            domain = ShimEventChannels.BindGuest(console.StateDirectory, guest.DomainId);
            return new ConsoleGuest(console, page, domain, domain.OpenChannel(guest.Port));
        }
        catch
        {
            domain?.Dispose();
            ((IDisposable)page).Dispose();
            throw;
        }
    }

    /// <summary>Opens another channel of the same guest domain (same notification socket).</summary>
    public IEventChannel OpenChannel(uint port) => _domain.OpenChannel(port);

    /// <summary>The ring indices and xenconsoled's output, for failure messages.</summary>
    public string Describe() =>
        $"out_cons={OutCons} out_prod={OutProd} in_cons={InCons} in_prod={InProd}; xenconsoled: {_console.Output}";

    /// <summary>
    /// Writes all of <paramref name="text"/> to <c>out[]</c>, notifying after each write; when the ring is full,
    /// waits for xenconsoled's notification that it consumed some, then tries again.
    /// </summary>
    public Task WriteAllAsync(ReadOnlyMemory<byte> text, bool translateNewlines = false) =>
        Deadline.RunAsync(
            async token =>
            {
                int done = 0;
                while (done < text.Length)
                {
                    int n = translateNewlines
                        ? Frontend.WriteTranslatingNewlines(text.Span[done..])
                        : Frontend.Write(text.Span[done..]);
                    if (n > 0)
                    {
                        done += n;
                        Channel.Notify();
                        continue;
                    }

                    await Channel.WaitAsync(token);
                }
            },
            () => $"xenconsoled did not make room in out[] for the rest of {text.Length} bytes: {Describe()}");

    /// <summary>Waits (on the event channel) until xenconsoled has consumed everything in <c>out[]</c>.</summary>
    public Task WaitUntilOutputConsumedAsync() =>
        Deadline.RunAsync(
            async token =>
            {
                while (OutCons != OutProd)
                {
                    await Channel.WaitAsync(token);
                }
            },
            () => $"xenconsoled did not consume out[] and notify: {Describe()}");

    /// <summary>
    /// Reads exactly <paramref name="byteCount"/> bytes from <c>in[]</c>: takes what is there, acknowledges it
    /// (the consumer index is published by the read) with a notification so xenconsoled refills the ring, and waits
    /// on the event channel when the ring is empty.
    /// </summary>
    public Task<byte[]> ReadExactlyAsync(int byteCount) =>
        Deadline.RunAsync(
            async token =>
            {
                byte[] received = new byte[byteCount];
                int done = 0;
                while (done < byteCount)
                {
                    int n = Frontend.Read(received.AsSpan(done));
                    if (n > 0)
                    {
                        done += n;
                        Channel.Notify();
                        continue;
                    }

                    await Channel.WaitAsync(token);
                }

                return received;
            },
            () => $"the bytes typed into {_console.TtyPath} did not all arrive in in[] ({byteCount} expected): {Describe()}");

    public void Dispose()
    {
        Channel.Dispose();
        _domain.Dispose();
        ((IDisposable)_page).Dispose();
    }
}
