using System.Globalization;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Transports;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// <c>xen store serve --state-dir</c> killed with SIGKILL at random moments while clients write, and started again on
/// the same directory: every change whose reply came back is there, a transaction is there whole or not at all, and
/// the directory stays bounded (compaction runs, and some kills land in it).
/// </summary>
[Trait("Category", "Interop")]
public sealed class CrashRecoveryTests(ITestOutputHelper output)
{
    private const int Writers = 4;
    private const int KeysPerWriter = 48;
    private const int Batch = 16;

    [Theory]
    [InlineData("write", 30, 20_000, 1)]
    [InlineData("fsync", 25, 60_000, 2)]
    public async Task Every_acknowledged_change_is_there_after_each_of_many_kill_KILLs(string durability, int kills, int compactAfter, int seed)
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool);
        string directory = ShortDirectory();
        try
        {
            string state = Path.Combine(directory, "state");
            string socket = Path.Combine(directory, "socket");
            var random = new Random(seed);
            var model = new StoreModel();
            int killedMidCompaction = 0;
            long acknowledged = 0;
            for (int round = 0; round <= kills; round++)
            {
                if (File.Exists(Path.Combine(state, "snapshot.tmp")))
                {
                    killedMidCompaction++; // the last kill came while a snapshot was being written
                }

                using PeerDaemon serve = await StartAsync(socket, state, durability, compactAfter);
                await using (XenStoreClient checker = await XenStoreClient.ConnectAsync(socket))
                {
                    await model.VerifyAndSettleAsync(checker, $"after kill {round} ({serve.Output})");
                }

                if (round == kills)
                {
                    break;
                }

                using var stop = new CancellationTokenSource();
                Task<long>[] writers = [.. Enumerable.Range(0, Writers).Select(w => WriteUntilKilledAsync(socket, model, w, round, stop.Token))];
                await Task.Delay(random.Next(20, 400));
                serve.Dispose(); // SIGKILL, mid-request for the writers
                await stop.CancelAsync();
                foreach (Task<long> w in writers)
                {
                    acknowledged += await w;
                }
            }

            long stateBytes = Directory.GetFiles(state).Sum(f => new FileInfo(f).Length);
            int segments = Directory.GetFiles(state, "journal-*").Length;
            output.WriteLine($"{durability}: {kills} kills, {acknowledged} acknowledged changes, {killedMidCompaction} kills during a compaction, the directory {stateBytes} bytes in {segments} segments and {(File.Exists(Path.Combine(state, "snapshot")) ? "a" : "no")} snapshot");
            Assert.True(acknowledged > kills * 10, $"only {acknowledged} changes were acknowledged in {kills} rounds");
            Assert.True(File.Exists(Path.Combine(state, "snapshot")), "the journal was never compacted");
            Assert.True(segments <= 3 && stateBytes < 4 * compactAfter + 200_000, $"the state directory holds {stateBytes} bytes in {segments} segments");
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public async Task Our_client_reconnects_across_a_kill_and_restart_with_its_watch_registered_again_and_a_gap_event()
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool);
        string directory = ShortDirectory();
        try
        {
            string state = Path.Combine(directory, "state");
            string socket = Path.Combine(directory, "socket");
            PeerDaemon first = await StartAsync(socket, state, "write", 16 << 20);
            var options = new XenStoreClientOptions
            {
                Reconnect = async ct => await UnixSocketTransport.ConnectAsync(socket, ct),
                ReconnectAttempts = 200,
                ReconnectDelay = TimeSpan.FromMilliseconds(50),
            };
            await using XenStoreClient client = XenStoreClient.Create(await UnixSocketTransport.ConnectAsync(socket), options);
            await client.WriteAsync("/survivor/kept", "before the kill");
            await using XenStoreWatch watch = await client.WatchAsync("/survivor", "tok");
            Assert.Equal("/survivor", (await Deadline.RunAsync(t => watch.ReadAsync(t).AsTask(), () => "no initial event")).Path);

            first.Dispose(); // SIGKILL
            using PeerDaemon second = await StartAsync(socket, state, "write", 16 << 20);
            XenStoreWatchEvent gap = await Deadline.RunAsync(t => watch.ReadAsync(t).AsTask(), () => $"no event after the restart; the server said: {second.Output}");
            Assert.True(gap.EventsWereDropped, $"the first event after the reconnection is {gap}, not a gap marker");
            XenStoreWatchEvent initial = await Deadline.RunAsync(t => watch.ReadAsync(t).AsTask(), () => "the watch was not registered again");
            Assert.Equal(new XenStoreWatchEvent("/survivor", "tok"), initial); // the new registration's initial event: it is in place

            // The watch is registered on the new server: a change made there by another connection reaches it.
            await using (XenStoreClient other = await XenStoreClient.ConnectAsync(socket))
            {
                await other.WriteAsync("/survivor/new", "after the restart");
            }

            await Deadline.RunAsync(
                async t =>
                {
                    while ((await watch.ReadAsync(t)).Path != "/survivor/new")
                    {
                    }
                },
                () => "the watch did not fire for a change made after the restart");
            Assert.Equal("before the kill", await client.ReadStringAsync("/survivor/kept"));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    private static async Task<PeerDaemon> StartAsync(string socket, string state, string durability, int compactAfter)
    {
        PeerDaemon serve = PeerDaemon.Start("dotnet", [PeerPrograms.XenTool, "store", "serve", "--no-fork", "-D", "--socket", socket,
            "--state-dir", state, "--durability", durability, "--compact-after", compactAfter.ToString(CultureInfo.InvariantCulture)],
            new Dictionary<string, string>());
        await Deadline.PollAsync(() => serve.Output.Contains("xenstored listening on", StringComparison.Ordinal) || serve.HasExited, () => $"the server did not start: {serve.Output}");
        Assert.False(serve.HasExited, serve.Output);
        return serve;
    }

    /// <summary>
    /// One writer: batches of pipelined changes to its own keys (values, removals, permissions, a transaction writing
    /// two keys), each recorded as attempted before it is sent and as acknowledged when its reply comes, until the
    /// connection breaks. Returns how many were acknowledged.
    /// </summary>
    private static async Task<long> WriteUntilKilledAsync(string socket, StoreModel model, int writer, int round, CancellationToken stop)
    {
        long acknowledged = 0;
        try
        {
            await using XenStoreClient client = await XenStoreClient.ConnectAsync(socket, cancellationToken: stop);
            for (int batch = 0; !stop.IsCancellationRequested; batch++)
            {
                var requests = new List<Task>();
                for (int i = 0; i < Batch; i++)
                {
                    int key = (batch * Batch + i) % KeysPerWriter;
                    string path = $"/crash/w{writer}/k{key}";
                    if (key % 8 == 7 && batch % 2 == 1)
                    {
                        requests.Add(model.Track(path, null, async () =>
                        {
                            try
                            {
                                await client.RemoveAsync(path);
                            }
                            catch (XenStoreErrorException e) when (e.Error == XsError.ENOENT)
                            {
                                // not there: absent all the same
                            }
                        }));
                    }
                    else
                    {
                        string value = $"r{round}-b{batch}-{i}";
                        requests.Add(model.Track(path, value, () => client.WriteAsync(path, value).AsTask()));
                    }
                }

                string permissionPath = $"/crash/w{writer}/perm";
                XsPermission[] permissions = [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, (ushort)(1 + (batch % 50)))];
                requests.Add(model.TrackPermissions(permissionPath, permissions, async () =>
                {
                    await client.WriteAsync(permissionPath, "p");
                    await client.SetPermissionsAsync(permissionPath, permissions);
                }));

                string pair = $"r{round}-b{batch}";
                requests.Add(model.TrackPair($"/crash/w{writer}/ta", $"/crash/w{writer}/tb", pair, () => client.RunTransactionAsync(async (tx, ct) =>
                {
                    await tx.WriteAsync($"/crash/w{writer}/ta", pair, ct);
                    await tx.WriteAsync($"/crash/w{writer}/tb", pair, ct);
                    return 0;
                }).AsTask()));

                await Task.WhenAll(requests);
                acknowledged += requests.Count;
            }
        }
        catch (Exception e) when (e is XenStoreException or IOException or System.Net.Sockets.SocketException or OperationCanceledException or ObjectDisposedException)
        {
            // The server was killed: what was acknowledged is recorded; the rest stays attempted.
        }

        return acknowledged;
    }

    private static string ShortDirectory()
    {
        string path = $"/tmp/xk-{Guid.NewGuid().ToString("N")[..8]}";
        Directory.CreateDirectory(path);
        return path;
    }

    /// <summary>
    /// What the store may hold: per path, the last acknowledged value (null: absent) and the values attempted since,
    /// whose requests had no answer when the server died (any of them may have been kept).
    /// </summary>
    private sealed class StoreModel
    {
        private readonly object _gate = new();
        private readonly Dictionary<string, (string? Acked, List<string?> Attempted)> _values = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (XsPermission[]? Acked, List<XsPermission[]> Attempted)> _permissions = new(StringComparer.Ordinal);
        private readonly Dictionary<string, (string A, string B)> _pairs = new(StringComparer.Ordinal);

        public async Task Track(string path, string? value, Func<Task> send)
        {
            lock (_gate)
            {
                Entry(path).Attempted.Add(value);
            }

            await send();
            lock (_gate)
            {
                _values[path] = (value, []);
            }
        }

        public async Task TrackPermissions(string path, XsPermission[] permissions, Func<Task> send)
        {
            lock (_gate)
            {
                if (!_permissions.TryGetValue(path, out var p))
                {
                    _permissions[path] = p = (null, []);
                }

                p.Attempted.Add(permissions);
            }

            await send();
            lock (_gate)
            {
                _permissions[path] = (permissions, []);
            }
        }

        public async Task TrackPair(string a, string b, string value, Func<Task> send)
        {
            lock (_gate)
            {
                _pairs[a] = (a, b);
                Entry(a).Attempted.Add(value);
                Entry(b).Attempted.Add(value);
            }

            await send();
            lock (_gate)
            {
                _values[a] = (value, []);
                _values[b] = (value, []);
            }
        }

        /// <summary>Checks the store against what may be there, then takes what is there as acknowledged.</summary>
        public async Task VerifyAndSettleAsync(XenStoreClient store, string when)
        {
            KeyValuePair<string, (string? Acked, List<string?> Attempted)>[] values;
            KeyValuePair<string, (XsPermission[]? Acked, List<XsPermission[]> Attempted)>[] permissions;
            lock (_gate)
            {
                values = [.. _values];
                permissions = [.. _permissions];
            }

            var actual = new Dictionary<string, string?>(StringComparer.Ordinal);
            foreach (var (path, (acked, attempted)) in values)
            {
                string? found = await store.TryReadStringAsync(path);
                Assert.True(found == acked || attempted.Contains(found),
                    $"{path} holds {found ?? "nothing"} {when}; acknowledged: {acked ?? "nothing"}, attempted since: [{string.Join(", ", attempted.Select(v => v ?? "rm"))}]");
                actual[path] = found;
            }

            var actualPermissions = new Dictionary<string, XsPermission[]?>(StringComparer.Ordinal);
            foreach (var (path, (acked, attempted)) in permissions)
            {
                if (await store.TryReadStringAsync(path) is null)
                {
                    Assert.True(acked is null, $"{path} is gone {when}, though its permissions were acknowledged");
                    actualPermissions[path] = null;
                    continue;
                }

                XsPermission[] found = [.. await store.GetPermissionsAsync(path)];
                bool allowed = (acked is not null && found.SequenceEqual(acked)) || attempted.Any(a => found.SequenceEqual(a)) ||
                    (acked is null && found.Length == 1); // created, its permissions not yet set
                Assert.True(allowed, $"{path} has permissions {string.Join(",", found)} {when}; acknowledged: {(acked is null ? "none" : string.Join(",", acked))}");
                actualPermissions[path] = found;
            }

            foreach (var (a, b) in _pairs.Values)
            {
                Assert.True(actual.GetValueOrDefault(a) == actual.GetValueOrDefault(b),
                    $"a transaction is half there {when}: {a} = {actual.GetValueOrDefault(a) ?? "nothing"}, {b} = {actual.GetValueOrDefault(b) ?? "nothing"}");
            }

            lock (_gate)
            {
                foreach (var (path, found) in actual)
                {
                    _values[path] = (found, []);
                }

                foreach (var (path, found) in actualPermissions)
                {
                    _permissions[path] = (found, []);
                }
            }
        }

        private (string? Acked, List<string?> Attempted) Entry(string path)
        {
            if (!_values.TryGetValue(path, out var e))
            {
                _values[path] = e = (null, []);
            }

            return e;
        }
    }
}
