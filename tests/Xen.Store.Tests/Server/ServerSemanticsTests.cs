using System.Text;
using Xen.Store.Client;
using Xen.Store.Wire;
using static Xen.Store.Tests.Server.TestExtensions;

namespace Xen.Store.Tests.Server;

public class ServerSemanticsTests
{
    private static XsPermission P(string s) => XsPermission.Parse(s);

    /// <summary>Makes /local/domain/{domid} owned by the domain, as a toolstack does before starting a guest.</summary>
    private static async Task MakeHome(XenStoreClient dom0, uint domid)
    {
        string home = XsPath.DomainPath(domid);
        await dom0.MkdirAsync(home);
        await dom0.SetPermissionsAsync(home, [new XsPermission(XsAccess.None, (ushort)domid)]);
    }

    [Fact]
    public async Task Initial_tree_is_that_of_C_xenstored()
    {
        await using var h = new ServerHarness();
        var c = h.Client();
        Assert.Equal(["tool"], await c.DirectoryAsync("/"));
        Assert.Equal(["xenstored"], await c.DirectoryAsync("/tool"));
        Assert.Equal(string.Empty, await c.ReadStringAsync("/tool/xenstored"));
        Assert.Equal([P("n0")], await c.GetPermissionsAsync("/tool"));
    }

    [Fact]
    public async Task Write_creates_implicit_parents_and_directory_lists_children_in_creation_order()
    {
        await using var h = new ServerHarness();
        var c = h.Client();
        await c.WriteAsync("/a/b/c", "1");
        await c.WriteAsync("/a/b/a", "2");
        await c.WriteAsync("/a/b/b", "");
        Assert.Equal(string.Empty, await c.ReadStringAsync("/a"));
        Assert.Equal(["c", "a", "b"], await c.DirectoryAsync("/a/b"));
        Assert.Equal("2", await c.ReadStringAsync("/a/b/a"));
        Assert.Empty(await c.ReadAsync("/a/b/b"));
        Assert.Empty(await c.DirectoryAsync("/a/b/c"));
        Assert.True(h.Server.CheckConsistency());
    }

    [Fact]
    public async Task Values_are_bytes_including_NULs()
    {
        await using var h = new ServerHarness();
        var c = h.Client();
        byte[] value = [0, 1, 2, 0, 255];
        await c.WriteAsync("/bin", value);
        Assert.Equal(value, await c.ReadAsync("/bin"));
    }

    [Fact]
    public async Task Rm_removes_subtrees_and_follows_the_missing_node_rules()
    {
        await using var h = new ServerHarness();
        var c = h.Client();
        await c.WriteAsync("/x/y/z", "v");
        await c.RemoveAsync("/x/y");
        Assert.False(await c.ExistsAsync("/x/y/z"));
        Assert.Empty(await c.DirectoryAsync("/x"));
        await c.RemoveAsync("/x/missing"); // parent exists: OK
        Assert.Equal(XsError.ENOENT, await ErrorOf(async () => await c.RemoveAsync("/nope/missing")));
        Assert.Equal(XsError.EINVAL, await ErrorOf(async () => await c.RemoveAsync("/")));
        Assert.True(h.Server.CheckConsistency());
    }

    [Fact]
    public async Task Mkdir_of_an_existing_node_keeps_its_value()
    {
        await using var h = new ServerHarness();
        var c = h.Client();
        await c.WriteAsync("/m", "keep");
        await c.MkdirAsync("/m");
        Assert.Equal("keep", await c.ReadStringAsync("/m"));
    }

