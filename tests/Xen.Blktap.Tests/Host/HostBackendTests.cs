using Xen.Blktap.Host;
using Xen.TestSupport.Host;
using Xen.TestSupport.Peers;

namespace Xen.Blktap.Tests.Host;

/// <summary>The host backends against the stand-in host tree and programs.</summary>
public sealed class HostBackendTests : IDisposable
{
    private readonly HostTree _tree = new();

    public void Dispose() => _tree.Dispose();

    [Fact]
    public async Task Sysfs_backend_sees_blktap2_in_proc_devices_only_when_loaded()
    {
        Assert.True(await new Blktap2SysfsBackend(_tree.SysfsOptions()).IsBlktap2PresentAsync());
        using var bare = new HostTree(blktap2Loaded: false);
        Assert.False(await new Blktap2SysfsBackend(bare.SysfsOptions()).IsBlktap2PresentAsync());
        Assert.False(await new Blktap2SysfsBackend(new Blktap2SysfsOptions { ProcRoot = "/nonexistent" }).IsBlktap2PresentAsync());
    }

    [Fact]
    public async Task Sysfs_backend_creates_pauses_resumes_and_removes_through_tapdisk2_and_sysfs()
    {
        var backend = new Blktap2SysfsBackend(_tree.SysfsOptions());
        TapDevice a = await backend.CreateAsync("aio", _tree.Image("a.img"));
        TapDevice b = await backend.CreateAsync("vhd", _tree.Image("b.vhd"));
        Assert.Equal((0, 1), (a.Minor, b.Minor));
        Assert.Equal(Path.Combine(_tree.Root, "dev/xen/blktap-2/tapdev1"), b.DevicePath);
        Assert.Equal([0, 1], (await backend.ListAsync()).Select(d => d.Minor));

        await backend.PauseAsync(1);
        Assert.Equal("pause", _tree.ReadSysfs(1, "pause"));
        await backend.UnpauseAsync(1);
        Assert.Equal("resume", _tree.ReadSysfs(1, "resume"));

        Assert.True(await backend.ReleaseAsync(0));
        // The stand-in kernel removes the device from a process of its own, after the write returns: wait for
        // everything asserted below, not only for the first sign of it.
        await Deadline.PollAsync(
            () => _tree.SysfsEntries().Count == 1 && _tree.DeviceNodes().Count == 1 && _tree.SysfsRemoved().Count == 1,
            () => $"the stand-in kernel did not remove blktap0: sysfs {string.Join(", ", _tree.SysfsEntries())}; nodes {string.Join(", ", _tree.DeviceNodes())}");
        Assert.Equal(["blktap1"], _tree.SysfsEntries());
        Assert.Equal(["tapdev1"], _tree.DeviceNodes());
        Assert.False(await backend.ReleaseAsync(0));
        Assert.Equal([0], _tree.SysfsRemoved());
        var e = await Assert.ThrowsAsync<TapBackendException>(() => backend.PauseAsync(0).AsTask());
        Assert.Contains("no blktap2 device 0", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Sysfs_backend_reports_tapdisk2_missing_failing_or_talking_nonsense()
    {
        var missing = new Blktap2SysfsBackend(_tree.SysfsOptions(tapdisk2: Path.Combine(_tree.Root, "no-such-tapdisk2")));
        var e = await Assert.ThrowsAsync<TapBackendException>(() => missing.CreateAsync("aio", _tree.Image("a")).AsTask());
        Assert.Contains("no-such-tapdisk2 was not found", e.Message, StringComparison.Ordinal);

        var backend = new Blktap2SysfsBackend(_tree.SysfsOptions());
        e = await Assert.ThrowsAsync<TapBackendException>(() => backend.CreateAsync("aio", "/no/such/image").AsTask());
        Assert.Equal(2, e.ExitCode);
        Assert.Contains("failed to open /no/such/image", e.Message, StringComparison.Ordinal);

        string liar = Path.Combine(_tree.Root, "liar");
        File.WriteAllText(liar, "#!/bin/sh\necho 'ready'\n");
        File.SetUnixFileMode(liar, UnixFileMode.UserRead | UnixFileMode.UserExecute);
        e = await Assert.ThrowsAsync<TapBackendException>(() => new Blktap2SysfsBackend(_tree.SysfsOptions(liar)).CreateAsync("aio", "/x").AsTask());
        Assert.Contains("printed no tap device path", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TapCtl_backend_drives_create_list_pause_unpause_destroy()
    {
        var backend = new TapCtlBackend(_tree.TapCtlOptions());
        Assert.True(await backend.IsBlktap2PresentAsync());
        TapDevice a = await backend.CreateAsync("aio", _tree.Image("a.img"));
        TapDevice b = await backend.CreateAsync("vhd", _tree.Image("b.vhd"));
        Assert.Equal(("/dev/xen/blktap-2/tapdev0", 1), (a.DevicePath, b.Minor));
        IReadOnlyList<TapCtlListEntry> list = await backend.ListEntriesAsync();
        Assert.Equal([new TapCtlListEntry(20000, 0, 0, $"aio:{_tree.Root}/images/a.img"), new TapCtlListEntry(20001, 1, 0, $"vhd:{_tree.Root}/images/b.vhd")], list);

        await backend.PauseAsync(1);
        Assert.Equal(2, (await backend.ListEntriesAsync()).Single(x => x.Minor == 1).State);
        var e = await Assert.ThrowsAsync<TapBackendException>(() => backend.PauseAsync(1).AsTask());
        Assert.Equal(16, e.ExitCode);
        Assert.Contains("already paused", e.Message, StringComparison.Ordinal);
        await backend.UnpauseAsync(1);
        Assert.Equal(0, (await backend.ListEntriesAsync()).Single(x => x.Minor == 1).State);

        Assert.True(await backend.ReleaseAsync(0));
        Assert.False(await backend.ReleaseAsync(0));
        Assert.Equal([1], (await backend.ListAsync()).Select(d => d.Minor));
        Assert.Equal([0], _tree.TapCtlReleased());
        Assert.Contains("destroy -p 20000 -m 0", File.ReadAllText(Path.Combine(_tree.Root, "tapctl.log")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TapCtl_backend_frees_a_minor_left_without_a_tapdisk()
    {
        var backend = new TapCtlBackend(_tree.TapCtlOptions());
        int orphan = _tree.OrphanTapCtlMinor();
        Assert.True(await backend.ReleaseAsync(orphan));
        Assert.Contains($"free -m {orphan}", File.ReadAllText(Path.Combine(_tree.Root, "tapctl.log")), StringComparison.Ordinal);
        Assert.Empty(await backend.ListAsync());
    }

    [Fact]
    public async Task TapCtl_backend_reports_a_missing_program_and_non_zero_exits()
    {
        var missing = new TapCtlBackend(_tree.TapCtlOptions(Path.Combine(_tree.Root, "no-tap-ctl")));
        var e = await Assert.ThrowsAsync<TapBackendException>(() => missing.CreateAsync("aio", "/x").AsTask());
        Assert.Contains("no-tap-ctl was not found", e.Message, StringComparison.Ordinal);

        var backend = new TapCtlBackend(_tree.TapCtlOptions());
        _tree.Break("create");
        e = await Assert.ThrowsAsync<TapBackendException>(() => backend.CreateAsync("aio", _tree.Image("a")).AsTask());
        Assert.Equal((5, TapOperation.Create), (e.ExitCode, e.Operation));
        Assert.Contains("tap-ctl create -a aio:", e.Message, StringComparison.Ordinal);
        Assert.Contains("injected failure", e.Message, StringComparison.Ordinal);
        _tree.Heal("create");
        await backend.CreateAsync("aio", _tree.Image("a"));
        _tree.Break("list");
        e = await Assert.ThrowsAsync<TapBackendException>(() => backend.ReleaseAsync(0).AsTask());
        Assert.Equal(TapOperation.List, e.Operation);
    }

    [Theory]
    [InlineData("pid=123 minor=4 state=0 args=vhd:/a b.vhd", 123, 4, 0, "vhd:/a b.vhd")]
    [InlineData("pid=-1 minor=7 state=0x2 args=", -1, 7, 2, null)]
    [InlineData("pid=9 minor=-1 state=0x10", 9, -1, 16, null)]
    public void TapCtl_list_lines_parse(string line, int pid, int minor, int state, string? args)
    {
        Assert.True(TapCtlListEntry.TryParse(line, out TapCtlListEntry? entry));
        Assert.Equal(new TapCtlListEntry(pid, minor, state, args), entry);
    }

    [Theory]
    [InlineData("")]
    [InlineData("minor=4 state=0")]
    [InlineData("pid=x minor=4")]
    [InlineData("hello")]
    [InlineData("pid=1 minor=2 colour=blue")]
    public void Non_list_lines_do_not_parse(string line) => Assert.False(TapCtlListEntry.TryParse(line, out _));

    [Theory]
    [InlineData("/dev/xen/blktap-2/tapdev3", 3)]
    [InlineData("/tmp/x/dev/xen/blktap-2/tapdev12", 12)]
    [InlineData("/dev/sda", -1)]
    [InlineData("/dev/xen/blktap-2/tapdev", -1)]
    [InlineData("/dev/xen/blktap-2/tapdev1x", -1)]
    [InlineData("aio:/img", -1)]
    public void Tap_device_minors_come_from_the_path(string path, int minor)
    {
        Assert.Equal(minor >= 0, TapDevice.TryParseMinor(path, out int parsed));
        Assert.Equal(minor, parsed);
    }

    [Fact]
    public async Task Simulated_backend_allocates_lowest_free_minor_and_injects_failures()
    {
        var backend = new SimulatedTapBackend();
        Assert.Equal(0, (await backend.CreateAsync("aio", "/a")).Minor);
        Assert.Equal(1, (await backend.CreateAsync("aio", "/b")).Minor);
        Assert.True(await backend.ReleaseAsync(0));
        Assert.Equal(0, (await backend.CreateAsync("aio", "/c")).Minor);
        backend.InjectFailure = (op, m) => op == TapOperation.Release ? new TapBackendException("no") : null;
        await Assert.ThrowsAsync<TapBackendException>(() => backend.ReleaseAsync(1).AsTask());
        Assert.Equal([0, 1], (await backend.ListAsync()).Select(d => d.Minor));
    }
}
