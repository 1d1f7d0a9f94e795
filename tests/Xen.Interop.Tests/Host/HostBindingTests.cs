using System.Text;
using Xen.Rings.Events;
using Xen.Rings.Shim;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Host;

/// <summary>
/// Xen.Rings' host bindings (<c>EventChannels</c>, <c>GrantTable</c>, <c>GrantSharer</c>, <c>ForeignMemory</c>,
/// <c>XenControl</c>) in a process started as Xen's daemons are started without a hypervisor: Xen's real libraries,
/// with the shim of <c>../shared/peers</c> preloaded in front of them. Each call is checked from outside, through the
/// files and sockets the stand-in hypervisor keeps, or by a second process playing another domain.
/// </summary>
[Trait("Category", "Interop")]
public sealed class HostBindingTests : IAsyncLifetime
{
    private const uint Guest = 5;
    private ShimDirectory _shim = null!;

    public async Task InitializeAsync() => _shim = await ShimDirectory.CreateAsync();

    public Task DisposeAsync()
    {
        _shim.Dispose();
        return Task.CompletedTask;
    }

    [Fact]
    public async Task Without_the_preloaded_shim_the_real_library_is_called_and_its_failure_names_the_call_and_errno()
    {
        using HostProbe probe = HostProbe.Start(_shim, preload: false);

        // No Xen here: the real libxenevtchn finds no /dev/xen/evtchn (ENOENT). Under the shim the same open succeeds
        // (every other test), so the bindings resolve symbols in the global scope, as a linked C program does.
        string answer = await probe.SendAsync("open-evtchn");
        Assert.StartsWith("error XenHostException 2 xenevtchn_open failed", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_interdomain_port_wakes_on_the_guests_kick_and_its_notify_reaches_the_guest()
    {
        using HostProbe probe = HostProbe.Start(_shim);
        await probe.OkAsync("open");
        string[] bound = await probe.OkAsync($"bind-interdomain {Guest} 7");
        Assert.True(File.Exists(_shim.File($"port-{Guest}-7")), "the bind made the channel's socket");

        using ShimGuestDomain guest = ShimEventChannels.BindGuest(_shim.Path, Guest);
        using IEventChannel guestEnd = guest.OpenChannel(7);
        guestEnd.Notify();
        await probe.OkAsync($"wait {bound[0]}");

        await probe.OkAsync($"notify {bound[0]}");
        await Deadline.RunAsync(token => guestEnd.WaitAsync(token).AsTask(), () => "the back end's notify did not reach the guest");

        await probe.OkAsync($"unbind {bound[0]}");
        Assert.False(File.Exists(_shim.File($"port-{Guest}-7")), "the unbind removed the channel");
    }

    [Fact]
    public async Task An_event_handler_runs_for_each_kick_on_the_poller_thread_instead_of_the_wait()
    {
        using HostProbe probe = HostProbe.Start(_shim);
        await probe.OkAsync("open");
        string[] bound = await probe.OkAsync($"bind-interdomain {Guest} 7");
        await probe.OkAsync($"handle {bound[0]}");

        using ShimGuestDomain guest = ShimEventChannels.BindGuest(_shim.Path, Guest);
        using IEventChannel guestEnd = guest.OpenChannel(7);
        for (int kick = 1; kick <= 3; kick++)
        {
            guestEnd.Notify();
            string[] handled = [];
            await Deadline.PollAsync(
                () => int.Parse((handled = probe.OkAsync("handled").GetAwaiter().GetResult())[0], System.Globalization.CultureInfo.InvariantCulture) >= kick,
                () => $"the handler ran {string.Join(' ', handled)} times for {kick} kicks");
            Assert.Equal("other-thread", handled[1]); // the poller's thread, not the probe's command thread
        }
    }

    [Fact]
    public async Task A_virq_wakes_when_the_hypervisor_raises_it_and_cannot_be_notified()
    {
        using HostProbe probe = HostProbe.Start(_shim);
        await probe.OkAsync("open");
        string[] virq = await probe.OkAsync("bind-virq 3");

        ShimEventChannels.RaiseVirq(_shim.Path, ShimEventChannels.VirqDomainException);
        await probe.OkAsync($"wait {virq[0]}");
        Assert.StartsWith("error NotSupportedException", await probe.SendAsync($"notify {virq[0]}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_closed_event_channel_handle_refuses_notify_and_bind_with_ObjectDisposedException()
    {
        using HostProbe probe = HostProbe.Start(_shim);
        await probe.OkAsync("open");
        string[] port = await probe.OkAsync($"bind-interdomain {Guest} 8");
        await probe.OkAsync("close-evtchn");

        Assert.StartsWith("error ObjectDisposedException", await probe.SendAsync($"notify {port[0]}"), StringComparison.Ordinal);
        Assert.StartsWith("error ObjectDisposedException", await probe.SendAsync($"bind-interdomain {Guest} 9"), StringComparison.Ordinal);
        Assert.StartsWith("error ObjectDisposedException", await probe.SendAsync($"wait {port[0]}"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_reserved_grants_map_the_guests_xenstore_and_console_pages_shared_with_the_guest()
    {
        await File.WriteAllBytesAsync(_shim.File($"xs-ring-{Guest}"), Page("xenstore-page"));
        await File.WriteAllBytesAsync(_shim.File($"cons-ring-{Guest}"), Page("console-page"));
        using HostProbe probe = HostProbe.Start(_shim);
        await probe.OkAsync("open");

        string[] xenstore = await probe.OkAsync($"map-grant {Guest} 1");
        Assert.Equal("4096", xenstore[1]);
        Assert.Equal(["xenstore-page"], (await probe.OkAsync($"read {xenstore[0]} 0 13")));
        string[] console = await probe.OkAsync($"map-grant {Guest} 0");
        Assert.Equal(["console-page"], (await probe.OkAsync($"read {console[0]} 0 12")));

        await probe.OkAsync($"write {xenstore[0]} 100 from-the-backend");
        Assert.Equal("from-the-backend", Encoding.ASCII.GetString(File.ReadAllBytes(_shim.File($"xs-ring-{Guest}")), 100, 16));
        await probe.OkAsync($"unmap {xenstore[0]}");
        Assert.StartsWith("error ObjectDisposedException", await probe.SendAsync($"read {xenstore[0]} 0 1"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Several_grants_map_as_one_contiguous_range_in_order()
    {
        await File.WriteAllBytesAsync(_shim.File($"gnt-{Guest}-20"), Page("first"));
        await File.WriteAllBytesAsync(_shim.File($"gnt-{Guest}-21"), Page("second"));
        using HostProbe probe = HostProbe.Start(_shim);
        await probe.OkAsync("open");

        string[] range = await probe.OkAsync($"map-grants {Guest} 20 21");
        Assert.Equal("8192", range[1]);
        Assert.Equal(["first"], await probe.OkAsync($"read {range[0]} 0 5"));
        Assert.Equal(["second"], await probe.OkAsync($"read {range[0]} 4096 6"));
    }

    [Fact]
    public async Task A_grant_nobody_made_fails_to_map_with_ENOENT_naming_the_domain_and_ref()
    {
        using HostProbe probe = HostProbe.Start(_shim);
        await probe.OkAsync("open");
        string[] port = await probe.OkAsync($"bind-interdomain {Guest} 7");

        string answer = await probe.SendAsync($"map-notify {Guest} 77 0 {port[0]}");
        Assert.StartsWith("error XenHostException 2 xengnttab_map_grant_ref_notify(domain 5, ref 77) failed", answer, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Grant_copy_writes_and_reads_a_guests_grant_without_mapping_it()
    {
        using HostProbe probe = HostProbe.Start(_shim);
        await probe.OkAsync("open");

        Assert.Equal(["Okay"], await probe.OkAsync($"copy-to {Guest} 9 16 copied-in"));
        Assert.Equal("copied-in", Encoding.ASCII.GetString(File.ReadAllBytes(_shim.File($"gnt-{Guest}-9")), 16, 9));
        Assert.Equal(["Okay", "copied"], await probe.OkAsync($"copy-from {Guest} 9 16 6"));
    }

    [Fact]
    public async Task Foreign_memory_maps_a_guest_frame_and_reports_what_the_stand_in_refuses()
    {
        await File.WriteAllBytesAsync(_shim.File($"pfn-{Guest}-{0xfeff0}"), Page("frame"));
        using HostProbe probe = HostProbe.Start(_shim);
        await probe.OkAsync("open");

        string[] frame = await probe.OkAsync($"foreign {Guest} feff0");
        Assert.Equal(["frame"], await probe.OkAsync($"read {frame[0]} 0 5"));

        // The stand-in maps one frame per call; the error is the library's errno, not a crash.
        Assert.StartsWith("error XenHostException 22 xenforeignmemory_map", await probe.SendAsync($"foreign {Guest} 1 2"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Domain_info_follows_the_hypervisors_domains_as_they_die()
    {
        using HostProbe probe = HostProbe.Start(_shim);
        await probe.OkAsync("open");

        Assert.Equal(["exists", "5", "dying=False", "shutdown=False", "running=True"], await probe.OkAsync($"domain {Guest}"));
        File.WriteAllText(_shim.File($"dead-{Guest}"), "");
        Assert.Equal(["absent"], await probe.OkAsync($"domain {Guest}"));

        Directory.CreateDirectory(_shim.File("domains"));
        File.WriteAllText(_shim.File("domains/3"), "");
        File.WriteAllText(_shim.File("domains/9"), "");
        Assert.Equal(["3,9"], await probe.OkAsync("domains"));
        Assert.Equal(["absent"], await probe.OkAsync("domain 4"));
    }

    [Fact]
    public async Task Two_processes_as_two_domains_share_a_page_and_notify_each_other_both_ways()
    {
        using HostProbe front = HostProbe.Start(_shim, domainId: 1);
        using HostProbe back = HostProbe.Start(_shim, domainId: 2);
        await front.OkAsync("open");
        await back.OkAsync("open");

        string[] shared = await front.OkAsync("share 2 1");
        string grantRef = shared[2];
        string[] frontPort = await front.OkAsync("bind-unbound 2");

        string[] mapped = await back.OkAsync($"map-grant 1 {grantRef}");
        string[] backPort = await back.OkAsync($"bind-interdomain 1 {frontPort[1]}");
        await back.OkAsync($"wait {backPort[0]}"); // Xen marks a port pending when it is bound

        await back.OkAsync($"write {mapped[0]} 0 hello-from-2");
        await back.OkAsync($"notify {backPort[0]}");
        await front.OkAsync($"wait {frontPort[0]}");
        Assert.Equal(["hello-from-2"], await front.OkAsync($"read {shared[0]} 0 12"));

        await front.OkAsync($"write {shared[0]} 100 reply-from-1");
        await front.OkAsync($"notify {frontPort[0]}");
        await back.OkAsync($"wait {backPort[0]}");
        Assert.Equal(["reply-from-1"], await back.OkAsync($"read {mapped[0]} 100 12"));

        await front.OkAsync($"unmap {shared[0]}");
        Assert.False(File.Exists(_shim.File($"gnt-1-{grantRef}")), "unsharing revoked the grant");
    }

    private static byte[] Page(string text)
    {
        byte[] page = new byte[4096];
        Encoding.ASCII.GetBytes(text).CopyTo(page, 0);
        return page;
    }
}
