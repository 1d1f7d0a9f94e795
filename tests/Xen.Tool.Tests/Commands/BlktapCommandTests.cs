using Xen.TestSupport.Host;
using Xen.Tool.Tests.Support;

namespace Xen.Tool.Tests.Commands;

/// <summary>
/// <c>xen blktap</c> run as processes against <c>xen store serve --simulated-blkback</c> (a process too) and the
/// stand-in tap-ctl of <c>Xen.Blktap.Tests</c> (<see cref="HostTree"/>), which keeps its devices on disk.
/// </summary>
public sealed class BlktapCommandTests : IAsyncLifetime, IDisposable
{
    private const string Vm5 = "00000000-0000-0000-0000-000000000005";
    private const string Vm6 = "00000000-0000-0000-0000-000000000006";

    private readonly string _dir = Path.Combine("/tmp", $"xb-{Guid.NewGuid():N}"[..11]);
    private readonly HostTree _host = new();
    private ToolProcess? _serve;

    private string Socket => Path.Combine(_dir, "socket");

    public async Task InitializeAsync()
    {
        Directory.CreateDirectory(_dir);
        _serve = ToolProcess.Start("store", "serve", "--no-fork", "--socket", Socket, "--simulated-blkback");
        byte[] line = await _serve.WaitForOutputAsync($"xenstored listening on {Socket}\n".Length);
        Assert.Equal($"xenstored listening on {Socket}\n", System.Text.Encoding.UTF8.GetString(line));
    }

    public async Task DisposeAsync()
    {
        if (_serve is not null)
        {
            _serve.Signal("TERM");
            await _serve.WaitForExitAsync();
            await _serve.DisposeAsync();
        }

        Directory.Delete(_dir, recursive: true);
    }

    public void Dispose() => _host.Dispose();

    /// <summary><c>xen blktap</c> with the socket, the stand-in tap-ctl and its /proc.</summary>
    private Task<ToolResult> BlktapAsync(params string[] args) => BlktapWithAsync(_host.TapCtlPath, args);

    private Task<ToolResult> BlktapWithAsync(string tapCtl, params string[] args) =>
        ToolProcess.RunAsync(["blktap", .. args, "--socket", Socket, "--host", "tap-ctl", "--tap-ctl", tapCtl, "--proc-root", Path.Combine(_host.Root, "proc"), "--timeout", "60"]);

    private static void Succeeded(ToolResult result) => Assert.True(result.ExitCode == 0 && result.Error.Length == 0, result.ToString());

    private static string[] Rows(ToolResult list) =>
        [.. list.OutputText.Split('\n', StringSplitOptions.RemoveEmptyEntries).Skip(1).Select(static l => string.Join(' ', l.Split(' ', StringSplitOptions.RemoveEmptyEntries)))];

    /// <summary>
    /// The lines of <c>xen store ls -f /</c> below a backend class, a frontend class or a /vm device class: a device's
    /// nodes. (The directories above them, <c>backend/vbd</c> or <c>/vm/&lt;uuid&gt;/device</c>, stay, as xend leaves them.)
    /// </summary>
    private static string[] DeviceNodes(ToolResult tree) =>
        [.. tree.OutputText.Split('\n').Where(static l =>
            l.Contains("/backend/vbd/", StringComparison.Ordinal) || l.Contains("/backend/tap/", StringComparison.Ordinal)
            || l.Contains("/device/vbd", StringComparison.Ordinal) || l.Contains("/device/tap", StringComparison.Ordinal))];

    private string[] TapCtlMinors() =>
        Directory.Exists(Path.Combine(_host.Root, "tapctl"))
            ? [.. Directory.EnumerateDirectories(Path.Combine(_host.Root, "tapctl")).Select(Path.GetFileName).Where(n => !n!.StartsWith('.')).Order()!]
            : [];

