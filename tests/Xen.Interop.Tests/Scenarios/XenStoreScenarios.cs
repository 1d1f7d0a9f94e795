using System.Globalization;
using System.Text;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Scenarios;

/// <summary>
/// The xenstore scenarios every target runs: nodes, permissions set by their owner, watches, transactions,
/// concurrency, pipelining, large directories and local refusals. Each <c>[Fact]</c> is one scenario, so a failing
/// test's name says which scenario broke on which daemon (the concrete class names the target).
/// </summary>
/// <remarks>
/// <para>
/// The connection under test is <see cref="Client"/>: a dom0 socket connection on the socket targets, guest domain
/// 5 over the shared ring on the ring targets. Its nodes live under its home (<see cref="Home"/>,
/// <c>/local/domain/&lt;domid&gt;</c>), where both kinds of connection may write. <see cref="Dom0"/> is a separate
/// privileged connection, the "other party" of every scenario that needs one (a concurrent change, a second
/// watcher, a domain to introduce).
/// </para>
/// <para>
/// Where the daemons differ (see <c>PEERS.md</c> in the peers folder), a scenario accepts each daemon's documented
/// behaviour and asserts which one it got. The scenarios that need an unprivileged connection are in
/// <see cref="XenStoreGuestScenarios"/>, which only ring targets derive from: over the Unix socket, both real
/// daemons treat every connection as dom0.
/// </para>
/// </remarks>
public abstract class XenStoreScenarios : IAsyncLifetime
{
    /// <summary>The bound on one whole scenario: a guard against a hang, not a speed assertion.</summary>
    private static readonly TimeSpan ScenarioBound = TimeSpan.FromSeconds(180);

    /// <summary>Creates the scenarios for <paramref name="target"/>; the target starts before each scenario.</summary>
    protected XenStoreScenarios(ScenarioTarget target)
    {
        Target = target;
    }

    /// <summary>The daemon under test and its connections.</summary>
    protected ScenarioTarget Target { get; }

    /// <summary>A privileged connection, separate from <see cref="Client"/>.</summary>
    protected XenStoreClient Dom0 => Target.Dom0;

    /// <summary>The connection under test.</summary>
    protected XenStoreClient Client => Target.Client;

    /// <summary>The home of <see cref="Client"/>'s domain: what its relative paths are relative to.</summary>
    protected string Home => XsPath.DomainPath(Target.ClientDomainId);

    /// <summary>Starts the target (bounded, so a daemon that never answers fails the scenario).</summary>
    public async Task InitializeAsync()
    {
        try
        {
            await Target.StartAsync().WaitAsync(ScenarioBound);
        }
        catch
        {
            await Target.DisposeAsync();
            throw;
        }
    }

    /// <summary>Closes every connection and stops the daemon.</summary>
    public async Task DisposeAsync() => await Target.DisposeAsync();

    // ---------------------------------------------------------------- nodes

    [Fact]
    public Task Write_then_read_returns_exactly_the_bytes_written() => Scenario(async () =>
    {
        byte[] binary = Enumerable.Range(0, 256).Select(i => (byte)i).ToArray();
        await Client.WriteAsync(At("nodes/text"), "hello world");
        await Client.WriteAsync(At("nodes/empty"), "");
        await Client.WriteAsync(At("nodes/binary"), binary);

        Assert.Equal("hello world", await Client.ReadStringAsync(At("nodes/text")));
        Assert.Empty(await Client.ReadAsync(At("nodes/empty")));
        Assert.Equal(binary, await Client.ReadAsync(At("nodes/binary")));

        // The other connection sees the same bytes.
        Assert.Equal(binary, await Dom0.ReadAsync(At("nodes/binary")));
    });

