using System.Text;
using Xen.Tool.Tests.Support;

namespace Xen.Tool.Tests.Commands;

/// <summary><c>xen store serve</c> as a daemon the real xenstore-utils talk to, and <c>xen demo</c> as a newcomer runs it.</summary>
public class ServeAndDemoTests
{
    [Fact]
    public async Task The_demo_runs_every_step_and_exits_0()
    {
        ToolResult demo = await ToolProcess.RunAsync("demo");
        string text = demo.OutputText;
        Assert.True(demo.ExitCode == 0, $"xen demo: {demo}");
        Assert.Contains("demo: every step checked out", text, StringComparison.Ordinal);
        Assert.DoesNotContain("FAIL", text, StringComparison.Ordinal);
        Assert.Contains("/local/domain/5/data/greeting = \"hello from the guest\"", text, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "Interop")]
    public async Task Serve_listens_for_the_real_xenstore_utils_and_keeps_its_tree_across_a_SIGTERM_restart()
    {
        string dir = Path.Combine("/tmp", $"xv-{Guid.NewGuid():N}"[..12]);
        Directory.CreateDirectory(dir);
        string socket = Path.Combine(dir, "socket");
        string state = Path.Combine(dir, "state");
        var env = new Dictionary<string, string> { ["XENSTORED_PATH"] = socket };
        try
        {
            await using (ToolProcess serve = await StartServeAsync(socket, state))
            {
                ToolResult write = await ToolRun.ProcessAsync("xenstore-write", ["/keep/me", "persisted", "/keep/too", "2"], env);
                Assert.True(write.ExitCode == 0, write.ToString());
                ToolResult read = await ToolRun.ProcessAsync("xenstore-read", ["/keep/me"], env);
                Assert.Equal("persisted\n", read.OutputText);
                await StopAsync(serve);
            }

            Assert.False(File.Exists(socket), "the socket is removed on a clean shutdown");
            Assert.True(Directory.EnumerateFiles(state, "journal-*").Any(), "the changes are journalled in the state directory");
            await using (ToolProcess again = await StartServeAsync(socket, state))
            {
                ToolResult list = await ToolRun.ProcessAsync("xenstore-ls", ["-f", "/keep"], env);
                Assert.Equal("/keep/me = \"persisted\"\n/keep/too = \"2\"\n", list.OutputText);
                await StopAsync(again);
            }
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Serve_on_an_unusable_socket_path_fails_with_status_1_and_says_why()
    {
        ToolResult serve = await ToolProcess.RunAsync("store", "serve", "--no-fork", "--socket", "/nonexistent-dir/xs/socket");
        string error = serve.Error;
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains("cannot listen on /nonexistent-dir/xs/socket", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_with_a_missing_peer_directory_fails_with_status_1_and_says_why()
    {
        ToolResult serve = await ToolProcess.RunAsync("store", "serve", "--no-fork", "--socket", "/tmp/xv-unused-socket", "--peer-dir", "/nonexistent-dir/peers");
        string error = serve.Error;
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains("the peer directory /nonexistent-dir/peers does not exist", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("10001")]
    public async Task Serve_refuses_a_receive_spin_outside_0_to_10000_microseconds(string microseconds)
    {
        ToolResult serve = await ToolProcess.RunAsync("store", "serve", "--no-fork", "--socket", "/tmp/xv-unused-socket", "--receive-spin", microseconds);
        string error = serve.Error;
        Assert.NotEqual(0, serve.ExitCode);
        Assert.Contains("--receive-spin must be between 0 and 10000 microseconds", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_refuses_fewer_than_one_socket_thread()
    {
        ToolResult serve = await ToolProcess.RunAsync("store", "serve", "--no-fork", "--socket", "/tmp/xv-unused-socket", "--socket-threads", "0");
        Assert.NotEqual(0, serve.ExitCode);
        Assert.Contains("--socket-threads must be at least 1.", serve.Error, StringComparison.Ordinal);
    }

    private static async Task<ToolProcess> StartServeAsync(string socket, string state)
    {
        ToolProcess serve = ToolProcess.Start("store", "serve", "--no-fork", "--socket", socket, "--state-dir", state);
        string expected = $"xenstored listening on {socket}\n";
        byte[] said = await serve.WaitForOutputAsync(Encoding.UTF8.GetByteCount(expected));
        Assert.StartsWith(expected, Encoding.UTF8.GetString(said), StringComparison.Ordinal);
        Assert.True(File.Exists(socket));
        return serve;
    }

    private static async Task StopAsync(ToolProcess serve)
    {
        serve.Signal("TERM");
        ToolResult stopped = await serve.WaitForExitAsync();
        Assert.True(stopped.ExitCode == 0, stopped.ToString());
    }
}