    [Fact]
    public async Task Create_list_pause_unpause_and_destroy_run_end_to_end_for_two_domains()
    {
        string root5 = _host.Image("root5.img");
        string data5 = _host.Image("data5.vhd");
        string root6 = _host.Image("root6.img");

        ToolResult created = await BlktapAsync("create", "5", $"tap2:aio:{root5},xvda,w", "--vm", Vm5);
        Succeeded(created);
        Assert.Equal("xvda 51712 tap2 /dev/xen/blktap-2/tapdev0 /local/domain/0/backend/vbd/5/51712\n", created.OutputText);
        // The second device of domain 5 finds the vm uuid from the first one's record.
        created = await BlktapAsync("create", "5", $"tap2:vhd:{data5},xvdb,r");
        Succeeded(created);
        Assert.Equal("xvdb 51728 tap2 /dev/xen/blktap-2/tapdev1 /local/domain/0/backend/vbd/5/51728\n", created.OutputText);
        // Domain 6 is found through /local/domain/6/vm, as a toolstack records it.
        Succeeded(await ToolProcess.RunAsync("store", "write", "--socket", Socket, "/local/domain/6/vm", $"/vm/{Vm6}"));
        created = await BlktapAsync("create", "6", $"tap:aio:{root6},xvda");
        Succeeded(created);
        Assert.Equal("xvda 51712 tap2 /dev/xen/blktap-2/tapdev2 /local/domain/0/backend/vbd/6/51712\n", created.OutputText);
        Assert.Equal(["0", "1", "2"], TapCtlMinors());

        ToolResult list = await BlktapAsync("list");
        Succeeded(list);
        Assert.StartsWith("domain  vdev  device  class  backend   frontend      hotplug    tap", list.OutputText, StringComparison.Ordinal);
        Assert.Equal(
        [
            "5 xvda 51712 tap2 InitWait Initialising connected /dev/xen/blktap-2/tapdev0 running",
            "5 xvdb 51728 tap2 InitWait Initialising connected /dev/xen/blktap-2/tapdev1 running",
            "6 xvda 51712 tap2 InitWait Initialising connected /dev/xen/blktap-2/tapdev2 running",
        ], Rows(list));
        Assert.Equal(["6 xvda 51712 tap2 InitWait Initialising connected /dev/xen/blktap-2/tapdev2 running"], Rows(await BlktapAsync("list", "6")));

        ToolResult paused = await BlktapAsync("pause", "5");
        Succeeded(paused);
        Assert.Equal("5 xvda 51712 paused\n5 xvdb 51728 paused\n", paused.OutputText);
        Assert.Equal(
        [
            "5 xvda 51712 tap2 InitWait Initialising connected /dev/xen/blktap-2/tapdev0 paused",
            "5 xvdb 51728 tap2 InitWait Initialising connected /dev/xen/blktap-2/tapdev1 paused",
            "6 xvda 51712 tap2 InitWait Initialising connected /dev/xen/blktap-2/tapdev2 running",
        ], Rows(await BlktapAsync("list")));

        // Pausing again fails in tap-ctl (already paused): each device is named, the status is 1.
        ToolResult again = await BlktapAsync("pause", "5");
        Assert.Equal(1, again.ExitCode);
        Assert.Contains("xen blktap pause: Pausing device 51712 of domain 5 failed: tap-ctl pause", again.Error, StringComparison.Ordinal);
        Assert.Contains("xen blktap pause: Pausing device 51728 of domain 5 failed: tap-ctl pause", again.Error, StringComparison.Ordinal);

        ToolResult resumed = await BlktapAsync("unpause", "5");
        Succeeded(resumed);
        Assert.Equal("5 xvda 51712 resumed\n5 xvdb 51728 resumed\n", resumed.OutputText);
        Assert.All(Rows(await BlktapAsync("list", "5")), row => Assert.EndsWith(" running", row, StringComparison.Ordinal));

        ToolResult one = await BlktapAsync("destroy", "5", "xvdb");
        Succeeded(one);
        Assert.Equal("5 xvdb 51728 destroyed\n", one.OutputText);
        Assert.Equal(["0", "2"], TapCtlMinors());

        ToolResult domain5 = await BlktapAsync("destroy", "5");
        Succeeded(domain5);
        Assert.Equal("5 xvda 51712 destroyed\n", domain5.OutputText);
        ToolResult domain6 = await BlktapAsync("destroy", "6", "51712");
        Succeeded(domain6);
        Assert.Equal("6 xvda 51712 destroyed\n", domain6.OutputText);

        Assert.Empty(TapCtlMinors());
        Assert.Equal([0, 1, 2], _host.TapCtlReleased().Order());
        ToolResult tree = await ToolProcess.RunAsync("store", "ls", "--socket", Socket, "-f", "/");
        Succeeded(tree);
        Assert.Empty(DeviceNodes(tree));
        Assert.Empty(Rows(await BlktapAsync("list")));
    }