    [Fact]
    public async Task Relative_paths_resolve_under_the_connections_home()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await MakeHome(dom0, 5);
        var guest = h.Client(5);
        await dom0.WriteAsync("rel", "zero");
        await guest.WriteAsync("data/x", "five");
        Assert.Equal("zero", await dom0.ReadStringAsync("/local/domain/0/rel"));
        Assert.Equal("five", await dom0.ReadStringAsync("/local/domain/5/data/x"));
        Assert.Equal("five", await guest.ReadStringAsync("/local/domain/5/data/x"));
        Assert.Equal("/local/domain/7", await guest.GetDomainPathAsync(7));
    }

    [Fact]
    public async Task Guests_are_denied_what_permissions_deny()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await MakeHome(dom0, 5);
        await dom0.WriteAsync("/pub", "p");
        await dom0.SetPermissionsAsync("/pub", [P("n0"), P("r5")]);
        await dom0.WriteAsync("/wo", "w");
        await dom0.SetPermissionsAsync("/wo", [P("n0"), P("w5")]);
        var guest = h.Client(5);
        var other = h.Client(6);

        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.ReadAsync("/tool/xenstored")));
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.DirectoryAsync("/")));
        Assert.Equal("p", await guest.ReadStringAsync("/pub"));
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.WriteAsync("/pub", "x")));
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.ReadAsync("/wo")));
        await guest.WriteAsync("/wo", "mine");
        Assert.Equal("mine", await dom0.ReadStringAsync("/wo"));
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await other.ReadAsync("/pub")));

        // A missing node: EACCES unless its nearest existing ancestor allows the access.
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.ReadAsync("/nope/nope")));
        Assert.Equal(XsError.ENOENT, await ErrorOf(async () => await guest.ReadAsync("/pub/nope")));
        Assert.Equal(XsError.ENOENT, await ErrorOf(async () => await guest.ReadAsync("nope")));

        // Toolstack operations are dom0's.
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.IntroduceAsync(9, 0, 1)));
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.IsDomainIntroducedAsync(5)));
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.ControlAsync("check")));
    }

    [Fact]
    public async Task A_guest_owns_what_it_creates_and_children_inherit_permissions()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await dom0.WriteAsync("/shared", "");
        await dom0.SetPermissionsAsync("/shared", [P("n0"), P("b5"), P("r6")]);
        var guest = h.Client(5);
        await guest.WriteAsync("/shared/g/leaf", "v");
        Assert.Equal([P("n5"), P("b5"), P("r6")], await dom0.GetPermissionsAsync("/shared/g"));
        Assert.Equal([P("n5"), P("b5"), P("r6")], await dom0.GetPermissionsAsync("/shared/g/leaf"));

        await dom0.WriteAsync("/shared/byzero/leaf", "v");
        Assert.Equal([P("n0"), P("b5"), P("r6")], await dom0.GetPermissionsAsync("/shared/byzero/leaf"));
        Assert.Equal("v", await h.Client(6).ReadStringAsync("/shared/byzero/leaf"));
    }

    [Fact]
    public async Task Only_the_owner_or_dom0_changes_permissions_and_only_dom0_changes_the_owner()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await MakeHome(dom0, 5);
        await dom0.WriteAsync("/local/domain/5/byzero", "");
        await dom0.SetPermissionsAsync("/local/domain/5/byzero", [P("n0"), P("b5")]);
        var guest = h.Client(5);
        await guest.WriteAsync("mine", "");
        await guest.SetPermissionsAsync("mine", [P("n5"), P("r6")]);
        Assert.Equal([P("n5"), P("r6")], await guest.GetPermissionsAsync("mine"));
        Assert.Equal(XsError.EPERM, await ErrorOf(async () => await guest.SetPermissionsAsync("mine", [P("n6")])));
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.SetPermissionsAsync("byzero", [P("n0"), P("b5"), P("r6")])));
        await dom0.SetPermissionsAsync("/local/domain/5/mine", [P("n7")]);
        Assert.Equal([P("n7")], await dom0.GetPermissionsAsync("/local/domain/5/mine"));
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.ReadAsync("mine")));
    }

    [Fact]
    public async Task Set_target_gives_a_domain_its_targets_rights()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await MakeHome(dom0, 5);
        var guest = h.Client(5);
        var stubdom = h.Client(6);
        await guest.WriteAsync("secret", "s");
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await stubdom.ReadAsync("/local/domain/5/secret")));
        await dom0.SetTargetAsync(6, 5);
        Assert.Equal("s", await stubdom.ReadStringAsync("/local/domain/5/secret"));
        await stubdom.WriteAsync("/local/domain/5/from-dm", "x");
        Assert.Equal(XsError.ENOENT, await ErrorOf(async () => await dom0.SetTargetAsync(6, 99)));
    }

    [Fact]
    public async Task Transactions_commit_atomically_and_conflicts_fail_with_EAGAIN()
    {
        await using var h = new ServerHarness();
        var a = h.Client();
        var b = h.Client();
        await a.WriteAsync("/t/n", "a");

        await using (var tx = await a.StartTransactionAsync())
        {
            await tx.WriteAsync("/t/n", "in-tx");
            await tx.WriteAsync("/t/new", "1");
            Assert.Equal("a", await b.ReadStringAsync("/t/n"));
            Assert.False(await b.ExistsAsync("/t/new"));
            Assert.Equal("in-tx", await tx.ReadStringAsync("/t/n"));
            await tx.CommitAsync();
        }

        Assert.Equal("in-tx", await b.ReadStringAsync("/t/n"));
        Assert.Equal("1", await b.ReadStringAsync("/t/new"));

        // Xen's test-xenstore "ta err": a transaction keeps seeing what it read, and its commit fails.
        await using (var tx = await a.StartTransactionAsync())
        {
            Assert.Equal("in-tx", await tx.ReadStringAsync("/t/n"));
            await b.WriteAsync("/t/n", "b");
            Assert.Equal("in-tx", await tx.ReadStringAsync("/t/n"));
            await tx.WriteAsync("/t/n", "c");
            Assert.Equal(XsError.EAGAIN, await ErrorOf(async () => await tx.CommitAsync()));
        }

        Assert.Equal("b", await a.ReadStringAsync("/t/n"));

        // Creating a child changes the parent: a transaction that listed it conflicts.
        await using (var tx = await a.StartTransactionAsync())
        {
            await tx.DirectoryAsync("/t");
            await b.WriteAsync("/t/other", "x");
            await tx.WriteAsync("/elsewhere", "y");
            Assert.Equal(XsError.EAGAIN, await ErrorOf(async () => await tx.CommitAsync()));
        }

        Assert.False(await a.ExistsAsync("/elsewhere"));

        // An abort discards; untouched nodes changing meanwhile do not conflict.
        await using (var tx = await a.StartTransactionAsync())
        {
            await tx.WriteAsync("/t/aborted", "z");
            await tx.AbortAsync();
        }

        Assert.False(await a.ExistsAsync("/t/aborted"));
        await using (var tx = await a.StartTransactionAsync())
        {
            await tx.WriteAsync("/t/independent", "1");
            await b.WriteAsync("/unrelated", "2");
            await tx.CommitAsync();
        }

        Assert.True(h.Server.CheckConsistency());
    }

    [Fact]
    public async Task Removal_inside_a_transaction_is_private_until_commit()
    {
        await using var h = new ServerHarness();
        var a = h.Client();
        await a.WriteAsync("/r/a/b", "1");
        await using var tx = await a.StartTransactionAsync();
        await tx.RemoveAsync("/r/a");
        Assert.False(await tx.ExistsAsync("/r/a/b"));
        Assert.True(await a.ExistsAsync("/r/a/b"));
        await tx.CommitAsync();
        Assert.False(await a.ExistsAsync("/r/a"));
        Assert.Empty(await a.DirectoryAsync("/r"));
        Assert.True(h.Server.CheckConsistency());
    }

    [Fact]
    public async Task Watches_fire_initially_for_the_subtree_and_with_relative_paths()
    {
        await using var h = new ServerHarness();
        var a = h.Client();
        var b = h.Client();
        await using var w = await a.WatchAsync("/w", "tok");
        Assert.Equal("/w", (await w.NextAsync()).Path);
        await b.WriteAsync("/w/x/y", "1");
        Assert.Equal("/w/x/y", (await w.NextAsync()).Path);
        await b.WriteAsync("/wother", "1"); // not below /w
        await b.WriteAsync("/w", "2");
        Assert.Equal("/w", (await w.NextAsync()).Path);

        await using var rel = await a.WatchAsync("rel", "r");
        Assert.Equal("rel", (await rel.NextAsync()).Path);
        await b.WriteAsync("/local/domain/0/rel/k", "v");
        Assert.Equal("rel/k", (await rel.NextAsync()).Path);
    }

    [Fact]
    public async Task Removing_a_subtree_fires_watches_below_it_with_their_own_path()
    {
        await using var h = new ServerHarness();
        var a = h.Client();
        await a.WriteAsync("/s/x/y/z", "1");
        await using var deep = await a.WatchAsync("/s/x/y", "deep");
        await using var top = await a.WatchAsync("/s", "top");
        await deep.NextAsync();
        await top.NextAsync();
        await a.RemoveAsync("/s/x");
        Assert.Equal("/s/x/y", (await deep.NextAsync()).Path);
        Assert.Equal("/s/x", (await top.NextAsync()).Path);
    }

    [Fact]
    public async Task Watch_events_only_reach_connections_allowed_to_read()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await MakeHome(dom0, 5);
        var guest = h.Client(5);
        await using var w = await guest.WatchAsync("/local/domain/5", "t");
        Assert.Equal("/local/domain/5", (await w.NextAsync()).Path);
        await dom0.WriteAsync("/local/domain/5/hidden", "x");
        Assert.Equal("/local/domain/5/hidden", (await w.NextAsync()).Path); // inherits n5: readable
        await dom0.SetPermissionsAsync("/local/domain/5/hidden", [P("n0")]);
        Assert.Equal("/local/domain/5/hidden", (await w.NextAsync()).Path); // readable before the change
        await dom0.WriteAsync("/local/domain/5/hidden", "secret"); // not readable now: no event
        await dom0.WriteAsync("/local/domain/5/visible", "y");
        Assert.Equal("/local/domain/5/visible", (await w.NextAsync()).Path);

        await using var tool = await guest.WatchAsync("/tool", "tool");
        Assert.Equal("/tool", (await tool.NextAsync()).Path); // the initial event is always sent
        await dom0.WriteAsync("/tool/x", "x");
        await dom0.WriteAsync("/tool/y", "y");
        await dom0.SetPermissionsAsync("/tool/y", [P("r5")]);
        Assert.Equal("/tool/y", (await tool.NextAsync()).Path);
    }

    [Fact]
    public async Task Transactional_changes_fire_at_commit_and_not_on_abort()
    {
        await using var h = new ServerHarness();
        var a = h.Client();
        var b = h.Client();
        await a.WriteAsync("/tw/direct", "0");
        await using var w = await b.WatchAsync("/tw", "t");
        await w.NextAsync();
        await using (var tx = await a.StartTransactionAsync())
        {
            await tx.WriteAsync("/tw/aborted", "1");
            await tx.AbortAsync();
        }

        await using (var tx = await a.StartTransactionAsync())
        {
            await tx.WriteAsync("/tw/1", "1");
            await tx.WriteAsync("/tw/2", "2");
            await a.WriteAsync("/tw/direct", "d"); // an existing node outside the transaction: no conflict
            Assert.Equal("/tw/direct", (await w.NextAsync()).Path);
            await tx.CommitAsync();
        }

        Assert.Equal("/tw/1", (await w.NextAsync()).Path);
        Assert.Equal("/tw/2", (await w.NextAsync()).Path);
    }

    [Fact]
    public async Task Watch_registration_errors_and_depth()
    {
        await using var h = new ServerHarness();
        var a = h.Client();
        await using var w = await a.WatchAsync("/d", "same");
        Assert.Equal(XsError.EEXIST, await ErrorOf(async () => await a.WatchAsync("/d", "same")));
        var raw = h.Raw();
        Assert.Equal((XsMessageType.Error, "ENOENT\0"), await raw.CallAsync(XsMessageType.Unwatch, "/never\0tok\0"));
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.CallAsync(XsMessageType.Watch, "/bad path\0tok\0"));

        await using var shallow = await a.WatchAsync("/d", "shallow", depth: 1);
        Assert.Equal("/d", (await shallow.NextAsync()).Path);
        await a.WriteAsync("/d/e/f", "deep");
        await a.WriteAsync("/d/e", "one level");
        Assert.Equal("/d/e", (await shallow.NextAsync()).Path);
    }

    [Fact]
    public async Task Introduce_and_release_fire_the_special_watches_for_privileged_connections()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await using var intro = await dom0.WatchAsync(XsPath.IntroduceDomain, "i");
        await using var release = await dom0.WatchAsync(XsPath.ReleaseDomain, "r");
        Assert.Equal(XsPath.IntroduceDomain, (await intro.NextAsync()).Path);
        Assert.Equal(XsPath.ReleaseDomain, (await release.NextAsync()).Path);
        Assert.False(await dom0.IsDomainIntroducedAsync(3));
        await dom0.IntroduceAsync(3, 0, 1);
        Assert.True(await dom0.IsDomainIntroducedAsync(3));
        Assert.Equal(XsPath.IntroduceDomain, (await intro.NextAsync()).Path);
        await dom0.ResumeAsync(3);
        await dom0.ReleaseAsync(3);
        Assert.Equal(XsPath.ReleaseDomain, (await release.NextAsync()).Path);
        Assert.False(await dom0.IsDomainIntroducedAsync(3));
        Assert.Equal(XsError.ENOENT, await ErrorOf(async () => await dom0.ReleaseAsync(3)));
        Assert.True(await dom0.IsDomainIntroducedAsync(0));
    }

    [Fact]
    public async Task Special_watches_with_a_depth_name_the_domain_as_Xen_4_22s_do()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await using var plain = await dom0.WatchAsync(XsPath.ReleaseDomain, "plain");
        await using var deep = await dom0.WatchAsync(XsPath.ReleaseDomain, "deep", depth: 1);
        await using var flat = await dom0.WatchAsync(XsPath.ReleaseDomain, "flat", depth: 0);
        await using var one = await dom0.WatchAsync($"{XsPath.ReleaseDomain}/3", "one");
        await using var other = await dom0.WatchAsync($"{XsPath.ReleaseDomain}/4", "other");
        await using var introduced = await dom0.WatchAsync(XsPath.IntroduceDomain, "introduced", depth: 1);
        await using var introducedThree = await dom0.WatchAsync($"{XsPath.IntroduceDomain}/3", "three");
        foreach (XenStoreWatch w in new[] { plain, deep, flat, one, other, introduced, introducedThree })
        {
            Assert.Equal(w.Path, (await w.NextAsync()).Path); // the initial event, under the path watched
        }

        await dom0.IntroduceAsync(3, 0, 1);
        Assert.Equal($"{XsPath.IntroduceDomain}/3", (await introduced.NextAsync()).Path);
        Assert.Equal($"{XsPath.IntroduceDomain}/3", (await introducedThree.NextAsync()).Path);
        await dom0.ReleaseAsync(3);
        Assert.Equal(XsPath.ReleaseDomain, (await plain.NextAsync()).Path);
        Assert.Equal($"{XsPath.ReleaseDomain}/3", (await deep.NextAsync()).Path);
        Assert.Equal($"{XsPath.ReleaseDomain}/3", (await one.NextAsync()).Path);
        await dom0.ReadAsync("/tool"); // a round trip after the release: any event for it has been sent by now
        Assert.False(flat.TryRead(out _)); // depth 0: the special node alone, which has no event of its own
        Assert.False(other.TryRead(out _));
    }

    [Fact]
    public async Task Reset_watches_drops_watches_and_transactions()
    {
        await using var h = new ServerHarness();
        var raw = h.Raw();
        Assert.Equal(XsMessageType.Watch, (await raw.CallAsync(XsMessageType.Watch, "/rw\0t\0")).Type);
        Assert.Equal(XsMessageType.WatchEvent, (await raw.ReceiveAsync())!.Value.Header.Type);
        Assert.Equal((XsMessageType.TransactionStart, "1\0"), await raw.CallAsync(XsMessageType.TransactionStart, "\0"));
        Assert.Equal((XsMessageType.ResetWatches, "OK\0"), await raw.CallAsync(XsMessageType.ResetWatches, "\0"));
        Assert.Equal((XsMessageType.Error, "ENOENT\0"), await raw.CallAsync(XsMessageType.Unwatch, "/rw\0t\0"));
        Assert.Equal((XsMessageType.Error, "ENOENT\0"), await raw.CallAsync(XsMessageType.Read, "/tool\0", txId: 1));
    }

    [Fact]
    public async Task Large_directories_are_listed_with_DIRECTORY_PART()
    {
        await using var h = new ServerHarness();
        var c = h.Client();
        var expected = new List<string>();
        for (int i = 0; i < 300; i++)
        {
            string name = $"child-with-a-long-name-{i:D4}";
            expected.Add(name);
            await c.WriteAsync("/big/" + name, "");
        }

        var raw = h.Raw();
        Assert.Equal((XsMessageType.Error, "E2BIG\0"), await raw.CallAsync(XsMessageType.Directory, "/big\0"));
        Assert.Equal(expected, await c.DirectoryAsync("/big"));

        var (type, first) = await raw.CallAsync(XsMessageType.DirectoryPart, "/big\0" + "0\0");
        Assert.Equal(XsMessageType.DirectoryPart, type);
        Assert.True(first.Length <= XsHeader.PayloadMax);
        Assert.False(first.EndsWith("\0\0", StringComparison.Ordinal)); // not the last chunk
        var (_, small) = await raw.CallAsync(XsMessageType.DirectoryPart, "/tool\0" + "3\0");
        Assert.EndsWith("\0stored\0\0", small, StringComparison.Ordinal); // offsets are bytes; the last chunk ends with an extra NUL
    }

    [Fact]
    public async Task Guest_quotas_answer_as_C_xenstored_and_dom0_is_exempt()
    {
        await using var h = new ServerHarness();
        var dom0 = h.Client();
        await MakeHome(dom0, 5);
        var guest = h.Client(5);
        await dom0.SetQuotaAsync(5, "nodes", 4);
        Assert.Equal("4", await dom0.GetQuotaAsync(5, "nodes"));
        await guest.WriteAsync("a", ""); // the home is the first node it owns
        await guest.WriteAsync("b", "");
        await guest.WriteAsync("c", "");
        Assert.Equal(XsError.ENOSPC, await ErrorOf(async () => await guest.WriteAsync("d", "")));
        // node-size binds C xenstored's record: 24 bytes of header, 8 per permission, the value and the child names.
        Assert.Equal(XsError.ENOSPC, await ErrorOf(async () => await guest.WriteAsync("c", new byte[2016])));
        await guest.WriteAsync("c", new byte[2015]);
        Assert.Equal(XsError.ENOSPC, await ErrorOf(async () => await guest.SetPermissionsAsync("c", [P("n5"), P("r1")])));
        await guest.WriteAsync("c", "");
        Assert.Equal(XsError.ENOSPC, await ErrorOf(async () => await guest.SetPermissionsAsync("c", [P("n5"), P("r1"), P("r2"), P("r3"), P("r4"), P("r6")])));
        await guest.SetPermissionsAsync("c", [P("n5"), P("r1"), P("r2"), P("r3"), P("r4")]);
        for (int i = 0; i < 20; i++)
        {
            await dom0.WriteAsync($"/local/domain/5/by-dom0/{i}", new byte[3000]); // dom0 is exempt
        }

        var txs = new List<XenStoreTransaction>();
        for (int i = 0; i < 11; i++)
        {
            txs.Add(await guest.StartTransactionAsync());
        }

        Assert.Equal(XsError.ENOSPC, await ErrorOf(async () => await guest.StartTransactionAsync()));
        foreach (var tx in txs)
        {
            await tx.AbortAsync();
        }

        await dom0.SetQuotaAsync(5, "watches", 2);
        await guest.WatchAsync("a", "1");
        await guest.WatchAsync("a", "2");
        await guest.WatchAsync("a", "3");
        Assert.Equal(XsError.E2BIG, await ErrorOf(async () => await guest.WatchAsync("a", "4")));
    }

    [Fact]
    public async Task Path_length_limits_answer_EINVAL()
    {
        await using var h = new ServerHarness();
        var raw = h.Raw();
        string seg = new('a', 100);
        string p2019 = string.Join('/', Enumerable.Repeat(seg, 20));
        string p2120 = string.Join('/', Enumerable.Repeat(seg, 21));
        Assert.Equal((XsMessageType.Write, "OK\0"), await raw.CallAsync(XsMessageType.Write, p2019 + "\0v"));
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.CallAsync(XsMessageType.Write, p2120 + "\0v"));
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await raw.CallAsync(XsMessageType.Write, "/local/domain/0/" + p2120 + "\0v"));
    }

    [Fact]
    public async Task Control_check_help_and_quota()
    {
        await using var h = new ServerHarness();
        var c = h.Client();
        Assert.Equal("OK\0"u8.ToArray(), await c.ControlAsync("check"));
        Assert.Contains("quota", Encoding.ASCII.GetString(await c.ControlAsync("help")), StringComparison.Ordinal);
        string quota = Encoding.ASCII.GetString(await c.ControlAsync("quota"));
        Assert.Matches(@"nodes\s+:\s+1000", quota);
        Assert.Matches(@"watches\s+:\s+128", quota);
        await c.ControlAsync("quota", ["set", "nodes", "50"]);
        Assert.Equal("50", await c.GetQuotaAsync(null, "nodes"));
        Assert.Matches(@"Domain 0:\nnodes\s+:\s+3", Encoding.ASCII.GetString(await c.ControlAsync("quota", ["0"])));
        Assert.Equal(XsError.EINVAL, await ErrorOf(async () => await c.ControlAsync("bogus")));
        Assert.Equal(7u, await c.GetFeatureAsync()); // RECONNECTION, ERROR, WATCHDEPTH
    }

    [Fact]
    public async Task SET_FEATURE_and_GET_FEATURE_follow_Xen_4_22s_rules()
    {
        await using var h = new ServerHarness();
        var c = h.Client();
        Assert.Equal(7u, await c.GetFeatureAsync(10)); // a domain has the server's features until SET_FEATURE
        await c.SetFeatureAsync(9, 2);
        Assert.Equal(2u, await c.GetFeatureAsync(9));
        Assert.Equal(XsError.EINVAL, await ErrorOf(async () => await c.SetFeatureAsync(9, 0xFF))); // bits the server lacks
        Assert.Equal(XsError.EBUSY, await ErrorOf(async () => await c.SetFeatureAsync(0, 1))); // dom0 is introduced
        Assert.Equal(XsError.ENOENT, await ErrorOf(async () => await c.SetFeatureAsync(0x7FF5, 1))); // a reserved domid is no domain
        Assert.Equal(XsError.EINVAL, await ErrorOf(async () => await c.SetFeatureAsync(70000, 1)));
        Assert.Equal(XsError.ENOENT, await ErrorOf(async () => await c.GetFeatureAsync(0x7FF5)));

        await c.IntroduceAsync(9, 0x1234, 5);
        Assert.Equal(XsError.EBUSY, await ErrorOf(async () => await c.SetFeatureAsync(9, 1))); // the guest may have read them
        var guest = h.Client(9);
        Assert.Equal(2u, await guest.GetFeatureAsync()); // its own, which a guest may ask since 4.22
        // A depth from a domain without WATCHDEPTH is EINVAL; with it (domain 10 has the server's features), a watch.
        Assert.Equal((XsMessageType.Error, "EINVAL\0"), await h.Raw(9).CallAsync(XsMessageType.Watch, "data\0tok\01\0"));
        Assert.Equal((XsMessageType.Watch, "OK\0"), await h.Raw(10).CallAsync(XsMessageType.Watch, "data\0tok\01\0"));
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.GetFeatureAsync(9))); // naming a domain: dom0 only
        Assert.Equal(XsError.EACCES, await ErrorOf(async () => await guest.SetFeatureAsync(9, 1)));
    }
}
