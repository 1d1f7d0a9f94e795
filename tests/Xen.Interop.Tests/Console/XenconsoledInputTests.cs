using Xen.Rings.Console;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>Our console frontend as the guest, the real xenconsoled as the backend: the input direction.</summary>
[Trait("Category", "Interop")]
public class XenconsoledInputTests
{
    /// <summary>The daemon under test: the real xenconsoled here, ours in the derived class.</summary>
    protected virtual ConsoleDaemonKind Daemon => ConsoleDaemonKind.Xenconsoled;

    [Theory]
    [InlineData(0u)]
    [InlineData(0xFFFF_FE00u)] // the indices cross 2^32 during the first round
    public async Task Bytes_typed_into_the_pty_arrive_in_order_and_acknowledging_them_lets_more_than_the_ring_through(uint startIndex)
    {
        await using var store = await XenstoredPeer.StartAsync();
        await using var console = await XenconsoledPeer.StartAsync(store, new ConsoleGuestOptions
        {
            PreparePage = page => new ConsoleFrontend(page).Reset(startIndex),
        }, Daemon);
        using var guest = ConsoleGuest.Attach(console);
        await using FileStream tty = await console.OpenTtyAsync();

        // Every byte value, three times the size of in[]: xenconsoled stops reading the pty while in[] is full,
        // so all of it arrives only if it sees our in_cons move and is woken by our notifications.
        byte[] typed = new byte[3 * ConsoleLayout.InSize];
        for (int i = 0; i < typed.Length; i++)
        {
            typed[i] = (byte)((i * 7) + (i / 256));
        }

        Task typing = Task.Run(() => tty.Write(typed));
        byte[] received = await guest.ReadExactlyAsync(typed.Length);
        await Deadline.RunAsync(token => typing.WaitAsync(token), () => $"writing to {console.TtyPath} did not finish");
        Assert.Equal(typed, received);
        Assert.Equal(unchecked(startIndex + (uint)typed.Length), guest.InProd);
        Assert.Equal(guest.InProd, guest.InCons);

        // xenconsoled's bookkeeping is still consistent: the next input follows on directly.
        byte[] more = "second round\r"u8.ToArray();
        await tty.WriteAsync(more);
        Assert.Equal(more, await guest.ReadExactlyAsync(more.Length));
        Assert.Equal(unchecked(startIndex + (uint)(typed.Length + more.Length)), guest.InCons);
        Assert.Equal(guest.InProd, guest.InCons);
    }
}
