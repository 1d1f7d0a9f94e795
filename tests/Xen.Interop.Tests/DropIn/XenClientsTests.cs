using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// Xen's own clients as referee: libxenstore's <c>xenstore-*</c> tools, Xen's <c>test-xenstore</c>, the shim's ring
/// guest (<c>ring_guest_demo.py</c>) and the independent pyxs client, each against C xenstored and against ours, both
/// started by <c>run_xenstored.sh</c> (ours as the drop-in daemon: no <c>--peer-dir</c>, guests through Xen's libraries).
/// Needs Debian's xenstore-utils, xen-utils-4.17 and python3-pyxs (see ../shared/peers/PEERS.md); a missing program
/// fails the test with the command that installs it.
/// </summary>
[Trait("Category", "Interop")]
public sealed class XenClientsTests
{
    private const string TestXenstore = "/usr/lib/xen-4.17/bin/test-xenstore";
    private const string Python = "/usr/bin/python3";

    /// <summary>Runs one of Xen's clients against our socket; a missing program fails the test saying what to install.</summary>
    private static async Task<(int ExitCode, string Output)> Run(XenstoredPeer store, string program, params string[] args)
    {
        PeerPrograms.Require(requirePeersScripts: false, program);
        PeerCommandResult result = await PeerCommand.RunAsync(program, args, new Dictionary<string, string> { ["XENSTORED_PATH"] = store.SocketPath });
        return (result.ExitCode, result.StandardOutput + result.StandardError);
    }

