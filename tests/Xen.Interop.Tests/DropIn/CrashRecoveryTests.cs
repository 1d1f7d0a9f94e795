using System.Globalization;
using System.Text.RegularExpressions;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Transports;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// <c>xen store serve --state-dir</c> killed with SIGKILL at random moments while several clients keep many changes in
/// flight, and started again on the same directory: every change whose reply came back is there (or a later one), a
/// transaction is there whole or not at all, removed nodes stay removed, and the directory stays bounded. Xen's own
/// <c>xenstore-control check</c> and <c>xenstore-ls</c> read the store that the last restart resumed.
/// </summary>
/// <remarks>
/// The random choices (the delay before each kill, each writer's mix of requests) come from a seed printed in the test's
/// output and in every failure; <c>XEN_CRASH_SEED=&lt;n&gt;</c> repeats them. Where the kills land still depends on timing,
/// so a seed repeats the workload, not necessarily the failure.
/// </remarks>
[Trait("Category", "Interop")]
public sealed class CrashRecoveryTests(ITestOutputHelper output)
{
    private const string XenstoreControl = "/usr/lib/xen-4.17/bin/xenstore-control";
    private const int Writers = 4;

    [Fact]
    public Task At_write_durability_with_frequent_compactions_nothing_acknowledged_is_lost_across_32_kill_KILLs() =>
        CrashLoopAsync("write", kills: 32, compactAfterBytes: 20_000, expectSnapshot: true);

    [Fact]
    public Task At_fsync_durability_with_group_commits_in_flight_nothing_acknowledged_is_lost_across_28_kill_KILLs() =>
        CrashLoopAsync("fsync", kills: 28, compactAfterBytes: 60_000, expectSnapshot: false);

