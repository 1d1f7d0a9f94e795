using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Server.LiveUpdate;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Server;

/// <summary>
/// CONTROL <c>live-update</c>'s session rules (the sub-commands xenstore-control sends, answered in C xenstored's
/// words), on a server that can replace its process, and the refusal on one that cannot. The update itself (the exec)
/// is run against the real xenstore-control in <c>tests/Xen.Interop.Tests/DropIn/LiveUpdateTests</c>.
/// </summary>
public sealed class LiveUpdateSessionTests : IAsyncDisposable
{
    private readonly string _dir = Path.Combine(Path.GetTempPath(), $"xs-lu-{Guid.NewGuid():N}");
    private readonly XenStoreServer _server;
    private readonly XenStoreClient _client;

    public LiveUpdateSessionTests()
    {
        Directory.CreateDirectory(_dir);
        _server = new XenStoreServer(new XenStoreServerOptions { LiveUpdate = new LiveUpdateSettings(_dir, ["store", "serve"]) });
        _client = XenStoreClient.Create(_server.ConnectInProcess());
    }

    public async ValueTask DisposeAsync()
    {
        await _client.DisposeAsync();
        await _server.DisposeAsync();
        Directory.Delete(_dir, recursive: true);
    }

    private static async Task<string> LiveUpdateAsync(XenStoreClient client, params string[] args) =>
        XsText.Latin1.GetString(await client.ControlAsync("live-update", args)).TrimEnd('\0');

    private string Binary(string name, bool executable)
    {
        string path = Path.Combine(_dir, name);
        File.WriteAllText(path, "#!/bin/sh\n");
        if (executable && !OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        return path;
    }

    [Fact]
    public async Task The_binary_must_exist_and_be_executable_and_only_one_session_runs_at_a_time()
    {
        Assert.Equal("File not accessible.", await LiveUpdateAsync(_client, "-f", Path.Combine(_dir, "missing")));
        if (!OperatingSystem.IsWindows())
        {
            Assert.Equal("File not executable.", await LiveUpdateAsync(_client, "-f", Binary("plain", executable: false)));
        }

        string binary = Binary("new-xen", executable: true);
        Assert.Equal("OK", await LiveUpdateAsync(_client, "-f", binary));
        await using XenStoreClient other = XenStoreClient.Create(_server.ConnectInProcess());
        Assert.Equal("live-update session already active.", await LiveUpdateAsync(other, "-f", binary));
    }

    [Fact]
    public async Task A_command_line_or_start_outside_ones_own_session_is_refused_and_abort_ends_the_session()
    {
        Assert.Equal("Not in live-update session.", await LiveUpdateAsync(_client, "-c", "store serve -U"));
        Assert.Equal("Not in live-update session.", await LiveUpdateAsync(_client, "-s", "-t", "1"));
        Assert.Equal("No live-update session active.", await LiveUpdateAsync(_client, "-a"));

        Assert.Equal("OK", await LiveUpdateAsync(_client, "-f", Binary("new-xen", executable: true)));
        await using XenStoreClient other = XenStoreClient.Create(_server.ConnectInProcess());
        Assert.Equal("Not in live-update session.", await LiveUpdateAsync(other, "-c", "store serve -U"));
        Assert.Equal("OK", await LiveUpdateAsync(_client, "-c", "store serve --no-fork -U"));
        Assert.Equal("Migration stream version not supported.", await LiveUpdateAsync(_client, "-s", "-v", "3"));
        Assert.Equal("OK", await LiveUpdateAsync(_client, "-a"));
        Assert.Equal("No live-update session active.", await LiveUpdateAsync(_client, "-a"));
    }

    [Fact]
    public async Task A_session_ends_with_the_connection_that_opened_it()
    {
        XenStoreClient opener = XenStoreClient.Create(_server.ConnectInProcess());
        Assert.Equal("OK", await LiveUpdateAsync(opener, "-f", Binary("new-xen", executable: true)));
        await opener.DisposeAsync();
        await Deadline(async () => await LiveUpdateAsync(_client, "-f", Binary("newer-xen", executable: true)) == "OK");
    }

    // Only with a transaction open: a start that went ahead would replace this process with the "binary".
    [Fact]
    public async Task A_start_with_a_transaction_open_waits_for_the_timeout_then_names_the_long_transaction()
    {
        await using XenStoreTransaction tx = await _client.StartTransactionAsync();
        await using XenStoreClient control = XenStoreClient.Create(_server.ConnectInProcess());
        Assert.Equal("OK", await LiveUpdateAsync(control, "-f", Binary("new-xen", executable: true)));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        string answer = await LiveUpdateAsync(control, "-s", "-t", "1");
        Assert.True(clock.Elapsed >= TimeSpan.FromSeconds(0.9), $"answered after {clock.Elapsed}");
        Assert.Matches(@"^Domains with long running transactions:\nDomain 0: \d+ s$", answer);
        Assert.Equal("", await tx.ReadStringAsync("/tool")); // the transaction goes on
        Assert.Equal("No live-update session active.", await LiveUpdateAsync(control, "-a")); // the refusal ended it
    }

    [Fact]
    public async Task Without_the_means_to_replace_its_process_the_server_refuses_live_update_and_leaves_it_out_of_help()
    {
        await using var plain = new XenStoreServer();
        await using XenStoreClient client = XenStoreClient.Create(plain.ConnectInProcess());
        XenStoreErrorException refused = await Assert.ThrowsAsync<XenStoreErrorException>(async () => await client.ControlAsync("live-update", ["-f", "/bin/sh"]));
        Assert.Equal(XsError.EINVAL, refused.Error);
        Assert.DoesNotContain("live-update", XsText.Latin1.GetString(await client.ControlAsync("help")), StringComparison.Ordinal);
        Assert.Contains("live-update", XsText.Latin1.GetString(await _client.ControlAsync("help")), StringComparison.Ordinal);
    }

    private static async Task Deadline(Func<Task<bool>> condition)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (!await condition())
        {
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(10), "the condition did not hold within 10 s");
            await Task.Delay(10);
        }
    }
}
