using System.Diagnostics;
using System.Text;
using Xen.TestSupport.Peers;
using Xen.Tool.Tests.Support;

namespace Xen.Tool.Tests.Commands;

/// <summary>
/// <c>xen store</c> against the real xenstore-utils 4.17 on the real C xenstored: the same command line over the same
/// tree prints the same bytes on standard output, exits with the same status and leaves the same tree; our failures
/// also name the daemon's error on standard error.
/// </summary>
[Trait("Category", "Interop")]
public sealed class StoreCommandsInteropTests : IClassFixture<StoreInteropFixture>
{
    private readonly StoreInteropFixture _fixture;

    public StoreCommandsInteropTests(StoreInteropFixture fixture) => _fixture = fixture;

    private XenstoredPeer Store => _fixture.Store;

    [Theory]
    [InlineData(null, "/t/a/b/c")]
    [InlineData(null, "/t/x", "/t/a/b/c", "/t/e")]
    [InlineData(null, "-p", "/t/a/b/c", "/t/x")]
    [InlineData(null, "-R", "/t/x")]
    [InlineData(null, "-R", "-p", "/t/k", "/t/a/b/c")]
    [InlineData("ENOENT", "/t/nope")]
    [InlineData("ENOENT", "/t/a/b/c", "/t/nope", "/t/k")]
    [InlineData("ENOENT", "t/relative")]
    [InlineData("ENOENT", "/t/@x")]
    [InlineData("EINVAL", "/t/")]
    [InlineData("EINVAL", "/t//a")]
    [InlineData("EINVAL", "")]
    [InlineData("Usage", "-p")]
    public Task Read_matches_xenstore_read(string? error, params string[] args) => SameOutputAsync("read", args, error);

    [Theory]
    [InlineData(null)]
    [InlineData(null, "-f")]
    [InlineData(null, "-p")]
    [InlineData(null, "-fp")]
    [InlineData(null, "/t")]
    [InlineData(null, "-p", "/t/deep")]
    [InlineData(null, "-f", "-p", "/t/a", "/t/deep/d1")]
    [InlineData(null, "/t/")]
    [InlineData(null, "/t/a/b/c")]
    [InlineData("ENOENT", "/t/nope")]
    [InlineData("ENOENT", "/t/a", "/t/nope")]
    [InlineData("EINVAL", "/t//a")]
    public Task Ls_matches_xenstore_ls(string? error, params string[] args) => SameOutputAsync("ls", args, error);

    [Theory]
    [InlineData(null, "/t")]
    [InlineData(null, "/t/a", "/t/deep")]
    [InlineData(null, "-p", "/", "/t")]
    [InlineData(null, "/t/a/b/c")]
    [InlineData("ENOENT", "/t/nope")]
    [InlineData("ENOENT", "/t", "/t/nope")]
    public Task List_matches_xenstore_list(string? error, params string[] args) => SameOutputAsync("list", args, error);

    [Theory]
    [InlineData("/t")]
    [InlineData("/t/a/b/c", "/t/e")]
    [InlineData("/t/nope")]
    [InlineData("/t", "/t/nope")]
    [InlineData("/t/")]
    public Task Exists_matches_xenstore_exists(params string[] args) => SameOutputAsync("exists", args, null);