    [Fact]
    public async Task Our_client_reconnects_after_a_kill_KILL_and_restart_its_watch_registered_again_after_a_gap_marker()
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool);
        string directory = ShortDirectory();
        PeerDaemon? first = null;
        try
        {
            string state = Path.Combine(directory, "state");
            string socket = Path.Combine(directory, "socket");
            first = await StartAsync(socket, state, "write", 16 << 20, resuming: false);
            var options = new XenStoreClientOptions
            {
                Reconnect = async ct => await UnixSocketTransport.ConnectAsync(socket, ct),
                ReconnectAttempts = 100,
                ReconnectDelay = TimeSpan.FromMilliseconds(20),
            };
            await using XenStoreClient client = XenStoreClient.Create(await UnixSocketTransport.ConnectAsync(socket), options);
            await client.WriteAsync("/survivor/kept", "before the kill");
            await using XenStoreWatch watch = await client.WatchAsync("/survivor", "tok");
            Assert.Equal(new XenStoreWatchEvent("/survivor", "tok"), await NextEventAsync(watch, () => "no initial event for the watch"));
            await using XenStoreTransaction open = await client.StartTransactionAsync();
            await open.WriteAsync("/survivor/in-transaction", "never committed");

            first.Dispose(); // SIGKILL
            first = null;
            using PeerDaemon second = await StartAsync(socket, state, "write", 16 << 20, resuming: true);

            XenStoreWatchEvent gap = await NextEventAsync(watch, () => $"no event after the restart; the new server said: {second.Output}");
            Assert.Equal(new XenStoreWatchEvent("/survivor", "tok", EventsWereDropped: true), gap);
            // The new registration's own initial event: the watch is in place on the new server.
            Assert.Equal(new XenStoreWatchEvent("/survivor", "tok"), await NextEventAsync(watch, () => "the watch was not registered again"));

            Assert.Equal("before the kill", await client.ReadStringAsync("/survivor/kept"));
            await Assert.ThrowsAsync<XenStoreConnectionException>(() => open.CommitAsync().AsTask());
            Assert.Null(await client.TryReadStringAsync("/survivor/in-transaction"));

            await using (XenStoreClient other = await XenStoreClient.ConnectAsync(socket))
            {
                await other.WriteAsync("/survivor/new", "after the restart");
            }

            XenStoreWatchEvent fired = await NextEventAsync(watch, () => "the watch did not fire for a write made after the restart");
            Assert.Equal(new XenStoreWatchEvent("/survivor/new", "tok"), fired);
            await client.WriteAsync("/survivor/own", "written through the new connection");
            Assert.Equal("written through the new connection", await client.ReadStringAsync("/survivor/own"));
            Assert.False(client.IsFaulted);
        }
        finally
        {
            first?.Dispose();
            Directory.Delete(directory, recursive: true);
        }
    }

    private async Task CrashLoopAsync(string durability, int kills, int compactAfterBytes, bool expectSnapshot)
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool, XenstoreControl, "xenstore-ls");
        int seed = Environment.GetEnvironmentVariable("XEN_CRASH_SEED") is { Length: > 0 } fixedSeed
            ? int.Parse(fixedSeed, CultureInfo.InvariantCulture)
            : Random.Shared.Next();
        output.WriteLine($"seed {seed} (XEN_CRASH_SEED={seed} repeats the choices)");
        string directory = ShortDirectory();
        try
        {
            string state = Path.Combine(directory, "state");
            string socket = Path.Combine(directory, "socket");
            var random = new Random(seed);
            var model = new StoreModel();
            var stats = new DirectoryStats(state);
            ulong lastChange = 0;
            long acknowledgedBefore = 0;
            int resumedFromSnapshot = 0;
            for (int round = 0; ; round++)
            {
                string when = $"after kill {round} of {kills} ({durability}, seed {seed})";
                using PeerDaemon serve = await StartAsync(socket, state, durability, compactAfterBytes, resuming: round > 0);
                if (round > 0)
                {
                    Match resumed = Regex.Match(serve.Output, @"xen store serve: resumed (\S+) at change (\d+) \(([^)]*)\)");
                    Assert.True(resumed.Success, $"no resumed line {when}: {serve.Output}");
                    Assert.Equal(state, resumed.Groups[1].Value);
                    ulong change = ulong.Parse(resumed.Groups[2].Value, CultureInfo.InvariantCulture);
                    // Each acknowledged change is a journal record, so one acknowledged since the last start moves the number on.
                    bool changedSince = model.Acknowledged > acknowledgedBefore;
                    Assert.True(changedSince ? change > lastChange : change >= lastChange,
                        $"resumed at change {change} {when}, having resumed at {lastChange} before and acknowledged {model.Acknowledged - acknowledgedBefore} changes since");
                    lastChange = change;
                    resumedFromSnapshot += resumed.Groups[3].Value.StartsWith("snapshot", StringComparison.Ordinal) ? 1 : 0;
                }

                await using (XenStoreClient checker = await XenStoreClient.ConnectAsync(socket))
                {
                    if (round == 0)
                    {
                        await model.SetUpAsync(checker, Writers);
                    }

                    await model.VerifyAndSettleAsync(checker, when);
                    Assert.Equal("OK", XsPayload.FirstString(await checker.ControlAsync("check")));
                }

                if (round == kills)
                {
                    await VerifyWithXenToolsAsync(socket, model, when);
                    break;
                }

                acknowledgedBefore = model.Acknowledged;
                using var stop = new CancellationTokenSource();
                Task[] writers = [.. Enumerable.Range(0, Writers).Select(w =>
                    Task.Run(() => WriteUntilKilledAsync(socket, model, w, new Random(unchecked((seed * 7919) + (round * 131) + w)), stop.Token)))];
                await Task.Delay(random.Next(20, 400));
                serve.Dispose(); // SIGKILL (Process.Kill), with the writers' requests in flight
                await stop.CancelAsync();
                await Deadline.RunAsync(t => Task.WhenAll(writers).WaitAsync(t), () => $"the writers did not notice the kill {when}");
                stats.AfterKill(when);
            }

            output.WriteLine($"{durability}: {kills} kills, {model.Acknowledged} changes acknowledged, {resumedFromSnapshot} restarts from a snapshot; {stats}");
            Assert.True(model.Acknowledged > kills * 10, $"only {model.Acknowledged} changes were acknowledged in {kills} rounds (seed {seed})");
            Assert.True(!expectSnapshot || stats.SawSnapshot, $"the journal was never compacted into a snapshot: {stats}");
            Assert.True(resumedFromSnapshot > 0 || !expectSnapshot, $"no restart resumed from a snapshot: {stats}");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>
    /// One writer: batches of pipelined requests on its own nodes (writes with ever new values, removals of leaves and of
    /// a subtree, MKDIRs, SET_PERMS, transactions writing or removing a pair of nodes together, and for writer 0 a quota),
    /// each recorded by the model as attempted before it is sent and as acknowledged once its reply is in, until the kill
    /// breaks the connection. Any failure other than the lost connection fails the test.
    /// </summary>
    private static async Task WriteUntilKilledAsync(string socket, StoreModel model, int writer, Random random, CancellationToken stop)
    {
        XenStoreClient client;
        try
        {
            client = await XenStoreClient.ConnectAsync(socket, cancellationToken: stop);
        }
        catch (Exception e) when (IsKill(e))
        {
            return;
        }

        await using (client)
        {
            string home = $"/crash/w{writer}";
            for (int batch = 0; !stop.IsCancellationRequested && !client.IsFaulted; batch++)
            {
                string Value(int i) => $"{writer}.{model.Round}.{batch}.{i}";
                var requests = new List<Task>();

                foreach (int k in Pick(random, StoreModel.LeafKeys, 16))
                {
                    string path = $"{home}/k{k}";
                    bool remove = random.Next(100) < 15;
                    string value = Value(k);
                    requests.Add(model.Track([(StoreModel.Node(path), remove ? null : value)], remove ? () => RemoveIfThereAsync(client, path) : () => client.WriteAsync(path, value).AsTask()));
                }

                foreach (int m in Pick(random, StoreModel.DirectoryKeys, 2))
                {
                    string path = $"{home}/m{m}";
                    bool remove = random.Next(2) == 0;
                    requests.Add(model.Track([(StoreModel.Node(path), remove ? null : "")], remove ? () => RemoveIfThereAsync(client, path) : () => client.MkdirAsync(path).AsTask()));
                }

                int tree = random.Next(StoreModel.Trees);
                string treePath = $"{home}/t{tree}";
                if (random.Next(3) == 0)
                {
                    // The whole subtree in one RM: the directory and every leaf under it are gone together.
                    var effects = new List<(ModelKey, string?)> { (StoreModel.Node(treePath), null) };
                    effects.AddRange(Enumerable.Range(0, StoreModel.TreeLeaves).Select(i => (StoreModel.Node($"{treePath}/{i}"), (string?)null)));
                    requests.Add(model.Track(effects, () => RemoveIfThereAsync(client, treePath)));
                }
                else
                {
                    foreach (int leaf in Pick(random, StoreModel.TreeLeaves, 2))
                    {
                        string path = $"{treePath}/{leaf}";
                        string value = Value(100 + leaf);
                        requests.Add(model.Track([(StoreModel.Node(path), value), (StoreModel.Node(treePath), "")], () => client.WriteAsync(path, value).AsTask()));
                    }
                }

                int permissionNode = random.Next(StoreModel.PermissionNodes);
                string permissionPath = $"{home}/perm{permissionNode}";
                XsPermission[] permissions = RandomPermissions(random);
                requests.Add(model.Track([(StoreModel.Permissions(permissionPath), StoreModel.Format(permissions))], () => client.SetPermissionsAsync(permissionPath, permissions).AsTask()));

                // One transaction per pair at a time: its change lands at its commit, later than requests sent after it.
                int pair = batch % StoreModel.Pairs;
                string a = $"{home}/ta{pair}", b = $"{home}/tb{pair}";
                bool removePair = random.Next(5) == 0;
                string pairValue = Value(200 + pair);
                requests.Add(model.Track([(StoreModel.Node(a), removePair ? null : pairValue), (StoreModel.Node(b), removePair ? null : pairValue)], () => client.RunTransactionAsync(async (tx, ct) =>
                {
                    if (removePair)
                    {
                        await RemoveIfThereAsync(tx, a);
                        await RemoveIfThereAsync(tx, b);
                    }
                    else
                    {
                        await tx.WriteAsync(a, pairValue, ct);
                        await tx.WriteAsync(b, pairValue, ct);
                    }

                    return 0;
                }).AsTask()));

                if (writer == 0)
                {
                    uint quota = (uint)(1000 + (model.Round * 1000) + batch);
                    requests.Add(model.Track([(StoreModel.Quota("watches"), quota.ToString(CultureInfo.InvariantCulture))], () => client.SetQuotaAsync(null, "watches", quota).AsTask()));
                }

                try
                {
                    await Task.WhenAll(requests);
                }
                catch (Exception) when (requests.All(r => r.Exception is null || r.Exception.InnerExceptions.All(IsKill)))
                {
                    return; // the server is gone: what was acknowledged is recorded, the rest stays attempted
                }
            }
        }
    }

    private static bool IsKill(Exception e) => e is XenStoreConnectionException or OperationCanceledException;

    private static async Task RemoveIfThereAsync(XenStoreOperations store, string path)
    {
        try
        {
            await store.RemoveAsync(path);
        }
        catch (XenStoreErrorException e) when (e.Error == XsError.ENOENT)
        {
            // Absent all the same.
        }
    }

    private static IEnumerable<int> Pick(Random random, int count, int howMany) =>
        Enumerable.Range(0, count).OrderBy(_ => random.Next()).Take(howMany);

    private static XsPermission[] RandomPermissions(Random random)
    {
        var entries = new List<XsPermission> { new((XsAccess)random.Next(4), (ushort)random.Next(10)) };
        foreach (int domain in Pick(random, 200, random.Next(4)))
        {
            entries.Add(new XsPermission((XsAccess)random.Next(4), (ushort)(domain + 10)));
        }

        return [.. entries];
    }

    /// <summary>Xen's own tools see the same store: <c>xenstore-control check</c> passes and <c>xenstore-ls</c> lists what the model expects.</summary>
    private static async Task VerifyWithXenToolsAsync(string socket, StoreModel model, string when)
    {
        var environment = new Dictionary<string, string> { ["XENSTORED_PATH"] = socket };
        PeerCommandResult check = await PeerCommand.RunAsync(XenstoreControl, ["check"], environment);
        Assert.Equal((0, "OK\n"), (check.ExitCode, check.StandardOutput + check.StandardError));

        PeerCommandResult listing = await PeerCommand.RunAsync("xenstore-ls", ["-f", "-p", "/crash"], environment);
        Assert.True(listing.ExitCode == 0, $"xenstore-ls failed {when}: {listing.StandardOutput}{listing.StandardError}");
        var listed = new Dictionary<string, (string Value, string Permissions)>(StringComparer.Ordinal);
        foreach (string line in listing.StandardOutput.Split('\n', StringSplitOptions.RemoveEmptyEntries))
        {
            Match m = Regex.Match(line, @"^(\S+) = ""(.*)"" +\((.*)\)$");
            Assert.True(m.Success, $"xenstore-ls printed {line}");
            listed[m.Groups[1].Value] = (m.Groups[2].Value, m.Groups[3].Value);
        }

        Dictionary<ModelKey, string?> expected = model.Settled();
        foreach (var (key, value) in expected)
        {
            switch (key.Kind)
            {
                case "node":
                    Assert.True(value is null ? !listed.ContainsKey(key.Name) : listed.TryGetValue(key.Name, out var n) && n.Value == value,
                        $"xenstore-ls {when} shows {key.Name} as {(listed.TryGetValue(key.Name, out var l) ? $"\"{l.Value}\"" : "absent")}, our client read {value ?? "nothing"}");
                    break;
                case "perms":
                    Assert.Equal((key.Name, value), (key.Name, listed.GetValueOrDefault(key.Name).Permissions));
                    break;
            }
        }
    }

    private static async Task<XenStoreWatchEvent> NextEventAsync(XenStoreWatch watch, Func<string> describeMissing) =>
        await Deadline.RunAsync(t => watch.ReadAsync(t).AsTask(), describeMissing);

    private static Task<PeerDaemon> StartAsync(string socket, string state, string durability, int compactAfterBytes, bool resuming) =>
        StoreServeProcess.StartAsync(
            ["-D", "--socket", socket, "--state-dir", state, "--durability", durability, "--compact-after", compactAfterBytes.ToString(CultureInfo.InvariantCulture)],
            resuming ? "xen store serve: resumed" : null);

    private static string ShortDirectory()
    {
        string path = $"/tmp/xk-{Guid.NewGuid().ToString("N")[..8]}";
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>One thing the model tracks: a node's value (<c>node</c>), a node's permissions (<c>perms</c>) or a global quota (<c>quota</c>).</summary>
    private readonly record struct ModelKey(string Kind, string Name)
    {
        public override string ToString() => $"{Kind} {Name}";
    }

    /// <summary>
    /// What the store may hold. Per key, the last acknowledged value (null: the node is absent) and the values attempted
    /// since, in the order they were sent, whose replies had not come when the server died: any of those may have been
    /// kept, nothing older. The daemon carries out one connection's requests in order, and each key belongs to one writer,
    /// so an acknowledgement supersedes every attempt sent before it. A transaction's change lands at its commit, so a
    /// transaction's keys are touched by nothing else while it runs.
    /// </summary>
    private sealed class StoreModel
    {
        public const int LeafKeys = 64;
        public const int DirectoryKeys = 8;
        public const int Trees = 3;
        public const int TreeLeaves = 4;
        public const int PermissionNodes = 4;
        public const int Pairs = 2;

        private readonly Lock _gate = new();
        private readonly Dictionary<ModelKey, KeyState> _keys = [];
        private readonly List<(ModelKey A, ModelKey B)> _pairs = [];
        private long _sequence;
        private long _acknowledged;

        /// <summary>How many tracked requests have been acknowledged in all.</summary>
        public long Acknowledged => Interlocked.Read(ref _acknowledged);

        /// <summary>How many times the model was checked against a restarted server: the writers' values include it.</summary>
        public int Round { get; private set; }

        public static ModelKey Node(string path) => new("node", path);

        public static ModelKey Permissions(string path) => new("perms", path);

        public static ModelKey Quota(string name) => new("quota", name);

        public static string Format(IEnumerable<XsPermission> permissions) =>
            string.Join(',', permissions.Select(p => $"{"nrwb"[(int)p.Access]}{p.DomainId.ToString(CultureInfo.InvariantCulture)}"));

        /// <summary>The nodes whose permissions the writers set (never removed), their pairs, and the quota, as the fresh server has them.</summary>
        public async Task SetUpAsync(XenStoreClient store, int writers)
        {
            for (int w = 0; w < writers; w++)
            {
                for (int p = 0; p < PermissionNodes; p++)
                {
                    string path = $"/crash/w{w}/perm{p}";
                    await store.WriteAsync(path, "p");
                    Register(Node(path), "p");
                    Register(Permissions(path), Format(await store.GetPermissionsAsync(path)));
                }

                for (int p = 0; p < Pairs; p++)
                {
                    _pairs.Add((Node($"/crash/w{w}/ta{p}"), Node($"/crash/w{w}/tb{p}")));
                }
            }

            Register(Quota("watches"), await store.GetQuotaAsync(null, "watches"));
        }

        /// <summary>Records <paramref name="effects"/> as attempted, sends the request, and records them as acknowledged if its reply came.</summary>
        public async Task Track(IReadOnlyList<(ModelKey Key, string? Value)> effects, Func<Task> send)
        {
            long sequence;
            lock (_gate)
            {
                sequence = ++_sequence;
                foreach (var (key, value) in effects)
                {
                    Entry(key).Attempts.Add((sequence, value));
                }
            }

            await send();
            lock (_gate)
            {
                foreach (var (key, value) in effects)
                {
                    KeyState entry = Entry(key);
                    if (sequence > entry.Acked.Sequence)
                    {
                        entry.Acked = (sequence, value);
                    }

                    entry.Attempts.RemoveAll(a => a.Sequence <= sequence);
                }

                _acknowledged++;
            }
        }

        /// <summary>Checks the store against what may be there, then takes what is there as the acknowledged state.</summary>
        public async Task VerifyAndSettleAsync(XenStoreClient store, string when)
        {
            KeyValuePair<ModelKey, KeyState>[] keys;
            lock (_gate)
            {
                keys = [.. _keys];
            }

            // Every read at once: the checker pipelines them as the writers do.
            string?[] found = await Task.WhenAll(keys.Select(k => ReadAsync(store, k.Key)));
            var actual = new Dictionary<ModelKey, string?>();
            for (int i = 0; i < keys.Length; i++)
            {
                var (key, entry) = keys[i];
                Assert.True(found[i] == entry.Acked.Value || entry.Attempts.Any(a => a.Value == found[i]),
                    $"{key} is {Describe(found[i])} {when}; acknowledged: {Describe(entry.Acked.Value)}, attempted since: [{string.Join(", ", entry.Attempts.Select(a => Describe(a.Value)))}]");
                actual[key] = found[i];
            }

            foreach (var (a, b) in _pairs)
            {
                Assert.True(actual.GetValueOrDefault(a) == actual.GetValueOrDefault(b),
                    $"a transaction is half there {when}: {a.Name} is {Describe(actual.GetValueOrDefault(a))}, {b.Name} is {Describe(actual.GetValueOrDefault(b))}");
            }

            // Nothing the writers never made, or removed for good, is there.
            var nodes = keys.Where(k => k.Key.Kind == "node").Select(k => k.Key.Name).ToHashSet(StringComparer.Ordinal);
            foreach (string path in await TreeAsync(store, "/crash"))
            {
                Assert.True(nodes.Contains(path) || Regex.IsMatch(path, @"^/crash(/w\d+)?$"), $"{path} is there {when}, which no writer made");
            }

            lock (_gate)
            {
                long settled = ++_sequence;
                foreach (var (key, value) in actual)
                {
                    _keys[key] = new KeyState { Acked = (settled, value) };
                }

                Round++;
            }
        }

        /// <summary>The state as last verified (between rounds, when no writer runs).</summary>
        public Dictionary<ModelKey, string?> Settled()
        {
            lock (_gate)
            {
                return _keys.ToDictionary(k => k.Key, k => k.Value.Acked.Value);
            }
        }

        private static async Task<string?> ReadAsync(XenStoreClient store, ModelKey key) => key.Kind switch
        {
            "node" => await store.TryReadStringAsync(key.Name),
            "perms" => Format(await store.GetPermissionsAsync(key.Name)),
            _ => await store.GetQuotaAsync(null, key.Name),
        };

        private static async Task<List<string>> TreeAsync(XenStoreClient store, string path)
        {
            var paths = new List<string> { path };
            foreach (string child in await store.DirectoryAsync(path))
            {
                paths.AddRange(await TreeAsync(store, $"{path}/{child}"));
            }

            return paths;
        }

        private static string Describe(string? value) => value is null ? "absent" : $"\"{value}\"";

        private void Register(ModelKey key, string? value)
        {
            lock (_gate)
            {
                _keys[key] = new KeyState { Acked = (++_sequence, value) };
            }
        }

        private KeyState Entry(ModelKey key)
        {
            if (!_keys.TryGetValue(key, out KeyState? entry))
            {
                _keys[key] = entry = new KeyState { Acked = (0, null) }; // a node no one has made yet, in a fresh directory
            }

            return entry;
        }

        private sealed class KeyState
        {
            public (long Sequence, string? Value) Acked { get; set; }

            public List<(long Sequence, string? Value)> Attempts { get; } = [];
        }
    }

    /// <summary>The state directory after each kill: how many journal segments and bytes it held, and whether a compaction was under way.</summary>
    private sealed class DirectoryStats(string directory)
    {
        /// <summary>
        /// Journal segments a directory may hold after a kill: the one being written, and those a snapshot being written
        /// (or written, the kill landing before they were deleted) is to replace. More means compaction does not keep up.
        /// </summary>
        private const int MaxSegments = 4;

        private int _kills;
        private int _midCompaction;
        private int _maxSegments;
        private long _maxBytes;

        public bool SawSnapshot { get; private set; }

        public void AfterKill(string when)
        {
            string[] files = Directory.GetFiles(directory);
            int segments = files.Count(f => Path.GetFileName(f).StartsWith("journal-", StringComparison.Ordinal));
            long bytes = files.Sum(f => new FileInfo(f).Length);
            _kills++;
            _midCompaction += segments > 1 || files.Any(f => f.EndsWith(".tmp", StringComparison.Ordinal)) ? 1 : 0;
            _maxSegments = Math.Max(_maxSegments, segments);
            _maxBytes = Math.Max(_maxBytes, bytes);
            SawSnapshot |= File.Exists(Path.Combine(directory, "snapshot"));
            Assert.True(segments is >= 1 and <= MaxSegments, $"the state directory holds {segments} journal segments {when}: {string.Join(", ", files.Select(Path.GetFileName))}");
            Assert.True(bytes < 4 << 20, $"the state directory holds {bytes} bytes {when}: {string.Join(", ", files.Select(f => $"{Path.GetFileName(f)} {new FileInfo(f).Length}"))}");
        }

        public override string ToString() =>
            $"after {_kills} kills at most {_maxSegments} journal segments and {_maxBytes} bytes in the directory, {(SawSnapshot ? "a snapshot" : "never a snapshot")}, {_midCompaction} kills with a compaction unfinished";
    }
}
