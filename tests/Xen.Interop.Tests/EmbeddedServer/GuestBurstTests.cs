using Xen.Store.Client;
using Xen.TestSupport.Guests;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// Many guests over their rings sending at the same instant, against C xenstored and our drop-in daemon under the shim:
/// every request is answered. The shim's event channels queue a handle's notifications in one datagram queue of
/// <c>net.unix.max_dgram_qlen</c> (10 by default), so such a burst loses most of them, as an overflowing evtchn device
/// does on a Xen host; C xenstored looks at every ring after each wake-up, and ours sweeps its rings for work no
/// notification announced (<c>XenStoreServer.RingSweepInterval</c>), so neither leaves a guest waiting.
/// </summary>
[Trait("Category", "Interop")]
public class GuestBurstTests(ITestOutputHelper output)
{
    private const int Guests = 60;
    private const int Rounds = 3;

    [Fact]
    public async Task Every_guest_of_a_burst_is_answered_though_notifications_are_lost()
    {
        (List<string> theirs, List<string> ours) = await RefereeScript.RunAsync(XenstoredKind.C, RunAsync, output);

        Assert.Equal(theirs, ours);
        Assert.Equal(Enumerable.Range(1, Rounds).Select(r => $"round {r}: {Guests} of {Guests} answered"), ours);
    }

    private static async Task RunAsync(string socket, string stateDirectory, List<string> log, CancellationToken token)
    {
        await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(socket, cancellationToken: token);
        var guests = new List<RingGuest>(Guests);
        try
        {
            for (uint domain = 1; domain <= Guests; domain++)
            {
                RingGuest guest = await RingGuest.IntroduceAsync(dom0, stateDirectory, domain, 1, token);
                guests.Add(guest);
                await guest.Client.WriteAsync("data/g", $"{domain}", token);
            }

            for (int round = 1; round <= Rounds; round++)
            {
                string[] read = await Task.WhenAll(guests.Select(g => g.Client.ReadStringAsync("data/g", token).AsTask()));
                int answered = read.Where((value, i) => value == $"{guests[i].DomainId}").Count();
                log.Add($"round {round}: {answered} of {Guests} answered");
            }
        }
        finally
        {
            foreach (RingGuest guest in guests)
            {
                await guest.DisposeAsync();
            }
        }
    }
}