    [Theory]
    [InlineData(null, "/t/new", "1")]
    [InlineData(null, "/t/new/deep", "1", "/t/k", "2", "/t/a/b/c", "")]
    [InlineData(null, "/t/esc", @"a\x41\101\\\q\t\n\r\x 4z\x-1\x0x41\777\8\")]
    [InlineData(null, "-R", "/t/esc", @"raw\x41\n")]
    [InlineData("Usage", "/t/new")]
    [InlineData("Usage", "/t/new", "1", "/t/other")]
    [InlineData("EINVAL", "/t/", "1")]
    [InlineData("EINVAL", "/t/ok", "1", "/t//bad", "2")]
    public Task Write_matches_xenstore_write(string? error, params string[] args) => SameEffectAsync("write", args, error);

    [Fact]
    public Task Write_of_a_value_over_the_payload_limit_fails_with_E2BIG_as_xenstore_write_does() =>
        SameEffectAsync("write", ["/t/big", new string('b', 5000)], "E2BIG");

    [Theory]
    [InlineData(null, "/t/a")]
    [InlineData(null, "-t", "/t/a/b/c")]
    [InlineData(null, "-t", "/t/deep/d1/d2/d3/d4/d5/d6")]
    [InlineData(null, "-t", "/t/e")]
    [InlineData(null, "/t/nope")]
    [InlineData(null, "/t/k", "/t/a/b")]
    [InlineData("ENOENT", "/t/nope/x")]
    [InlineData("ENOENT", "/t/k", "/t/nope/x")]
    [InlineData("EINVAL", "/")]
    public Task Rm_matches_xenstore_rm(string? error, params string[] args) => SameEffectAsync("rm", args, error);

    [Theory]
    [InlineData(null, "/t/a", "b0", "r1", "w2", "n3")]
    [InlineData(null, "/t/a", "rabc", "r00012")]
    [InlineData(null, "-r", "/t", "n0", "r5")]
    [InlineData(null, "-u", "/t/a/b/c", "n1")]
    [InlineData(null, "-u", "-r", "/t/deep/d1", "n7", "b8")]
    [InlineData("EINVAL", "/t/a")]
    [InlineData("Invalid permission specification: 'x'", "/t/a", "x1")]
    [InlineData("ENOENT", "/t/nope", "r1")]
    [InlineData("ENOENT", "-u", "t/a", "n1")]
    [InlineData("EINVAL", "-r", "/", "b0")]
    [InlineData("Usage")]
    public Task Chmod_matches_xenstore_chmod(string? error, params string[] args) => SameEffectAsync("chmod", args, error);

    [Fact]
    public async Task Ls_on_a_terminal_cuts_lines_to_its_width_as_xenstore_ls_does()
    {
        await _fixture.ResetAsync();
        foreach (string[] args in new[] { new[] { "/t" }, ["-f", "/t"], ["-p", "/t"], ["-fp", "/t"] })
        {
            string commandLine = $"stty cols 50; exec /usr/bin/xenstore-ls {string.Join(' ', args)}";
            ToolResult real = await ToolRun.ProcessAsync("/usr/bin/script", ["-qec", commandLine, "/dev/null"], Store.ClientEnvironment);
            ToolResult ours = await ToolRun.StoreAsync(["ls", "-s", Store.SocketPath, .. args], terminalColumns: 50);
            Assert.Equal(0, real.ExitCode);
            Assert.Equal(0, ours.ExitCode);
            Assert.Equal(real.OutputText.Replace("\r\n", "\n", StringComparison.Ordinal), ours.OutputText); // the pty adds the \r
            Assert.Contains(@"\...""", ours.OutputText, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Mkdir_creates_empty_nodes_and_keeps_existing_values_in_one_transaction()
    {
        await _fixture.ResetAsync();
        ToolResult ours = await ToolRun.StoreAsync(["mkdir", "-s", Store.SocketPath, "/t/m/n", "/t/k"]);
        Assert.Equal(0, ours.ExitCode);
        Assert.Equal("", (await ToolRun.RealAsync(Store, "read", ["/t/m", "/t/m/n"])).OutputText.Replace("\n", "", StringComparison.Ordinal));
        Assert.Equal("val\n", (await ToolRun.RealAsync(Store, "read", ["/t/k"])).OutputText);

        string before = await _fixture.SnapshotAsync();
        ToolResult failed = await ToolRun.StoreAsync(["mkdir", "-s", Store.SocketPath, "/t/m2", "/t//bad"]);
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("could not create path /t//bad: EINVAL", failed.Error, StringComparison.Ordinal);
        Assert.Equal(before, await _fixture.SnapshotAsync()); // /t/m2 was not committed
    }

    [Fact]
    public async Task Watch_n_2_prints_the_initial_event_and_the_change_as_xenstore_watch_does()
    {
        await _fixture.ResetAsync();
        var realOutput = new LineSignallingStream();
        Task<int> real = RunStreamingAsync("/usr/bin/xenstore-watch", ["-n", "2", "/t/a"], realOutput);
        await realOutput.WaitForLinesAsync(1);
        await ToolRun.RealAsync(Store, "write", ["/t/a/b/new", "1"]);
        int realExit = await real.WaitAsync(Deadline.Default);

        await _fixture.ResetAsync();
        var ourOutput = new LineSignallingStream();
        Task<ToolResult> ours = ToolRun.StoreAsync(["watch", "-s", Store.SocketPath, "-n", "2", "/t/a"], output: ourOutput);
        await ourOutput.WaitForLinesAsync(1);
        await ToolRun.RealAsync(Store, "write", ["/t/a/b/new", "1"]);
        ToolResult ourResult = await ours.WaitAsync(Deadline.Default);

        Assert.Equal("/t/a\n/t/a/b/new\n", realOutput.Text);
        Assert.Equal(realOutput.Text, ourOutput.Text);
        Assert.Equal(realExit, ourResult.ExitCode);
    }

    [Fact]
    public async Task Watch_of_several_keys_prints_events_in_arrival_order_as_xenstore_watch_does()
    {
        string[] args = ["-n", "5", "/t/a", "/t/k", "/t/a/b"];
        await _fixture.ResetAsync();
        var realOutput = new LineSignallingStream();
        Task<int> real = RunStreamingAsync("/usr/bin/xenstore-watch", args, realOutput);
        await realOutput.WaitForLinesAsync(3);
        await ToolRun.RealAsync(Store, "write", ["/t/a/b/c", "2", "/t/k", "3"]); // one transaction: 3 events

        await real.WaitAsync(Deadline.Default);
        await _fixture.ResetAsync();
        var ourOutput = new LineSignallingStream();
        Task<ToolResult> ours = ToolRun.StoreAsync(["watch", "-s", Store.SocketPath, .. args], output: ourOutput);
        await ourOutput.WaitForLinesAsync(3);
        await ToolRun.RealAsync(Store, "write", ["/t/a/b/c", "2", "/t/k", "3"]);
        Assert.Equal(0, (await ours.WaitAsync(Deadline.Default)).ExitCode);

        Assert.Equal(realOutput.Text, ourOutput.Text);
        Assert.Equal(5, ourOutput.Text.Count(c => c == '\n'));
    }

    [Fact]
    public async Task Watch_of_the_same_key_twice_fails_with_EEXIST_as_xenstore_watch_does()
    {
        await _fixture.ResetAsync();
        await SameOutputAsync("watch", ["-n", "1", "/t/a", "/t/a"], "EEXIST");
    }

    [Fact]
    public async Task The_built_xen_tool_finds_the_daemon_through_XENSTORED_PATH_and_accepts_the_bare_s_flag()
    {
        await _fixture.ResetAsync();
        foreach (string[] args in new[] { new[] { "/t/x", "/t/a/b/c" }, ["-s", "/t/k"], ["/t/nope"] })
        {
            ToolResult real = await ToolRun.RealAsync(Store, "read", args);
            (string program, string[] arguments) = ToolProcess.CommandLine(["store", "read", .. args]);
            ToolResult ours = await ToolRun.ProcessAsync(program, arguments, Store.ClientEnvironment);
            Assert.Equal(real.ExitCode, ours.ExitCode);
            Assert.Equal(real.OutputText, ours.OutputText);
        }
    }

    private async Task SameOutputAsync(string command, string[] args, string? error)
    {
        await _fixture.ResetAsync();
        ToolResult real = await ToolRun.RealAsync(Store, command, args);
        ToolResult ours = await ToolRun.StoreAsync([command, "--socket", Store.SocketPath, .. args]);
        AssertSame(real, ours, error);
    }

    private async Task SameEffectAsync(string command, string[] args, string? error)
    {
        await _fixture.ResetAsync();
        ToolResult real = await ToolRun.RealAsync(Store, command, args);
        string realTree = await _fixture.SnapshotAsync();
        await _fixture.ResetAsync();
        ToolResult ours = await ToolRun.StoreAsync([command, "--socket", Store.SocketPath, .. args]);
        string ourTree = await _fixture.SnapshotAsync();
        AssertSame(real, ours, error);
        Assert.Equal(realTree, ourTree);
    }

    private static void AssertSame(ToolResult real, ToolResult ours, string? error)
    {
        Assert.True(real.ExitCode == ours.ExitCode, $"exit status differs.\nreal: {real}\nours: {ours}");
        Assert.True(real.Output.AsSpan().SequenceEqual(ours.Output), $"stdout differs.\nreal: {real}\nours: {ours}");
        if (error is null)
        {
            Assert.True(ours.Error.Length == 0 || ours.ExitCode != 0, $"unexpected stderr: {ours.Error}");
        }
        else
        {
            Assert.Equal(1, ours.ExitCode);
            Assert.Contains(error, ours.Error, StringComparison.Ordinal);
        }
    }

    private async Task<int> RunStreamingAsync(string program, string[] args, Stream output)
    {
        ProcessStartInfo startInfo = PeerCommand.StartInfo(program, args, Store.ClientEnvironment);
        using Process process = Process.Start(startInfo)!;
        _ = process.StandardError.ReadToEndAsync(); // drained, so that what it writes there cannot block it
        try
        {
            await process.StandardOutput.BaseStream.CopyToAsync(output).WaitAsync(Deadline.Default);
            await process.WaitForExitAsync().WaitAsync(Deadline.Default);
            return process.ExitCode;
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill();
            }
        }
    }

    /// <summary>Keeps what is written and lets a test wait for a number of lines.</summary>
    private sealed class LineSignallingStream : Stream
    {
        private readonly MemoryStream _buffer = new();
        private readonly SemaphoreSlim _lines = new(0);

        public string Text
        {
            get
            {
                lock (_buffer)
                {
                    return Encoding.UTF8.GetString(_buffer.ToArray());
                }
            }
        }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => true;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override void Write(byte[] buffer, int offset, int count) => Write(buffer.AsSpan(offset, count));

        public override void Write(ReadOnlySpan<byte> buffer)
        {
            lock (_buffer)
            {
                _buffer.Write(buffer);
            }

            int lines = buffer.Count((byte)'\n');
            if (lines > 0)
            {
                _lines.Release(lines);
            }
        }

        public override Task WriteAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken)
        {
            Write(buffer.AsSpan(offset, count));
            return Task.CompletedTask;
        }

        public override ValueTask WriteAsync(ReadOnlyMemory<byte> buffer, CancellationToken cancellationToken = default)
        {
            Write(buffer.Span);
            return ValueTask.CompletedTask;
        }

        public override void Flush()
        {
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public async Task WaitForLinesAsync(int count)
        {
            for (int i = 0; i < count; i++)
            {
                await Deadline.RunAsync(token => _lines.WaitAsync(token), () => $"line {i + 1} of the watch output; so far: {Text}");
            }
        }
    }
}
