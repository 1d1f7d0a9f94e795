using System.Diagnostics;

namespace Xen.Tool.Tests;

/// <summary><c>xen store serve</c> as a daemon the real xenstore-utils talk to, and <c>xen demo</c> as a newcomer runs it.</summary>
public class ServeAndDemoTests
{
    private static readonly string Xen = Path.Combine(AppContext.BaseDirectory, "xen.dll");

    [Fact]
    public async Task The_demo_runs_every_step_and_exits_0()
    {
        var psi = new ProcessStartInfo("dotnet", [Xen, "demo"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process demo = Process.Start(psi)!;
        Task<string> stdout = demo.StandardOutput.ReadToEndAsync();
        Task<string> stderr = demo.StandardError.ReadToEndAsync();
        await demo.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(2));
        string text = await stdout;
        Assert.True(demo.ExitCode == 0, $"xen demo exited {demo.ExitCode}:\n{text}\n{await stderr}");
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
            using (Process serve = await StartServeAsync(socket, state))
            {
                ToolResult write = await ToolRun.ProcessAsync("xenstore-write", ["/keep/me", "persisted", "/keep/too", "2"], env);
                Assert.True(write.ExitCode == 0, write.ToString());
                ToolResult read = await ToolRun.ProcessAsync("xenstore-read", ["/keep/me"], env);
                Assert.Equal("persisted\n", read.OutputText);
                await StopAsync(serve);
            }

            Assert.False(File.Exists(socket), "the socket is removed on a clean shutdown");
            Assert.True(File.Exists(state), "the tree is saved on a clean shutdown");
            using (Process again = await StartServeAsync(socket, state))
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
        var psi = new ProcessStartInfo("dotnet", [Xen, "store", "serve", "--socket", "/nonexistent-dir/xs/socket"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process serve = Process.Start(psi)!;
        string error = await serve.StandardError.ReadToEndAsync();
        await serve.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains("cannot listen on /nonexistent-dir/xs/socket", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Serve_with_a_missing_peer_directory_fails_with_status_1_and_says_why()
    {
        var psi = new ProcessStartInfo("dotnet", [Xen, "store", "serve", "--socket", "/tmp/xv-unused-socket", "--peer-dir", "/nonexistent-dir/peers"]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process serve = Process.Start(psi)!;
        string error = await serve.StandardError.ReadToEndAsync();
        await serve.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(1, serve.ExitCode);
        Assert.Contains("the peer directory /nonexistent-dir/peers does not exist", error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("-1")]
    [InlineData("10001")]
    public async Task Serve_refuses_a_receive_spin_outside_0_to_10000_microseconds(string microseconds)
    {
        var psi = new ProcessStartInfo("dotnet", [Xen, "store", "serve", "--socket", "/tmp/xv-unused-socket", "--receive-spin", microseconds]) { RedirectStandardOutput = true, RedirectStandardError = true };
        using Process serve = Process.Start(psi)!;
        string error = await serve.StandardError.ReadToEndAsync();
        await serve.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.NotEqual(0, serve.ExitCode);
        Assert.Contains("--receive-spin must be between 0 and 10000 microseconds", error, StringComparison.Ordinal);
    }

    private static async Task<Process> StartServeAsync(string socket, string state)
    {
        var psi = new ProcessStartInfo("dotnet", [Xen, "store", "serve", "--socket", socket, "--state", state]) { RedirectStandardOutput = true, RedirectStandardError = true };
        Process serve = Process.Start(psi)!;
        string? line = await serve.StandardOutput.ReadLineAsync().WaitAsync(TimeSpan.FromMinutes(1));
        if (line != $"xenstored listening on {socket}")
        {
            Assert.Fail($"serve said '{line}': {await ReadRestAsync(serve)}");
        }

        Assert.True(File.Exists(socket));
        return serve;
    }

    private static async Task StopAsync(Process serve)
    {
        Process.Start("kill", ["-TERM", serve.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!.WaitForExit();
        await serve.WaitForExitAsync().WaitAsync(TimeSpan.FromMinutes(1));
        Assert.Equal(0, serve.ExitCode);
    }

    private static async Task<string> ReadRestAsync(Process p)
    {
        if (!p.HasExited)
        {
            p.Kill();
        }

        return await p.StandardError.ReadToEndAsync();
    }
}