    private static Task<(int, string)> Xs(XenstoredPeer store, string tool, params string[] args) => Run(store, "xenstore-" + tool, args);

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Xenstore_utils_read_write_exists_ls_list_rm(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind);
        Assert.Equal(0, (await Xs(store, "write", "/vm/a", "hello", "/vm/b/c", "two words")).Item1);
        Assert.Equal((0, "hello\n"), await Xs(store, "read", "/vm/a"));
        Assert.Equal((0, "two words\n"), await Xs(store, "read", "/vm/b/c"));
        Assert.Equal(0, (await Xs(store, "exists", "/vm/a")).Item1);
        Assert.NotEqual(0, (await Xs(store, "exists", "/vm/nope")).Item1);
        Assert.Equal((0, "a\nb\n"), await Xs(store, "list", "/vm"));
        var (code, ls) = await Xs(store, "ls", "-f", "/vm");
        Assert.Equal(0, code);
        Assert.Equal("/vm/a = \"hello\"\n/vm/b = \"\"\n/vm/b/c = \"two words\"\n", ls);
        var (rootCode, root) = await Xs(store, "ls", "-f", "/");
        Assert.Equal(0, rootCode);
        Assert.Contains("/tool/xenstored = \"\"", root, StringComparison.Ordinal);
        Assert.Equal(0, (await Xs(store, "rm", "/vm/b")).Item1);
        Assert.Equal((0, "a\n"), await Xs(store, "list", "/vm"));
        var (readCode, readMissing) = await Xs(store, "read", "/vm/b/c");
        Assert.NotEqual(0, readCode);
        Assert.Contains("couldn't read path /vm/b/c", readMissing, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Xenstore_chmod_sets_permissions_that_ls_p_and_our_client_see(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind);
        Assert.Equal(0, (await Xs(store, "write", "/perm/node", "v")).Item1);
        Assert.Equal(0, (await Xs(store, "chmod", "/perm/node", "n5", "r6", "b7")).Item1);
        await using var c = await XenStoreClient.ConnectAsync(store.SocketPath);
        Assert.Equal([XsPermission.Parse("n5"), XsPermission.Parse("r6"), XsPermission.Parse("b7")], await c.GetPermissionsAsync("/perm/node"));
        var (code, ls) = await Xs(store, "ls", "-p", "/perm");
        Assert.Equal(0, code);
        Assert.Contains("(n5,r6,b7)", ls, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Xenstore_watch_sees_the_initial_event_and_a_change(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind);
        await using var c = await XenStoreClient.ConnectAsync(store.SocketPath);
        await c.WriteAsync("/watched", "0");
        var watcher = Xs(store, "watch", "-n", "2", "/watched");
        // A write before the tool's watch is registered fires nothing, and the tool gives no sign of registering: keep
        // writing the same node until it has printed its initial event and one change (its run is bounded).
        while (!watcher.IsCompleted)
        {
            await c.WriteAsync("/watched/child", "1");
            await Task.WhenAny(watcher, Task.Delay(50));
        }

        var (code, output) = await watcher;
        Assert.Equal(0, code);
        Assert.Equal("/watched\n/watched/child\n", output);
    }

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Xens_own_test_xenstore_passes_all_12_tests(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind);
        var (code, output) = await Run(store, TestXenstore);
        Assert.True(code == 0, output);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] results = [.. lines.Where(l => l.Contains(" ns", StringComparison.Ordinal) || l.Contains("failed", StringComparison.Ordinal))];
        Assert.Equal(12, results.Length);
        Assert.DoesNotContain(results, l => l.Contains("failed", StringComparison.Ordinal));
        await using var c = await XenStoreClient.ConnectAsync(store.SocketPath);
        Assert.False(await c.ExistsAsync("/local/domain/0/xenstore-test")); // its cleanup ran
    }

    private static string PeerScript(string name) => Path.Combine(PeerPrograms.PeersDirectory, name);

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task A_guest_over_the_shim_ring_is_served_after_INTRODUCE(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind);
        await using (var dom0 = await XenStoreClient.ConnectAsync(store.SocketPath))
        {
            await dom0.MkdirAsync("/local/domain/5");
            await dom0.SetPermissionsAsync("/local/domain/5", [XsPermission.Parse("n5")]);
            await dom0.WriteAsync("/test/a", "for-five");
            await dom0.SetPermissionsAsync("/test/a", [XsPermission.Parse("n0"), XsPermission.Parse("r5")]);
        }

        var (code, output) = await Run(store, Python, PeerScript("ring_guest_demo.py"), store.StateDirectory, store.SocketPath, "5", "7");
        Assert.True(code == 0, output);
        Assert.Contains("body=b'/local/domain/5\\x00'", output, StringComparison.Ordinal);
        Assert.Contains("body=b'hello-from-ring'", output, StringComparison.Ordinal);
        Assert.Contains("body=b'for-five'", output, StringComparison.Ordinal);
        Assert.Contains("body=b'EACCES\\x00'", output, StringComparison.Ordinal);
        Assert.Contains("async: 15 0 0 b'data/w\\x00tok1\\x00'", output, StringComparison.Ordinal);
        await using var c = await XenStoreClient.ConnectAsync(store.SocketPath);
        Assert.Equal("hello-from-ring", await c.ReadStringAsync("/local/domain/5/data/x"));
        Assert.Equal([XsPermission.Parse("n5")], await c.GetPermissionsAsync("/local/domain/5/data/x"));
        Assert.True(await c.IsDomainIntroducedAsync(5));
    }

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Pyxs_reads_writes_permissions_watches_and_transactions(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind);
        const string Script = """
            import sys, pyxs
            with pyxs.Client(unix_socket_path=sys.argv[1]) as c:
                c[b"/py/a"] = b"1"
                assert c[b"/py/a"] == b"1"
                c.mkdir(b"/py/dir")
                assert sorted(c.list(b"/py")) == [b"a", b"dir"], c.list(b"/py")
                c.set_perms(b"/py/a", [b"n5", b"r6"])
                assert c.get_perms(b"/py/a") == [b"n5", b"r6"], c.get_perms(b"/py/a")
                assert c.exists(b"/py/a") and not c.exists(b"/py/nope")
                assert c.get_domain_path(3) == b"/local/domain/3"
                m = c.monitor()
                m.watch(b"/py/w", b"tok")
                events = m.wait()
                first = next(events)
                assert first == (b"/py/w", b"tok"), first
                c[b"/py/w/x"] = b"y"
                second = next(events)
                assert second == (b"/py/w/x", b"tok"), second
                m.unwatch(b"/py/w", b"tok")
                c.transaction()
                c[b"/py/t"] = b"in-tx"
                c.commit()
                assert c[b"/py/t"] == b"in-tx"
                c.transaction()
                c[b"/py/t"] = b"aborted"
                c.rollback()
                assert c[b"/py/t"] == b"in-tx"
                c.delete(b"/py")
                assert not c.exists(b"/py")
                try:
                    c[b"/nope/nope"]
                    raise SystemExit("read of a missing node succeeded")
                except pyxs.PyXSError:
                    pass
            print("PASS")
            """;
        string script = Path.Combine(store.StateDirectory, "pyxs_check.py");
        await File.WriteAllTextAsync(script, Script);
        var (code, output) = await Run(store, Python, script, store.SocketPath);
        Assert.True(code == 0 && output.Contains("PASS", StringComparison.Ordinal), output);
    }
}
