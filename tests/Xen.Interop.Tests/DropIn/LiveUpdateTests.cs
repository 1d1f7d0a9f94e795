using System.Globalization;
using Xen.Interop.Tests.EmbeddedServer;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// Xen's own <c>xenstore-control live-update</c> (4.17) against <c>xen store serve</c>: the daemon dumps its state as
/// Xen's migration stream, executes the new binary in its own process with the listening socket and every client's
/// descriptor inherited, and the new process carries on. Its clients are the real programs: the C guest built from
/// <c>xs_wire.h</c> over its ring (<c>tests/native/xs_guest.c</c>), a <c>xenstore-watch</c> left running, and our
/// client writing with 64 requests in flight while the update runs. The refusals are compared with C xenstored's.
/// </summary>
[Trait("Category", "Interop")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class LiveUpdateTests(ITestOutputHelper output)
{
    private const string XenstoreControl = "/usr/lib/xen-4.17/bin/xenstore-control";
    private const uint DomainId = 7;
    private const uint Port = 9;
    private const int NodeQuota = 40;
    private const string PrivatePath = "/dom0-only/secret";
    private const int InFlight = 64;

    [Theory]
    [InlineData(false)]
    [InlineData(true)] // with a state directory: the store comes back from the journal, the connections from the stream
    public async Task A_ring_guest_a_xenstore_watch_and_a_pipelining_client_carry_on_in_the_new_process_with_every_write_and_event_once(bool stateDirectory)
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool, XenstoreControl, "xenstore-watch");
        string guestProgram = await NativeGuest.XsGuestAsync();
        using var dir = new UpdateDirectory();
        string peers = Path.Combine(dir.Path, "peers");
        Directory.CreateDirectory(peers);
        string page = Path.Combine(peers, $"xs-ring-{DomainId}");
        string home = $"/local/domain/{DomainId}";
        var clients = new Dictionary<string, string> { ["XENSTORED_PATH"] = dir.Socket };
        string[] state = stateDirectory ? ["--state-dir", Path.Combine(dir.Path, "state")] : [];
        using PeerDaemon server = await StoreServeProcess.StartAsync(["--socket", dir.Socket, "--peer-dir", peers, "-E", NodeQuota.ToString(CultureInfo.InvariantCulture), .. state]);
        await using XenStoreClient dom0 = await XenStoreClient.ConnectAsync(dir.Socket);
        await dom0.MkdirAsync(home);
        await dom0.SetPermissionsAsync(home, [XsPermission.Parse($"n{DomainId}")]);
        await dom0.WriteAsync(PrivatePath, "dom0's");
        await dom0.SetPermissionsAsync(PrivatePath, [XsPermission.Parse("n0")]);
        await dom0.WriteAsync("/lu/before", "x");
        await File.WriteAllBytesAsync(page, new byte[4096]);
        await dom0.IntroduceAsync(DomainId, 0, Port);

        using PeerDaemon guest = PeerDaemon.Start(
            guestProgram, [peers, DomainId.ToString(CultureInfo.InvariantCulture), Port.ToString(CultureInfo.InvariantCulture), PrivatePath], new Dictionary<string, string>());
        // xenstore-watch prints each event on a line; into a file, as its output outgrows what a test keeps of a program's.
        string events = Path.Combine(dir.Path, "events");
        using PeerDaemon watch = PeerDaemon.Start("/bin/sh", ["-c", $"exec xenstore-watch /lu > {events}"], clients);
        string Watched() => File.Exists(events) ? File.ReadAllText(events) : "";
        await Deadline.PollAsync(
            () => (guest.Output.Contains("watching\n", StringComparison.Ordinal) && Watched().Contains("/lu\n", StringComparison.Ordinal)) || guest.HasExited || watch.HasExited,
            () => $"the guest or xenstore-watch did not get to its watch:\n{guest.Output}\n{watch.Output}");

        // Our client keeps 64 writes in flight from before the update to after it; every one must be answered OK.
        using var stopWriting = new CancellationTokenSource();
        Task<int> writer = WriteUntilStoppedAsync(dom0, stopWriting.Token);
        await Deadline.PollAsync(() => Watched().Contains("/lu/n100\n", StringComparison.Ordinal) || writer.IsCompleted, () => "the writes did not start");

        string binary = dir.NewBinary();
        PeerCommandResult update = await PeerCommand.RunAsync(XenstoreControl, ["live-update", binary], clients);
        Assert.True(update.ExitCode == 0, $"xenstore-control: {update.ExitCode} {update.StandardError}\nthe server:\n{server.Output}");
        await Deadline.PollAsync(
            () => server.Output.Contains("live update: carried on from", StringComparison.Ordinal) || server.HasExited,
            () => $"the new process did not say it carried on:\n{server.Output}");
        await Task.Delay(300); // writes on into the new process
        await stopWriting.CancelAsync();
        if (await Task.WhenAny(writer, Task.Delay(TimeSpan.FromSeconds(20))) != writer)
        {
            Assert.Fail($"a write was not answered after the update; the server:\n{server.Output}");
        }

        int written = await writer;

        // The same process (the same pid), now the new binary with -U, as C xenstored's exec leaves it.
        Assert.False(server.HasExited, server.Output);
        string commandLine = (await File.ReadAllTextAsync($"/proc/{server.ProcessId}/cmdline")).Replace('\0', ' ');
        Assert.Contains(" -U", commandLine, StringComparison.Ordinal);

        // The guest's watch fires for a change made after the update, once (nothing fires it again), and its writes
        // are answered until its quota, which still counts the nodes it owned before.
        await dom0.WriteAsync($"{home}/data/w/changed", "after the update");
        await dom0.WriteAsync("/lu/after", "y");
        await Deadline.PollAsync(() => guest.HasExited, () => $"the C guest did not finish:\n{guest.Output}\nthe server:\n{server.Output}");
        string[] lines = guest.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.True(lines[^1] == "[xs_guest exited with status 0]", $"{guest.Output}\nthe server:\n{server.Output}");
        Assert.Equal(
            [$"path {home}", "read written-by-c", "private EACCES", "event data/w ctok", "watching", "event data/w/changed ctok"],
            lines[..6]);
        Assert.True(lines[6].Split(' ') is ["quota", _, "ENOSPC"], guest.Output);
        Assert.Equal("done", lines[7]);
        Assert.Equal(NodeQuota, await OwnedNodes.CountAsync(dom0, home, DomainId));

        // Every acknowledged write is there, and xenstore-watch saw each exactly once, across the update.
        await Deadline.PollAsync(
            () => Watched().Contains("/lu/after\n", StringComparison.Ordinal),
            () => $"xenstore-watch (exited: {watch.HasExited}) missed /lu/after after {written} writes; it printed:\n{Tail(Watched())}\nthe server:\n{server.Output}");
        var seen = Watched().Split('\n').GroupBy(e => e, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        for (int i = 0; i < written; i++)
        {
            Assert.Equal(i.ToString(CultureInfo.InvariantCulture), await dom0.ReadStringAsync($"/lu/n{i}"));
            Assert.True(seen.GetValueOrDefault($"/lu/n{i}") == 1, $"/lu/n{i} seen {seen.GetValueOrDefault($"/lu/n{i}")} times by xenstore-watch");
        }

        Assert.Equal(1, seen.GetValueOrDefault("/lu")); // the watch's own first event, not fired again by the update
        output.WriteLine($"{written} writes across the update; the server:\n{server.Output}");
    }

    [Fact]
    public async Task Refusals_answer_as_c_xenstored_does_and_a_binary_that_cannot_run_leaves_the_daemon_serving()
    {
        PeerPrograms.Require(requirePeersScripts: true, XenstoreControl);
        using var dir = new UpdateDirectory();
        string notExecutable = Path.Combine(dir.Path, "not-executable");
        await File.WriteAllTextAsync(notExecutable, "#!/bin/sh\n");
        string noInterpreter = Path.Combine(dir.Path, "no-interpreter");
        await File.WriteAllTextAsync(noInterpreter, "#!/nonexistent/interpreter\n");
        File.SetUnixFileMode(noInterpreter, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);

        await using XenstoredPeer c = await XenstoredPeer.StartAsync(XenstoredKind.C);
        await using XenstoredPeer ours = await XenstoredPeer.StartAsync(XenstoredKind.Embedded);
        foreach (string[] command in new string[][] { ["live-update", Path.Combine(dir.Path, "missing")], ["live-update", notExecutable] })
        {
            Assert.Equal(await ControlAsync(c, command), await ControlAsync(ours, command));
        }

        // A transaction open longer than -t, without -F: refused once the timeout is over, naming the long one.
        foreach (XenstoredPeer store in new[] { c, ours })
        {
            await using XenStoreClient client = await XenStoreClient.ConnectAsync(store.SocketPath);
            await using XenStoreTransaction tx = await client.StartTransactionAsync();
            await Task.Delay(1100);
            (int code, string text) = await ControlAsync(store, "live-update", "-t", "1", noInterpreter);
            string[] lines = text.Split('\n');
            Assert.True(code == 3 && lines is ["Starting live update failed:", "Domains with long running transactions:", _, ..], $"{store.Kind}: {code} {text}");
            Assert.Matches(@"^Domain \d+: \d+ s$", lines[2]);
        }

        // A binary the kernel cannot execute (its interpreter is missing): the update fails and the daemon serves on,
        // its clients' watches and all. (Not tried on C xenstored, whose execvp runs such a file through /bin/sh.)
        await using XenStoreClient watcher = await XenStoreClient.ConnectAsync(ours.SocketPath);
        await using XenStoreWatch w = await watcher.WatchAsync("/failed-update");
        (int failedCode, string failedText) = await ControlAsync(ours, "live-update", noInterpreter);
        Assert.Equal((3, "Starting live update failed:\nError activating new binary.\n"), (failedCode, failedText));
        await ours.WriteAsync("/failed-update/after", "still served");
        Assert.Equal("still served", await ours.ReadAsync("/failed-update/after"));
        Assert.Contains(await NextEventsAsync(w, 2), e => e == "/failed-update/after");
    }

    [Fact]
    public async Task With_F_the_update_goes_ahead_after_the_timeout_and_the_open_transaction_fails_with_EAGAIN_in_the_new_process()
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool, XenstoreControl);
        using var dir = new UpdateDirectory();
        using PeerDaemon server = await StoreServeProcess.StartAsync(["--socket", dir.Socket, "-D"]);
        var clients = new Dictionary<string, string> { ["XENSTORED_PATH"] = dir.Socket };
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(dir.Socket);
        XenStoreTransaction tx = await client.StartTransactionAsync();
        await tx.WriteAsync("/tx/in", "before the update");

        var clock = System.Diagnostics.Stopwatch.StartNew();
        PeerCommandResult update = await PeerCommand.RunAsync(XenstoreControl, ["live-update", "-F", "-t", "1", dir.NewBinary()], clients);
        Assert.True(update.ExitCode == 0, $"xenstore-control: {update.ExitCode} {update.StandardError}\n{server.Output}");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"the update went ahead after {clock.Elapsed} with a transaction open");
        await Deadline.PollAsync(() => server.Output.Contains("live update: carried on from", StringComparison.Ordinal), () => server.Output);

        // The transaction is the new process's, aborted: a request in it is still answered, its commit is EAGAIN.
        await tx.WriteAsync("/tx/in2", "after the update");
        XenStoreErrorException conflict = await Assert.ThrowsAsync<XenStoreErrorException>(async () => await tx.CommitAsync());
        Assert.Equal(XsError.EAGAIN, conflict.Error);
        Assert.False(await client.ExistsAsync("/tx/in"));
        string retried = await client.RunTransactionAsync(async (t, ct) =>
        {
            await t.WriteAsync("/tx/in", "retried", ct);
            return "committed";
        });
        Assert.Equal("committed", retried);
        Assert.Equal("retried", await client.ReadStringAsync("/tx/in"));
    }

    [Fact]
    public async Task With_a_state_directory_the_new_process_journals_on_and_a_kill_after_the_update_loses_nothing_acknowledged()
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool, XenstoreControl);
        using var dir = new UpdateDirectory();
        string state = Path.Combine(dir.Path, "state");
        string[] options = ["-D", "--state-dir", state, "--durability", "fsync"];
        var clients = new Dictionary<string, string> { ["XENSTORED_PATH"] = dir.Socket };
        PeerDaemon server = await StoreServeProcess.StartAsync(["--socket", dir.Socket, .. options]);
        try
        {
            await using (XenStoreClient client = await XenStoreClient.ConnectAsync(dir.Socket))
            {
                await client.WriteAsync("/kept/before", "1");
                await client.SetPermissionsAsync("/kept/before", [XsPermission.Parse("b3")]);
                await using XenStoreWatch watch = await client.WatchAsync("/kept/after");
                Assert.Equal("/kept/after", (await watch.ReadAsync()).Path);

                PeerCommandResult update = await PeerCommand.RunAsync(XenstoreControl, ["live-update", dir.NewBinary()], clients);
                Assert.True(update.ExitCode == 0, $"xenstore-control: {update.ExitCode} {update.StandardError}\n{server.Output}");
                await Deadline.PollAsync(() => server.Output.Contains("live update: carried on from", StringComparison.Ordinal), () => server.Output);

                // The client's connection and watch carried on; the new process journals its changes.
                await client.WriteAsync("/kept/after", "2");
                Assert.Equal("/kept/after", (await watch.ReadAsync()).Path);
            }

            // Killed right after the update: what either process acknowledged is in the directory.
            server.Dispose();
            server = await StoreServeProcess.StartAsync(["--socket", dir.Socket, .. options]);
            await using XenStoreClient again = await XenStoreClient.ConnectAsync(dir.Socket);
            Assert.Equal("1", await again.ReadStringAsync("/kept/before"));
            Assert.Equal([XsPermission.Parse("b3")], await again.GetPermissionsAsync("/kept/before"));
            Assert.Equal("2", await again.ReadStringAsync("/kept/after"));
        }
        finally
        {
            server.Dispose();
        }
    }

    /// <summary>
    /// The handover the migration stream makes possible: C xenstored 4.17's own live update, pointed at our daemon
    /// (<c>-c "store serve --no-fork -U"</c>), execs it in C's process; ours reads the <c>state_dump</c> C wrote (version
    /// 1), takes over C's listening socket and its clients' connections, and serves them on: the tree with its
    /// permissions as C had it, a <c>xenstore-watch</c> and our client's watch still firing, xenstore-control answered
    /// OK by ours from what C left pending.
    /// </summary>
    [Fact]
    public async Task C_xenstored_hands_its_store_and_its_clients_to_ours_through_its_own_live_update()
    {
        PeerPrograms.Require(requirePeersScripts: true, PeerPrograms.XenTool, XenstoreControl, "xenstore-watch", "xenstore-ls");
        using var dir = new UpdateDirectory();
        await using XenstoredPeer c = await XenstoredPeer.StartAsync(XenstoredKind.C);
        int pid = c.DaemonProcessId;
        try
        {
            await c.WriteAsync(("/handover/a", "one"), ("/handover/b/c", "two"), ("/handover/empty", ""));
            await PeerCommand.RunCheckedAsync("xenstore-chmod", ["/handover/a", "r5", "b7"], c.ClientEnvironment);
            string before = await PeerCommand.RunCheckedAsync("xenstore-ls", ["-p", "/"], c.ClientEnvironment);
            string events = Path.Combine(dir.Path, "events");
            using PeerDaemon watch = PeerDaemon.Start("/bin/sh", ["-c", $"exec xenstore-watch /handover > {events}"], c.ClientEnvironment);
            await using XenStoreClient client = await XenStoreClient.ConnectAsync(c.SocketPath);
            await using XenStoreWatch ours = await client.WatchAsync("/handover/b");
            Assert.Equal("/handover/b", (await ours.ReadAsync()).Path);
            await Deadline.PollAsync(() => File.Exists(events) && File.ReadAllText(events).Contains("/handover\n", StringComparison.Ordinal), () => "xenstore-watch did not start");

            PeerCommandResult update = await PeerCommand.RunAsync(XenstoreControl, ["live-update", "-c", "store serve --no-fork -U", dir.NewBinary()], c.ClientEnvironment);
            Assert.True(update.ExitCode == 0, $"xenstore-control: {update.ExitCode} {update.StandardError}\n{c.DaemonOutput}");
            Assert.Contains(PeerPrograms.XenTool, (await File.ReadAllTextAsync($"/proc/{pid}/cmdline")).Split('\0'));
            await Deadline.PollAsync(() => c.DaemonOutput.Contains("live update: carried on from", StringComparison.Ordinal), () => $"ours did not say it carried on: {c.DaemonOutput}");

            Assert.Equal(before, await PeerCommand.RunCheckedAsync("xenstore-ls", ["-p", "/"], c.ClientEnvironment));
            await client.WriteAsync("/handover/b/d", "after");
            Assert.Equal("/handover/b/d", (await ours.ReadAsync()).Path);
            await Deadline.PollAsync(() => File.ReadAllText(events).Contains("/handover/b/d\n", StringComparison.Ordinal), () => $"xenstore-watch: {File.ReadAllText(events)}");
        }
        finally
        {
            try
            {
                System.Diagnostics.Process.GetProcessById(pid).Kill(); // ours now: the peer kills only a C xenstored
            }
            catch (ArgumentException)
            {
            }
        }
    }

    /// <summary>Writes /lu/n0, /lu/n1, ... with <see cref="InFlight"/> outstanding until stopped; the count written (all answered OK).</summary>
    private static async Task<int> WriteUntilStoppedAsync(XenStoreClient client, CancellationToken stop)
    {
        int next = 0;
        var inFlight = new Queue<Task>();
        while (!stop.IsCancellationRequested)
        {
            while (inFlight.Count < InFlight)
            {
                int i = next++;
                inFlight.Enqueue(client.WriteAsync($"/lu/n{i}", i.ToString(CultureInfo.InvariantCulture), CancellationToken.None).AsTask());
            }

            await inFlight.Dequeue();
            if (next % InFlight == 0)
            {
                // About 10 000 writes a second: xenstore-watch, printing each event, keeps up on a busy 2-CPU machine
                // (a watcher that falls 1024 events behind is dropped, update or not).
                await Task.Delay(5, CancellationToken.None);
            }
        }

        while (inFlight.TryDequeue(out Task? t))
        {
            await t;
        }

        return next;
    }

    private static async Task<List<string>> NextEventsAsync(XenStoreWatch watch, int count)
    {
        var paths = new List<string>();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        await foreach (XenStoreWatchEvent e in watch.ReadAllAsync(timeout.Token))
        {
            paths.Add(e.Path);
            if (paths.Count == count)
            {
                break;
            }
        }

        return paths;
    }

    private static async Task<(int Code, string Output)> ControlAsync(XenstoredPeer store, params string[] command)
    {
        PeerCommandResult result = await PeerCommand.RunAsync(XenstoreControl, command, store.ClientEnvironment);
        return (result.ExitCode, result.StandardOutput + result.StandardError);
    }

    private static string Tail(string text) => text.Length > 2000 ? text[^2000..] : text;

    /// <summary>A short directory (the shim's socket paths live in it) with the daemon's socket and the new binary.</summary>
    private sealed class UpdateDirectory : IDisposable
    {
        public string Path { get; } = $"/tmp/xl-{Guid.NewGuid().ToString("N")[..8]}";

        public string Socket => System.IO.Path.Combine(Path, "socket");

        public UpdateDirectory() => Directory.CreateDirectory(Path);

        /// <summary>The "new binary": the same tool, started as a host's packaged daemon would be.</summary>
        public string NewBinary()
        {
            string binary = System.IO.Path.Combine(Path, "xenstored-new");
            File.WriteAllText(binary, $"#!/bin/sh\nexec dotnet {PeerPrograms.XenTool} \"$@\"\n");
            File.SetUnixFileMode(binary, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            return binary;
        }

        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
