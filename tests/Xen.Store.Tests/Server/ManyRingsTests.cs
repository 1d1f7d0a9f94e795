using System.Diagnostics;
using Xen.Rings.Events;
using Xen.Rings.Memory;
using Xen.Store.Client;
using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Server;

/// <summary>
/// Many guests at once over their rings (what INTRODUCE gives a host's thousand domains): each served, none costing a
/// thread of its own.
/// </summary>
public sealed class ManyRingsTests
{
    [Fact]
    public async Task A_thousand_guests_on_their_rings_are_all_served_without_a_thread_each()
    {
        // Rings are not sockets: each is an asynchronous loop on the thread pool, woken through its event channel. A
        // thread per guest would add a thousand threads here; the bound below is far under that and far over the pool's
        // growth (other tests of the run share the process, so the bound is loose on purpose).
        const int Guests = 1000;
        await using var h = new ServerHarness();
        XenStoreClient dom0 = h.Client();
        int threadsBefore = Process.GetCurrentProcess().Threads.Count;
        var pages = new List<SharedPage>(Guests);
        var guests = new List<XenStoreClient>(Guests);
        try
        {
            for (uint domid = 1; domid <= Guests; domid++)
            {
                await dom0.MkdirAsync($"/local/domain/{domid}", ServerHarness.Guard);
                await dom0.SetPermissionsAsync($"/local/domain/{domid}", [XsPermission.Parse($"n{domid}")], ServerHarness.Guard);
                var page = SharedPage.Allocate();
                pages.Add(page);
                var (back, front) = InProcessEventChannel.CreatePair();
                h.Server.AttachDomainRing(domid, page.Memory, back, ownsChannel: true);
                guests.Add(XenStoreClient.Create(new XenStoreRingTransport(page.Memory, front)));
            }

            await Task.WhenAll(guests.Select(async (g, i) =>
            {
                await g.WriteAsync("data/n", $"{i}", ServerHarness.Guard);
                Assert.Equal($"{i}", await g.ReadStringAsync("data/n", ServerHarness.Guard));
            }));

            Assert.Equal("999", await dom0.ReadStringAsync("/local/domain/1000/data/n", ServerHarness.Guard));
            int added = Process.GetCurrentProcess().Threads.Count - threadsBefore;
            Assert.True(added < Guests / 5, $"{added} threads were added for {Guests} guests");
        }
        finally
        {
            foreach (XenStoreClient g in guests)
            {
                await g.DisposeAsync();
            }

            pages.ForEach(p => p.Dispose());
        }
    }
}