    [Fact]
    public Task Reading_a_missing_node_fails_with_ENOENT() => Scenario(async () =>
    {
        var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => Client.ReadAsync(At("missing")).AsTask());
        Assert.Equal(XsError.ENOENT, e.Error);
        Assert.Null(await Client.TryReadStringAsync(At("missing")));
        Assert.False(await Client.ExistsAsync(At("missing")));
    });

    [Fact]
    public Task Write_creates_missing_parents_with_empty_values() => Scenario(async () =>
    {
        await Client.WriteAsync(At("deep/a/b/c"), "leaf");

        Assert.Equal("", await Client.ReadStringAsync(At("deep/a")));
        Assert.Equal("", await Client.ReadStringAsync(At("deep/a/b")));
        Assert.Equal(["b"], await Client.DirectoryAsync(At("deep/a")));
        Assert.Equal("leaf", await Client.ReadStringAsync(At("deep/a/b/c")));
    });

    [Fact]
    public Task Mkdir_creates_an_empty_node_and_leaves_an_existing_one_as_it_is() => Scenario(async () =>
    {
        await Client.MkdirAsync(At("made/new"));
        Assert.Equal("", await Client.ReadStringAsync(At("made/new")));
        Assert.Empty(await Client.DirectoryAsync(At("made/new")));

        await Client.WriteAsync(At("made/kept"), "value");
        await Client.WriteAsync(At("made/kept/child"), "c");
        await Client.MkdirAsync(At("made/kept"));
        Assert.Equal("value", await Client.ReadStringAsync(At("made/kept")));
        Assert.Equal(["child"], await Client.DirectoryAsync(At("made/kept")));
    });

    [Fact]
    public Task Rm_removes_the_node_and_everything_below_it() => Scenario(async () =>
    {
        await Client.WriteAsync(At("tree/a/b/c"), "1");
        await Client.WriteAsync(At("tree/a/d"), "2");
        await Client.WriteAsync(At("tree/keep"), "3");

        await Client.RemoveAsync(At("tree/a"));

        Assert.False(await Client.ExistsAsync(At("tree/a")));
        Assert.False(await Client.ExistsAsync(At("tree/a/b/c")));
        Assert.Equal(["keep"], await Client.DirectoryAsync(At("tree")));
        Assert.Equal("3", await Dom0.ReadStringAsync(At("tree/keep")));
    });

    [Fact]
    public Task Rm_of_a_missing_node_succeeds_when_its_parent_exists_and_fails_with_ENOENT_when_not() => Scenario(async () =>
    {
        await Client.MkdirAsync(At("rm-parent"));
        await Client.RemoveAsync(At("rm-parent/never-written"));

        var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => Client.RemoveAsync(At("rm-missing/child")).AsTask());
        Assert.Equal(XsError.ENOENT, e.Error);
        Assert.True(await Client.ExistsAsync(At("rm-parent")));
    });

    [Fact]
    public Task Directory_lists_the_children_and_an_empty_directory_has_none() => Scenario(async () =>
    {
        string[] names = ["alpha", "beta", "gamma-1", "delta_2", "Epsilon"];
        foreach (string name in names)
        {
            await Client.WriteAsync(At($"dir/{name}"), name);
        }

        await Client.WriteAsync(At("dir/alpha/nested"), "not a child of dir");
        await Client.MkdirAsync(At("empty-dir"));

        Assert.Equal(names.Order(StringComparer.Ordinal), (await Client.DirectoryAsync(At("dir"))).Order(StringComparer.Ordinal));
        Assert.Empty(await Client.DirectoryAsync(At("empty-dir")));
        var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => Client.DirectoryAsync(At("no-such-dir")).AsTask());
        Assert.Equal(XsError.ENOENT, e.Error);
    });

    [Fact]
    public Task Relative_paths_resolve_under_the_connections_domain_home() => Scenario(async () =>
    {
        Assert.Equal(Home, await Client.GetDomainPathAsync(Target.ClientDomainId));

        await Client.WriteAsync("relative/x", "via a relative path");
        Assert.Equal("via a relative path", await Dom0.ReadStringAsync(At("relative/x")));
        Assert.Equal(["x"], await Client.DirectoryAsync("relative"));
        Assert.Equal("via a relative path", await Client.ReadStringAsync("relative/x"));
    });

    [Fact]
    public Task The_initial_tree_is_the_one_each_daemon_documents() => Scenario(async () =>
    {
        IReadOnlyList<string> root = await Dom0.DirectoryAsync("/");
        Assert.Contains("tool", root);
        string xenstored = await Dom0.ReadStringAsync("/tool/xenstored");
        switch (Target.Daemon)
        {
            case ScenarioDaemon.CXenstored:
            case ScenarioDaemon.Embedded:
                // C xenstored creates /tool/xenstored empty and no @ nodes.
                Assert.Equal("", xenstored);
                Assert.DoesNotContain(root, name => name.StartsWith('@'));
                break;
            case ScenarioDaemon.Oxenstored:
                // oxenstored keeps the special watch paths as nodes under / and names itself in /tool/xenstored.
                Assert.NotEqual("", xenstored);
                Assert.Contains("@introduceDomain", root);
                Assert.Contains("@releaseDomain", root);
                Assert.Contains("local", root);
                break;
            default:
                throw new InvalidOperationException($"No expectation for {Target.Daemon}.");
        }
    });

    [Fact]
    public Task Permissions_set_by_the_owner_read_back_and_new_children_inherit_them() => Scenario(async () =>
    {
        ushort self = checked((ushort)Target.ClientDomainId);
        XsPermission[] permissions = [new(XsAccess.None, self), new(XsAccess.Read, 7), new(XsAccess.Write, 8)];
        await Client.WriteAsync(At("perms/node"), "guarded");

        await Client.SetPermissionsAsync(At("perms/node"), permissions);
        Assert.Equal(permissions, await Client.GetPermissionsAsync(At("perms/node")));
        Assert.Equal(permissions, await Dom0.GetPermissionsAsync(At("perms/node")));

        await Client.WriteAsync(At("perms/node/child"), "inherits");
        Assert.Equal(permissions, await Client.GetPermissionsAsync(At("perms/node/child")));
    });

    [Fact]
    public Task A_request_of_exactly_4096_payload_bytes_is_accepted_by_C_xenstored_and_E2BIG_on_oxenstored() => Scenario(async () =>
    {
        string area = await SharedAreaAsync();
        string path = $"{area}/full";

        // WRITE's payload is "path\0value": fill it to XENSTORE_PAYLOAD_MAX exactly. Dom0 writes it (a guest's
        // node size quota is smaller); the connection under test reads the nearly-4096-byte reply.
        byte[] value = new byte[XsHeader.PayloadMax - Encoding.ASCII.GetByteCount(path) - 1];
        new Random(42).NextBytes(value);
        switch (Target.Daemon)
        {
            case ScenarioDaemon.CXenstored:
            case ScenarioDaemon.Embedded:
                await Dom0.WriteAsync(path, value);
                Assert.Equal(value, await Client.ReadAsync(path));
                break;
            case ScenarioDaemon.Oxenstored:
                // oxenstored limits a value to 2048 bytes (its quota-maxsize), dom0 included, and says E2BIG.
                var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => Dom0.WriteAsync(path, value).AsTask());
                Assert.Equal(XsError.E2BIG, e.Error);
                await Dom0.WriteAsync(path, value.AsMemory(0, 2048));
                Assert.Equal(value[..2048], await Client.ReadAsync(path));
                break;
            default:
                throw new InvalidOperationException($"No expectation for {Target.Daemon}.");
        }
    });

    [Fact]
    public Task A_reply_of_exactly_4096_payload_bytes_arrives_whole() => Scenario(async () =>
    {
        // 64 children with 63-character names: the DIRECTORY reply is 64 * (63 + NUL) = 4096 bytes.
        string dir = At("full-listing");
        string[] names = Enumerable.Range(0, 64).Select(i => string.Create(CultureInfo.InvariantCulture, $"{i:D2}-{new string('n', 60)}")).ToArray();
        await Task.WhenAll(names.Select(name => Dom0.WriteAsync($"{dir}/{name}", "").AsTask()));

        Assert.Equal(names, (await Client.DirectoryAsync(dir)).Order(StringComparer.Ordinal));
    });

    [Fact]
    public Task Overlong_paths_are_refused_locally_or_with_EINVAL_and_the_connection_carries_on() => Scenario(async () =>
    {
        static string Deep(int byteCount) => string.Join('/', Enumerable.Repeat(new string('p', 99), 40))[..byteCount];

        // XENSTORE_REL_PATH_MAX is 2048: one more is refused before anything is sent.
        await Client.WriteAsync(Deep(2048), "longest relative path");
        Assert.Equal("longest relative path", await Dom0.ReadStringAsync($"{Home}/{Deep(2048)}"));
        await Assert.ThrowsAsync<ArgumentException>(() => Client.WriteAsync(Deep(2049), "x").AsTask());

        // XENSTORE_ABS_PATH_MAX is 3072, but both daemons refuse this 3000-byte path outside any domain's home
        // with EINVAL, from dom0 too: their own limit on a node's path is shorter.
        string absolute = "/" + Deep(2999);
        var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => Dom0.WriteAsync(absolute, "x").AsTask());
        Assert.Equal(XsError.EINVAL, e.Error);
        await Assert.ThrowsAsync<ArgumentException>(() => Dom0.WriteAsync("/" + Deep(3072), "x").AsTask());

        await Dom0.WriteAsync("/" + Deep(2047), "still fine");
        Assert.Equal("still fine", await Dom0.ReadStringAsync("/" + Deep(2047)));
    });

    [Fact]
    public Task An_oversized_request_is_refused_locally_and_the_connection_carries_on() => Scenario(async () =>
    {
        string path = At("oversized");
        var big = await Assert.ThrowsAsync<ArgumentException>(() => Client.WriteAsync(path, new byte[5000]).AsTask());
        Assert.Contains("4096", big.Message, StringComparison.Ordinal);

        // One byte over: "path\0value" is 4097 bytes.
        byte[] oneOver = new byte[XsHeader.PayloadMax - Encoding.ASCII.GetByteCount(path)];
        await Assert.ThrowsAsync<ArgumentException>(() => Client.WriteAsync(path, oneOver).AsTask());

        // Nothing reached the daemon, and the connection still works.
        Assert.False(await Dom0.ExistsAsync(path));
        await Client.WriteAsync(path, "small");
        Assert.Equal("small", await Client.ReadStringAsync(path));
    });

    [Fact]
    public Task A_directory_of_5000_children_is_listed_in_parts_by_C_xenstored_and_refused_clearly_by_oxenstored() => Scenario(async () =>
    {
        string area = await SharedAreaAsync();
        string big = $"{area}/big";
        string[] names = Enumerable.Range(0, 5000).Select(i => string.Create(CultureInfo.InvariantCulture, $"child-{i:D5}")).ToArray();
        await Dom0.MkdirAsync(big);
        await Task.WhenAll(names.Select(name => Dom0.WriteAsync($"{big}/{name}", "").AsTask()));

        switch (Target.Daemon)
        {
            case ScenarioDaemon.CXenstored:
            case ScenarioDaemon.Embedded:
                // DIRECTORY answers E2BIG; the client fetches the listing with DIRECTORY_PART, in a transaction too.
                Assert.Equal(names, (await Client.DirectoryAsync(big)).Order(StringComparer.Ordinal));
                await using (XenStoreTransaction tx = await Client.StartTransactionAsync())
                {
                    Assert.Equal(names, (await tx.DirectoryAsync(big)).Order(StringComparer.Ordinal));
                    await tx.CommitAsync();
                }

                break;
            case ScenarioDaemon.Oxenstored:
                // oxenstored answers E2BIG on a ring, sends the whole listing in one over-long reply on its socket
                // (which the client fails with E2BIG), and has no DIRECTORY_PART.
                var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => Client.DirectoryAsync(big).AsTask());
                Assert.Equal(XsError.E2BIG, e.Error);
                var inner = Assert.IsType<XenStoreErrorException>(e.InnerException);
                Assert.Equal(XsError.ENOSYS, inner.Error);
                break;
            default:
                throw new InvalidOperationException($"No expectation for {Target.Daemon}.");
        }

        // Either way the connection carries on.
        await Dom0.WriteAsync($"{big}/child-00042", "after");
        Assert.Equal("after", await Client.ReadStringAsync($"{big}/child-00042"));
    });

    // ---------------------------------------------------------------- watches

    [Fact]
    public Task A_watch_fires_once_at_once_with_its_path_and_token() => Scenario(async () =>
    {
        await using XenStoreWatch watch = await Client.WatchAsync(At("watched"), "token-1");
        XenStoreWatchEvent first = await NextEventAsync(watch, "the initial event");
        Assert.Equal(new XenStoreWatchEvent(At("watched"), "token-1"), first);
    });

    [Fact]
    public Task A_watch_fires_for_writes_mkdirs_and_removals_below_it() => Scenario(async () =>
    {
        await Client.MkdirAsync(At("w"));
        await using XenStoreWatch watch = await Client.WatchAsync(At("w"));
        await ExpectEventAsync(watch, At("w"));

        await Client.WriteAsync(At("w/written"), "1");
        await ExpectEventAsync(watch, At("w/written"));
        await Client.MkdirAsync(At("w/made"));
        await ExpectEventAsync(watch, At("w/made"));
        await Client.WriteAsync(At("w/made/grandchild"), "2");
        await ExpectEventAsync(watch, At("w/made/grandchild"));
        await Client.RemoveAsync(At("w/written"));
        await ExpectEventAsync(watch, At("w/written"));
        await Client.WriteAsync(At("w"), "the node itself");
        await ExpectEventAsync(watch, At("w"));
    });

    [Fact]
    public Task A_watch_fires_for_changes_made_by_another_connection() => Scenario(async () =>
    {
        await using XenStoreWatch watch = await Client.WatchAsync(At("shared"));
        await ExpectEventAsync(watch, At("shared"));

        await Dom0.WriteAsync(At("shared/by-dom0"), "x");
        await ExpectEventAsync(watch, At("shared/by-dom0"));
    });

    [Fact]
    public Task A_watch_fires_when_its_node_is_removed_with_an_ancestor() => Scenario(async () =>
    {
        await Client.WriteAsync(At("gone/a/b"), "x");
        await using XenStoreWatch watch = await Client.WatchAsync(At("gone/a/b"));
        await ExpectEventAsync(watch, At("gone/a/b"));

        await Client.RemoveAsync(At("gone"));
        await ExpectEventAsync(watch, At("gone/a/b"));
    });

    [Fact]
    public Task Two_tokens_on_one_path_each_get_their_events_and_a_duplicate_token_is_EEXIST() => Scenario(async () =>
    {
        await using XenStoreWatch one = await Client.WatchAsync(At("tokens"), "one");
        await using XenStoreWatch two = await Client.WatchAsync(At("tokens"), "two");
        await ExpectEventAsync(one, At("tokens"));
        await ExpectEventAsync(two, At("tokens"));

        var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => Client.WatchAsync(At("tokens"), "one").AsTask());
        Assert.Equal(XsError.EEXIST, e.Error);

        await Client.WriteAsync(At("tokens/x"), "1");
        Assert.Equal("one", (await ExpectEventAsync(one, At("tokens/x"))).Token);
        Assert.Equal("two", (await ExpectEventAsync(two, At("tokens/x"))).Token);
    });

    [Fact]
    public Task A_relative_watch_reports_relative_paths() => Scenario(async () =>
    {
        await using XenStoreWatch watch = await Client.WatchAsync("rel-watch");
        await ExpectEventAsync(watch, "rel-watch");

        await Dom0.WriteAsync(At("rel-watch/child"), "x");
        await ExpectEventAsync(watch, "rel-watch/child");
    });

    [Fact]
    public Task An_unwatched_path_and_token_can_be_watched_again_and_the_old_stream_has_ended() => Scenario(async () =>
    {
        XenStoreWatch watch = await Client.WatchAsync(At("again"), "same-token");
        await ExpectEventAsync(watch, At("again"));
        await watch.DisposeAsync();

        // The daemon dropped the watch: the same (path, token) is not EEXIST.
        await using XenStoreWatch again = await Client.WatchAsync(At("again"), "same-token");
        await ExpectEventAsync(again, At("again"));
        await Client.WriteAsync(At("again/x"), "1");
        await ExpectEventAsync(again, At("again/x"));

        await foreach (XenStoreWatchEvent stale in watch.ReadAllAsync())
        {
            Assert.Fail($"the disposed watch delivered {stale}");
        }
    });

    [Fact]
    public Task A_transactional_write_fires_watches_at_commit_and_not_before() => Scenario(async () =>
    {
        // Both nodes exist beforehand: creating a node changes its parent, which would make the commit conflict.
        await Client.WriteAsync(At("txw/in-tx"), "0");
        await Client.WriteAsync(At("txw/marker"), "0");
        await using XenStoreWatch watch = await Client.WatchAsync(At("txw"));
        await ExpectEventAsync(watch, At("txw"));

        await using XenStoreTransaction tx = await Client.StartTransactionAsync();
        await tx.WriteAsync(At("txw/in-tx"), "1");

        // Events on one connection arrive in order: a marker written outside the transaction arrives first.
        await Dom0.WriteAsync(At("txw/marker"), "m");
        await ExpectEventAsync(watch, At("txw/marker"), mustNotSee: At("txw/in-tx"));

        await tx.CommitAsync();
        await ExpectEventAsync(watch, At("txw/in-tx"));
    });

    [Fact]
    public Task ReleaseDomain_fires_after_dom0_releases_an_introduced_domain() => Scenario(async () =>
    {
        const uint Domain = 9;
        await using XenStoreWatch watch = await Dom0.WatchAsync(XsPath.ReleaseDomain);
        await ExpectEventAsync(watch, XsPath.ReleaseDomain);

        // A domain nobody serves yet: the daemon maps its page and binds its channel through the shim.
        await Dom0.IntroduceAsync(Domain, 0, 11);
        Assert.True(await Dom0.IsDomainIntroducedAsync(Domain));

        await Dom0.ReleaseAsync(Domain);
        await ExpectEventAsync(watch, XsPath.ReleaseDomain);
        Assert.False(await Dom0.IsDomainIntroducedAsync(Domain));
    });

    [Fact]
    public Task A_watch_request_cancelled_while_the_daemon_is_busy_is_undone_when_the_daemon_carries_it_out() => Scenario(async () =>
    {
        const string Token = "cancelled";
        await Target.PauseDaemonAsync();
        try
        {
            using var giveUp = new CancellationTokenSource();
            ValueTask<XenStoreWatch> watching = Client.WatchAsync(At("cancelled"), Token, cancellationToken: giveUp.Token);
            await giveUp.CancelAsync();
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching.AsTask());
        }
        finally
        {
            await Target.ResumeDaemonAsync();
        }

        // The daemon registers the watch when it resumes; the client then unwatches it, so the same path and token
        // can be watched again (the UNWATCH follows the WATCH's reply, so a first retry may still see EEXIST).
        XenStoreWatch again = await Deadline.RunAsync(
            async token =>
            {
                while (true)
                {
                    try
                    {
                        return await Client.WatchAsync(At("cancelled"), Token, cancellationToken: token);
                    }
                    catch (XenStoreErrorException e) when (e.Error == XsError.EEXIST)
                    {
                        await Task.Delay(Deadline.PollInterval, token);
                    }
                }
            },
            () => $"the cancelled WATCH stayed registered at the daemon (EEXIST). {Target.Describe()}");
        await using (again)
        {
            await ExpectEventAsync(again, At("cancelled"));
        }
    });

    [Fact]
    public Task A_burst_of_500_changes_reaches_the_watch_as_500_events_in_order() => Scenario(async () =>
    {
        const int Count = 500;
        await Client.MkdirAsync(At("burst"));
        await using XenStoreWatch watch = await Client.WatchAsync(At("burst"));
        await ExpectEventAsync(watch, At("burst"));

        // The watcher reads nothing until all 500 changes are made: the events queue up at the daemon, in the
        // transport and in the watch's own queue.
        string[] paths = Enumerable.Range(0, Count).Select(i => At(string.Create(CultureInfo.InvariantCulture, $"burst/{i}"))).ToArray();
        foreach (string path in paths)
        {
            await Dom0.WriteAsync(path, "x");
        }

        var seen = new List<string>(Count);
        while (seen.Count < Count)
        {
            XenStoreWatchEvent e = await NextEventAsync(watch, $"event {seen.Count + 1} of {Count}");
            Assert.False(e.EventsWereDropped, $"events were dropped before {e.Path}");
            seen.Add(e.Path);
        }

        Assert.Equal(paths, seen);
    });

    [Fact]
    public Task A_watch_reader_that_falls_behind_keeps_the_newest_events_and_is_told_the_rest_were_dropped() => Scenario(async () =>
    {
        // The client keeps 1024 undelivered events per watch (XenStoreClientOptions.WatchEventCapacity).
        const int Count = 1200;
        const int Capacity = 1024;
        await Client.MkdirAsync(At("slow"));
        await using XenStoreWatch watch = await Client.WatchAsync(At("slow"));
        await ExpectEventAsync(watch, At("slow"));

        string[] paths = Enumerable.Range(0, Count).Select(i => At(string.Create(CultureInfo.InvariantCulture, $"slow/{i}"))).ToArray();
        foreach (string path in paths)
        {
            await Dom0.WriteAsync(path, "x");
        }

        // A marker written last shows when every event has reached the client.
        await using XenStoreWatch marker = await Client.WatchAsync(At("slow-marker"));
        await ExpectEventAsync(marker, At("slow-marker"));

        XenStoreWatchEvent first = await NextEventAsync(watch, "the oldest kept event");
        Assert.True(first.EventsWereDropped);
        var kept = new List<string> { first.Path };
        while (kept.Count < Capacity)
        {
            XenStoreWatchEvent e = await NextEventAsync(watch, $"kept event {kept.Count + 1} of {Capacity}");
            Assert.False(e.EventsWereDropped);
            kept.Add(e.Path);
        }

        Assert.Equal(paths[^Capacity..], kept);
    });

    [Fact]
    public Task ResetWatches_ends_every_watch_and_lets_their_paths_and_tokens_be_watched_again() => Scenario(async () =>
    {
        XenStoreWatch first = await Client.WatchAsync(At("reset/a"), "a");
        XenStoreWatch second = await Client.WatchAsync(At("reset/b"), "b");
        await ExpectEventAsync(first, At("reset/a"));
        await ExpectEventAsync(second, At("reset/b"));

        await Client.ResetWatchesAsync();
        await foreach (XenStoreWatchEvent stale in first.ReadAllAsync())
        {
            Assert.Fail($"a reset watch delivered {stale}");
        }

        await using XenStoreWatch again = await Client.WatchAsync(At("reset/a"), "a");
        await ExpectEventAsync(again, At("reset/a"));
        await Dom0.WriteAsync(At("reset/a"), "changed");
        await ExpectEventAsync(again, At("reset/a"));
        await first.DisposeAsync();
        await second.DisposeAsync();
    });

    // ---------------------------------------------------------------- transactions

    [Fact]
    public Task A_committed_transaction_is_seen_by_others_only_after_the_commit() => Scenario(async () =>
    {
        await Client.WriteAsync(At("tx/existing"), "before");
        await using XenStoreTransaction tx = await Client.StartTransactionAsync();
        await tx.WriteAsync(At("tx/new"), "created");
        await tx.WriteAsync(At("tx/existing"), "after");

        Assert.Equal("created", await tx.ReadStringAsync(At("tx/new")));
        Assert.Null(await Dom0.TryReadStringAsync(At("tx/new")));
        Assert.Equal("before", await Client.ReadStringAsync(At("tx/existing")));

        await tx.CommitAsync();
        Assert.True(tx.IsEnded);
        Assert.Equal("created", await Dom0.ReadStringAsync(At("tx/new")));
        Assert.Equal("after", await Dom0.ReadStringAsync(At("tx/existing")));
    });

    [Fact]
    public Task An_aborted_transaction_leaves_no_trace() => Scenario(async () =>
    {
        await Client.WriteAsync(At("abort/kept"), "original");
        await using (XenStoreTransaction tx = await Client.StartTransactionAsync())
        {
            await tx.WriteAsync(At("abort/kept"), "changed");
            await tx.WriteAsync(At("abort/new"), "x");
            await tx.RemoveAsync(At("abort/kept"));
            await tx.AbortAsync();
        }

        Assert.Equal("original", await Client.ReadStringAsync(At("abort/kept")));
        Assert.False(await Client.ExistsAsync(At("abort/new")));

        // Disposing an open transaction aborts it too.
        await using (XenStoreTransaction tx = await Client.StartTransactionAsync())
        {
            await tx.WriteAsync(At("abort/kept"), "changed by a disposed transaction");
        }

        Assert.Equal("original", await Dom0.ReadStringAsync(At("abort/kept")));
    });

    [Fact]
    public Task A_commit_after_another_connection_changed_a_node_the_transaction_read_fails_with_EAGAIN() => Scenario(async () =>
    {
        await Client.WriteAsync(At("conflict/counter"), "1");
        await using XenStoreTransaction tx = await Client.StartTransactionAsync();
        Assert.Equal("1", await tx.ReadStringAsync(At("conflict/counter")));

        await Dom0.WriteAsync(At("conflict/counter"), "changed meanwhile");
        await tx.WriteAsync(At("conflict/counter"), "2");

        var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => tx.CommitAsync().AsTask());
        Assert.Equal(XsError.EAGAIN, e.Error);
        Assert.Equal("changed meanwhile", await Client.ReadStringAsync(At("conflict/counter")));
    });

    [Fact]
    public Task A_write_only_transaction_over_a_node_created_meanwhile_fails_with_EAGAIN_on_C_xenstored_and_commits_on_oxenstored() => Scenario(async () =>
    {
        await Client.MkdirAsync(At("blind"));
        await using XenStoreTransaction tx = await Client.StartTransactionAsync();
        await tx.WriteAsync(At("blind/node"), "from the transaction");

        await Dom0.WriteAsync(At("blind/node"), "from dom0");

        switch (Target.Daemon)
        {
            case ScenarioDaemon.CXenstored:
            case ScenarioDaemon.Embedded:
                // C xenstored records that the node did not exist when the transaction created it.
                var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => tx.CommitAsync().AsTask());
                Assert.Equal(XsError.EAGAIN, e.Error);
                Assert.Equal("from dom0", await Dom0.ReadStringAsync(At("blind/node")));
                break;
            case ScenarioDaemon.Oxenstored:
                // oxenstored merges a transaction that read nothing another connection changed.
                await tx.CommitAsync();
                Assert.Equal("from the transaction", await Dom0.ReadStringAsync(At("blind/node")));
                break;
            default:
                throw new InvalidOperationException($"No expectation for {Target.Daemon}.");
        }
    });

    [Fact]
    public Task A_change_made_after_a_transaction_started_is_seen_by_C_xenstored_and_hidden_by_oxenstored_s_snapshot() => Scenario(async () =>
    {
        await Client.WriteAsync(At("snapshot/node"), "old");
        await Client.WriteAsync(At("snapshot/other"), "untouched");
        await using XenStoreTransaction tx = await Client.StartTransactionAsync();
        Assert.Equal("untouched", await tx.ReadStringAsync(At("snapshot/other")));

        await Dom0.WriteAsync(At("snapshot/node"), "new");
        string seen = await tx.ReadStringAsync(At("snapshot/node"));
        await tx.WriteAsync(At("snapshot/other"), "written from " + seen);
        switch (Target.Daemon)
        {
            case ScenarioDaemon.CXenstored:
            case ScenarioDaemon.Embedded:
                // C xenstored reads the current node on the transaction's first access, and the commit checks only
                // that nothing it accessed changed after that.
                Assert.Equal("new", seen);
                await tx.CommitAsync();
                Assert.Equal("written from new", await Dom0.ReadStringAsync(At("snapshot/other")));
                break;
            case ScenarioDaemon.Oxenstored:
                // oxenstored's transaction works on a copy of the store taken at its start; the commit finds that a
                // node it read has changed since.
                Assert.Equal("old", seen);
                var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => tx.CommitAsync().AsTask());
                Assert.Equal(XsError.EAGAIN, e.Error);
                Assert.Equal("untouched", await Dom0.ReadStringAsync(At("snapshot/other")));
                break;
            default:
                throw new InvalidOperationException($"No expectation for {Target.Daemon}.");
        }
    });

    [Fact]
    public Task RunTransactionAsync_runs_a_conflicting_body_again_and_commits_the_second_attempt() => Scenario(async () =>
    {
        await Client.WriteAsync(At("retry/counter"), "10");
        int attempts = 0;
        int result = await Client.RunTransactionAsync(async (tx, token) =>
        {
            attempts++;
            int value = int.Parse(await tx.ReadStringAsync(At("retry/counter"), token), CultureInfo.InvariantCulture);
            if (attempts == 1)
            {
                await Dom0.WriteAsync(At("retry/counter"), "20", token);
            }

            await tx.WriteAsync(At("retry/counter"), (value + 1).ToString(CultureInfo.InvariantCulture), token);
            return value + 1;
        });

        Assert.Equal(2, attempts);
        Assert.Equal(21, result);
        Assert.Equal("21", await Dom0.ReadStringAsync(At("retry/counter")));
    });

    [Fact]
    public Task Sixteen_tasks_of_25_transactional_increments_of_one_counter_end_at_400() => Scenario(async () =>
    {
        const int Tasks = 16;
        const int Increments = 25;
        string counter = At("concurrent/counter");
        await Client.WriteAsync(counter, "0");

        // A guest may hold only 10 transactions at once (C xenstored answers ENOSPC beyond that, oxenstored EQUOTA:
        // see Guest_over_its_transaction_quota_...), so on a guest connection the tasks share 8 of them; dom0 has
        // no such quota and all 16 run transactions at once.
        using var open = new SemaphoreSlim(Target.ClientIsRingGuest ? 8 : Tasks);
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(_ => Task.Run(async () =>
        {
            for (int i = 0; i < Increments; i++)
            {
                await open.WaitAsync();
                try
                {
                    await Client.RunTransactionAsync(async (tx, token) =>
                    {
                        int value = int.Parse(await tx.ReadStringAsync(counter, token), CultureInfo.InvariantCulture);
                        await tx.WriteAsync(counter, (value + 1).ToString(CultureInfo.InvariantCulture), token);
                        return value;
                    });
                }
                finally
                {
                    open.Release();
                }
            }
        })));

        Assert.Equal((Tasks * Increments).ToString(CultureInfo.InvariantCulture), await Dom0.ReadStringAsync(counter));
    });

    // ---------------------------------------------------------------- pipelining

    [Fact]
    public Task A_thousand_concurrent_reads_on_one_connection_each_get_their_own_value() => Scenario(async () =>
    {
        string area = await SharedAreaAsync();
        const int Count = 1000;
        string Node(int i) => string.Create(CultureInfo.InvariantCulture, $"{area}/pipe/{i}");
        string Value(int i) => string.Create(CultureInfo.InvariantCulture, $"value-{i}-{new string('x', i % 97)}");
        static bool Missing(int i) => i % 10 == 9;
        await Task.WhenAll(Enumerable.Range(0, Count).Where(i => !Missing(i)).Select(i => Dom0.WriteAsync(Node(i), Value(i)).AsTask()));

        // Every tenth read asks for a node that does not exist: error replies are matched to their requests too.
        string?[] values = await Task.WhenAll(Enumerable.Range(0, Count).Select(i => Client.TryReadStringAsync(Node(i)).AsTask()));

        for (int i = 0; i < Count; i++)
        {
            Assert.Equal(Missing(i) ? null : Value(i), values[i]);
        }
    });

    // ---------------------------------------------------------------- the daemon going away

    [Fact]
    public Task When_the_daemon_stops_a_socket_connection_fails_its_requests_and_watch_streams_with_a_connection_error() => Scenario(async () =>
    {
        await Dom0.WriteAsync("/stop/node", "x");
        XenStoreWatch watch = await Dom0.WatchAsync("/stop");
        await ExpectEventAsync(watch, "/stop");

        await Target.StopDaemonAsync();

        await Deadline.RunAsync(
            async token =>
            {
                await Assert.ThrowsAsync<XenStoreConnectionException>(async () =>
                {
                    await foreach (XenStoreWatchEvent e in watch.ReadAllAsync(token))
                    {
                        Assert.Fail($"the stopped daemon's watch delivered {e}");
                    }
                });
            },
            () => "the watch stream did not end when the daemon stopped");
        Assert.True(Dom0.IsFaulted);
        await Assert.ThrowsAsync<XenStoreConnectionException>(() => Dom0.ReadAsync("/stop/node").AsTask());
        await watch.DisposeAsync();
    });

    // ---------------------------------------------------------------- helpers

    /// <summary><paramref name="relative"/> under the home of the connection under test, as an absolute path.</summary>
    protected string At(string relative) => $"{Home}/{relative}";

    /// <summary>
    /// A dom0-owned node, <c>/scenario</c>, that the connection under test may read but (if it is a guest) not
    /// write; nodes dom0 creates below it inherit that and are charged to dom0, not to the guest's quota.
    /// </summary>
    protected async Task<string> SharedAreaAsync()
    {
        const string Area = "/scenario";
        await Dom0.MkdirAsync(Area);
        XsPermission[] permissions = Target.ClientDomainId == 0
            ? [new XsPermission(XsAccess.None, 0)]
            : [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, checked((ushort)Target.ClientDomainId))];
        await Dom0.SetPermissionsAsync(Area, permissions);
        return Area;
    }

    /// <summary>Runs one scenario, bounded so a hang fails it with the daemon's output instead of stalling the run.</summary>
    protected async Task Scenario(Func<Task> body)
    {
        ArgumentNullException.ThrowIfNull(body);
        Task run = body();
        using var bound = new CancellationTokenSource();
        if (await Task.WhenAny(run, Task.Delay(ScenarioBound, bound.Token)) != run)
        {
            throw new TimeoutException($"The scenario did not finish within {ScenarioBound.TotalSeconds:0} s. {Target.Describe()}");
        }

        await bound.CancelAsync();
        await run;
    }

    /// <summary>The next event of <paramref name="watch"/>, bounded by <see cref="Deadline"/>.</summary>
    protected Task<XenStoreWatchEvent> NextEventAsync(XenStoreWatch watch, string expecting)
    {
        ArgumentNullException.ThrowIfNull(watch);
        return Deadline.RunAsync(
            token => watch.ReadAsync(token).AsTask(),
            () => $"no event ({expecting}) for the watch on {watch.Path} with token {watch.Token}. {Target.Describe()}");
    }

    /// <summary>
    /// Reads <paramref name="watch"/>'s events until one for <paramref name="path"/> arrives and returns it.
    /// Other events are passed over (the protocol allows spurious events), except <paramref name="mustNotSee"/>,
    /// which fails the scenario if it comes first.
    /// </summary>
    protected async Task<XenStoreWatchEvent> ExpectEventAsync(XenStoreWatch watch, string path, string? mustNotSee = null)
    {
        ArgumentNullException.ThrowIfNull(watch);
        var passed = new List<string>();
        while (true)
        {
            XenStoreWatchEvent e = await NextEventAsync(watch, $"{path}, after {(passed.Count == 0 ? "none" : string.Join(", ", passed))}");
            Assert.Equal(watch.Token, e.Token);
            Assert.False(e.EventsWereDropped, $"events were dropped before {e.Path}");
            if (mustNotSee is not null && e.Path == mustNotSee)
            {
                Assert.Fail($"an event for {mustNotSee} arrived before the one for {path} (after {string.Join(", ", passed)})");
            }

            if (e.Path == path)
            {
                return e;
            }

            passed.Add(e.Path);
        }
    }
}