    [Theory]
    [InlineData("tap2:aio:/img", "Disk 'tap2:aio:/img' is not <spec>,<virtual device>[,<mode>].")]
    [InlineData("nonsense,xvda", "Disk specification 'nonsense' has no prefix (expected phy:, file:, tap: or tap2:).")]
    [InlineData("tap2:aio:/img,xvda,x", "Disk 'tap2:aio:/img,xvda,x' has mode 'x' (expected r or w).")]
    public async Task A_malformed_disk_is_refused_with_status_1_and_the_reason(string disk, string reason)
    {
        ToolResult result = await BlktapAsync("create", "5", disk, "--vm", Vm5);
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"xen blktap create: {reason}\n", result.Error);
        Assert.Empty(result.Output);
    }

    [Fact]
    public async Task An_unknown_tap_driver_is_refused_before_anything_is_done()
    {
        string image = _host.Image("x.img");
        ToolResult result = await BlktapAsync("create", "5", $"tap2:bogus:{image},xvda", "--vm", Vm5);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("tap:bogus is not a valid disk type (allowed: ", result.Error, StringComparison.Ordinal);
        Assert.Empty(TapCtlMinors());
    }

    [Fact]
    public async Task A_missing_tap_ctl_fails_the_create_at_StartTap_and_leaves_nothing_behind()
    {
        string image = _host.Image("root.img");
        string missing = Path.Combine(_host.Root, "no-such-tap-ctl");
        ToolResult result = await BlktapWithAsync(missing, "create", "5", $"tap2:aio:{image},xvda", "--vm", Vm5);
        Assert.Equal(1, result.ExitCode);
        Assert.Contains("xen blktap create: Creating device 51712 (xvda, ", result.Error, StringComparison.Ordinal);
        Assert.Contains($"failed at StartTap: no-such-tap-ctl was not found at {missing}.", result.Error, StringComparison.Ordinal);
        Assert.Empty(result.Output);

        ToolResult tree = await ToolProcess.RunAsync("store", "ls", "--socket", Socket, "-f", "/");
        Succeeded(tree);
        Assert.Empty(DeviceNodes(tree));
        Assert.Empty(TapCtlMinors());
    }

    [Fact]
    public async Task A_domain_without_a_vm_record_is_named_and_destroying_a_missing_device_fails_at_Lookup()
    {
        string image = _host.Image("root.img");
        ToolResult create = await BlktapAsync("create", "9", $"tap2:aio:{image},xvda");
        Assert.Equal(1, create.ExitCode);
        Assert.Equal("xen blktap create: Domain 9 has no /local/domain/9/vm and no device record names it: give its vm uuid with --vm UUID.\n", create.Error);

        ToolResult destroy = await BlktapAsync("destroy", "9", "xvdc", "--vm", Vm5);
        Assert.Equal(1, destroy.ExitCode);
        Assert.Equal("xen blktap destroy: Destroying device 51744 of domain 9 failed at Lookup: Domain 9 has no block device 51744.\n", destroy.Error);
    }
}
