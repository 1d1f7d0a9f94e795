using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Server.Hosting;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xen.TestSupport.Store;

namespace Xen.Store.Tests.Server;

/// <summary>
/// Xen's own clients as referee: libxenstore's <c>xenstore-*</c> tools, Xen's <c>test-xenstore</c> and the independent
/// pyxs client, all talking to our server over its Unix socket. Needs Debian's xenstore-utils, xen-utils-4.17 and
/// python3-pyxs (see ../shared/peers/PEERS.md); a missing program fails the test with the command that installs it.
/// </summary>
[Trait("Category", "Interop")]
#pragma warning disable CA1001 // xunit disposes the server through IAsyncLifetime
public sealed class ServerInteropTests : IAsyncLifetime
#pragma warning restore CA1001
{
    private const string TestXenstore = "/usr/lib/xen-4.17/bin/test-xenstore";
    private const string Python = "/usr/bin/python3";
    private EmbeddedXenStore _store = null!;

    private string Socket => _store.SocketPath;

    private string StateDirectory => _store.Directory;

    public async Task InitializeAsync() =>
        _store = await EmbeddedXenStore.StartAsync("xsi", directory => new XenStoreServerOptions { Host = new ShimXenStoreHost(directory) });

    public async Task DisposeAsync() => await _store.DisposeAsync();

    /// <summary>Runs one of Xen's clients against our socket; a missing program fails the test saying what to install.</summary>
    private async Task<(int ExitCode, string Output)> Run(string program, params string[] args)
    {
        PeerPrograms.Require(requirePeersScripts: false, program);
        PeerCommandResult result = await PeerCommand.RunAsync(program, args, new Dictionary<string, string> { ["XENSTORED_PATH"] = Socket });
        return (result.ExitCode, result.StandardOutput + result.StandardError);
    }

    private Task<(int, string)> Xs(string tool, params string[] args) => Run("xenstore-" + tool, args);

    [Fact]
    public async Task Xenstore_utils_read_write_exists_ls_list_rm()
    {
        Assert.Equal(0, (await Xs("write", "/vm/a", "hello", "/vm/b/c", "two words")).Item1);
        Assert.Equal((0, "hello\n"), await Xs("read", "/vm/a"));
        Assert.Equal((0, "two words\n"), await Xs("read", "/vm/b/c"));
        Assert.Equal(0, (await Xs("exists", "/vm/a")).Item1);
        Assert.NotEqual(0, (await Xs("exists", "/vm/nope")).Item1);
        Assert.Equal((0, "a\nb\n"), await Xs("list", "/vm"));
        var (code, ls) = await Xs("ls", "-f", "/vm");
        Assert.Equal(0, code);
        Assert.Equal("/vm/a = \"hello\"\n/vm/b = \"\"\n/vm/b/c = \"two words\"\n", ls);
        var (rootCode, root) = await Xs("ls", "-f", "/");
        Assert.Equal(0, rootCode);
        Assert.Contains("/tool/xenstored = \"\"", root, StringComparison.Ordinal);
        Assert.Equal(0, (await Xs("rm", "/vm/b")).Item1);
        Assert.Equal((0, "a\n"), await Xs("list", "/vm"));
        var (readCode, readMissing) = await Xs("read", "/vm/b/c");
        Assert.NotEqual(0, readCode);
        Assert.Contains("couldn't read path /vm/b/c", readMissing, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xenstore_chmod_sets_permissions_that_ls_p_and_our_client_see()
    {
        Assert.Equal(0, (await Xs("write", "/perm/node", "v")).Item1);
        Assert.Equal(0, (await Xs("chmod", "/perm/node", "n5", "r6", "b7")).Item1);
        await using var c = await XenStoreClient.ConnectAsync(Socket);
        Assert.Equal([XsPermission.Parse("n5"), XsPermission.Parse("r6"), XsPermission.Parse("b7")], await c.GetPermissionsAsync("/perm/node"));
        var (code, ls) = await Xs("ls", "-p", "/perm");
        Assert.Equal(0, code);
        Assert.Contains("(n5,r6,b7)", ls, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Xenstore_watch_sees_the_initial_event_and_a_change()
    {
        await using var c = await XenStoreClient.ConnectAsync(Socket);
        await c.WriteAsync("/watched", "0");
        var watcher = Xs("watch", "-n", "2", "/watched");
        // The second event comes from a write made once the watch is registered (its initial event proves it).
        await using (var probe = await c.WatchAsync("/watched", "probe"))
        {
            await probe.NextAsync();
            while (!await WatchRegistered(c))
            {
                await Task.Delay(20);
            }
        }

        await c.WriteAsync("/watched/child", "1");
        var (code, output) = await watcher;
        Assert.Equal(0, code);
        Assert.Equal("/watched\n/watched/child\n", output);
    }

    private static async Task<bool> WatchRegistered(XenStoreClient c)
    {
        // Every watch of the socket connections is counted by "quota 0".
        string text = System.Text.Encoding.ASCII.GetString(await c.ControlAsync("quota", ["0"]));
        return System.Text.RegularExpressions.Regex.Match(text, @"watches\s+:\s+(\d+)").Groups[1].Value is var n && int.Parse(n, System.Globalization.CultureInfo.InvariantCulture) >= 2;
    }

    [Fact]
    public async Task Xens_own_test_xenstore_passes_all_12_tests()
    {
        var (code, output) = await Run(TestXenstore);
        Assert.True(code == 0, output);
        string[] lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        string[] results = [.. lines.Where(l => l.Contains(" ns", StringComparison.Ordinal) || l.Contains("failed", StringComparison.Ordinal))];
        Assert.Equal(12, results.Length);
        Assert.DoesNotContain(results, l => l.Contains("failed", StringComparison.Ordinal));
        await using var c = await XenStoreClient.ConnectAsync(Socket);
        Assert.False(await c.ExistsAsync("/local/domain/0/xenstore-test")); // its cleanup ran
    }

    private static string PeerScript(string name) => Path.Combine(PeerPrograms.PeersDirectory, name);

    [Fact]
    public async Task A_guest_over_the_shim_ring_is_served_after_INTRODUCE()
    {
        await using (var dom0 = await XenStoreClient.ConnectAsync(Socket))
        {
            await dom0.MkdirAsync("/local/domain/5");
            await dom0.SetPermissionsAsync("/local/domain/5", [XsPermission.Parse("n5")]);
            await dom0.WriteAsync("/test/a", "for-five");
            await dom0.SetPermissionsAsync("/test/a", [XsPermission.Parse("n0"), XsPermission.Parse("r5")]);
        }

        var (code, output) = await Run(Python, PeerScript("ring_guest_demo.py"), StateDirectory, Socket, "5", "7");
        Assert.True(code == 0, output);
        Assert.Contains("body=b'/local/domain/5\\x00'", output, StringComparison.Ordinal);
        Assert.Contains("body=b'hello-from-ring'", output, StringComparison.Ordinal);
        Assert.Contains("body=b'for-five'", output, StringComparison.Ordinal);
        Assert.Contains("body=b'EACCES\\x00'", output, StringComparison.Ordinal);
        Assert.Contains("async: 15 0 0 b'data/w\\x00tok1\\x00'", output, StringComparison.Ordinal);
        await using var c = await XenStoreClient.ConnectAsync(Socket);
        Assert.Equal("hello-from-ring", await c.ReadStringAsync("/local/domain/5/data/x"));
        Assert.Equal([XsPermission.Parse("n5")], await c.GetPermissionsAsync("/local/domain/5/data/x"));
        Assert.True(await c.IsDomainIntroducedAsync(5));
    }

    [Fact]
    public async Task Pyxs_reads_writes_permissions_watches_and_transactions()
    {
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
        string script = Path.Combine(StateDirectory, "pyxs_check.py");
        await File.WriteAllTextAsync(script, Script);
        var (code, output) = await Run(Python, script, Socket);
        Assert.True(code == 0 && output.Contains("PASS", StringComparison.Ordinal), output);
    }
}
