using System.Text;
using Xen.Rings.Console;
using Xen.Rings.Memory;
using Xen.Rings.Shim;
using Xen.TestSupport.Peers;
using Xen.Tool.Tests.Support;

namespace Xen.Tool.Tests.Commands;

/// <summary>
/// <c>xen console</c> run as a process against a console page file and the shim's event channels, with the test
/// playing the other end through the library (<see cref="ConsoleRingStream"/>, <see cref="ConsoleFrontend"/>).
/// </summary>
public sealed class ConsoleCommandTests : IDisposable
{
    private const uint DomainId = 7;
    private const uint Port = 3;

    // Short: the shim's socket paths must fit in 108 bytes.
    private readonly string _dir = Path.Combine("/tmp", $"xc-{Guid.NewGuid():N}"[..11]);

    public ConsoleCommandTests()
    {
        Directory.CreateDirectory(_dir);
        File.WriteAllBytes(PagePath, new byte[ConsoleLayout.PageSize]);
    }

    private string PagePath => Path.Combine(_dir, $"cons-ring-{DomainId}");

    public void Dispose() => Directory.Delete(_dir, recursive: true);

    /// <summary>Every byte value, in an order that shows a dropped, repeated or misplaced byte.</summary>
    private static byte[] Pattern(int byteCount, int seed)
    {
        byte[] bytes = new byte[byteCount];
        for (int i = 0; i < bytes.Length; i++)
        {
            bytes[i] = (byte)((i * 7) + (i / 256) + seed);
        }

        return bytes;
    }

    [Fact]
    public async Task As_the_backend_guest_output_reaches_stdout_byte_for_byte_and_stdin_reaches_in_over_the_event_channel()
    {
        using SharedPage page = SharedPage.MapFile(PagePath);
        using ShimGuestDomain guestDomain = ShimEventChannels.BindGuest(_dir, DomainId);
        using var guest = ConsoleRingStream.OpenFrontend(page.Memory, guestDomain.OpenChannel(Port), leaveOpen: false);
        await using var tool = ToolProcess.Start("console", "7", "--dir", _dir, "--port", "3");

        // Five times out[]: the guest can only finish if the tool consumes and notifies it, over and over.
        byte[] output = Pattern(5 * ConsoleLayout.OutSize + 123, seed: 0);
        Task writing = Deadline.RunAsync(token => guest.WriteAsync(output, token).AsTask(), () => "the guest could not write all of its output");
        byte[] printed = await tool.WaitForOutputAsync(output.Length);
        await writing;
        Assert.Equal(output, printed);

        // Three times in[], then the end of standard input: the tool waits for room, then exits 0.
        byte[] input = Pattern(3 * ConsoleLayout.InSize + 45, seed: 11);
        await tool.Input.WriteAsync(input);
        tool.CloseInput();
        byte[] received = await ReadExactlyAsync(guest, input.Length);
        Assert.Equal(input, received);
        ToolResult result = await tool.WaitForExitAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.Equal(output, result.Output);
        Assert.Equal("", result.Error);
    }

    [Fact]
    public async Task Without_an_event_channel_the_tool_polls_and_both_directions_still_arrive()
    {
        using SharedPage page = SharedPage.MapFile(PagePath);
        await using var tool = ToolProcess.Start("console", "--page", PagePath, "--poll-interval", "5");

        // The tool notifies nobody: the test polls the page, as a guest without interrupts would.
        byte[] output = Pattern(3 * ConsoleLayout.OutSize + 7, seed: 3);
        int written = 0;
        await Deadline.PollAsync(
            () => (written += new ConsoleFrontend(page.GetSpan()).Write(output.AsSpan(written))) == output.Length,
            () => $"the tool consumed {written} of {output.Length} bytes of out[]");
        Assert.Equal(output, await tool.WaitForOutputAsync(output.Length));

        byte[] input = Pattern(2 * ConsoleLayout.InSize + 9, seed: 5);
        await tool.Input.WriteAsync(input);
        tool.CloseInput();
        var received = new MemoryStream();
        byte[] buffer = new byte[ConsoleLayout.InSize];
        await Deadline.PollAsync(
            () =>
            {
                received.Write(buffer, 0, new ConsoleFrontend(page.GetSpan()).Read(buffer));
                return received.Length >= input.Length;
            },
            () => $"{received.Length} of {input.Length} bytes arrived in in[]");
        Assert.Equal(input, received.ToArray());
        ToolResult result = await tool.WaitForExitAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task As_the_frontend_stdin_goes_to_out_and_in_comes_out_on_stdout()
    {
        using SharedPage page = SharedPage.MapFile(PagePath);
        using var backend = ConsoleRingStream.OpenBackend(page.Memory, ShimEventChannels.BindBackend(_dir, DomainId, Port), leaveOpen: false);
        await using var tool = ToolProcess.Start("console", "7", "--dir", _dir, "--port", "3", "--frontend");

        byte[] keyboard = Pattern(4 * ConsoleLayout.InSize + 1, seed: 9);
        Task typing = Deadline.RunAsync(token => backend.WriteAsync(keyboard, token).AsTask(), () => "the backend could not write all of in[]");
        Assert.Equal(keyboard, await tool.WaitForOutputAsync(keyboard.Length));
        await typing;

        byte[] printk = Pattern(3 * ConsoleLayout.OutSize, seed: 1);
        await tool.Input.WriteAsync(printk);
        tool.CloseInput();
        Assert.Equal(printk, await ReadExactlyAsync(backend, printk.Length));
        ToolResult result = await tool.WaitForExitAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    [Fact]
    public async Task SIGTERM_ends_a_session_that_only_watches_output_with_status_0()
    {
        using SharedPage page = SharedPage.MapFile(PagePath);
        using ShimGuestDomain guestDomain = ShimEventChannels.BindGuest(_dir, DomainId);
        using var guest = ConsoleRingStream.OpenFrontend(page.Memory, guestDomain.OpenChannel(Port), leaveOpen: false);
        await using var tool = ToolProcess.Start("console", "7", "--dir", _dir, "--port", "3", "--no-input");

        await guest.WriteAsync("booting\r\n"u8.ToArray());
        Assert.Equal("booting\r\n"u8.ToArray(), await tool.WaitForOutputAsync(9));
        tool.Signal("TERM");
        ToolResult result = await tool.WaitForExitAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
        Assert.False(File.Exists(ShimEventChannels.BackendSocketPath(_dir, DomainId, Port)), "the event channel socket is unbound on the way out");
    }

    [Theory]
    [InlineData(0, "has 0 bytes; a console page (struct xencons_interface) is exactly 4096 bytes")]
    [InlineData(100, "has 100 bytes; a console page (struct xencons_interface) is exactly 4096 bytes")]
    [InlineData(8192, "has 8192 bytes; a console page (struct xencons_interface) is exactly 4096 bytes")]
    public async Task A_page_file_of_the_wrong_size_is_refused_with_status_1(int byteCount, string message)
    {
        File.WriteAllBytes(PagePath, new byte[byteCount]);
        ToolResult result = await ToolProcess.RunAsync("console", "7", "--dir", _dir, "--port", "3");
        Assert.Equal(1, result.ExitCode);
        Assert.Equal($"xen console: {PagePath} {message}\n", result.Error);
        Assert.Empty(result.Output);
        Assert.Equal(byteCount, new FileInfo(PagePath).Length);
    }

    [Fact]
    public async Task A_missing_page_and_missing_options_are_named_with_status_1()
    {
        ToolResult missing = await ToolProcess.RunAsync("console", "8", "--dir", _dir);
        Assert.Equal(1, missing.ExitCode);
        Assert.Equal($"xen console: no console page at {Path.Combine(_dir, "cons-ring-8")}\n", missing.Error);

        ToolResult noPage = await ToolProcess.RunAsync("console", "7");
        Assert.Equal(1, noPage.ExitCode);
        Assert.Contains("no console page: give the domid and --dir DIR", noPage.Error, StringComparison.Ordinal);

        ToolResult portWithoutDir = await ToolProcess.RunAsync("console", "--page", PagePath, "--port", "3");
        Assert.Equal(1, portWithoutDir.ExitCode);
        Assert.Contains("--port needs the domid and --dir DIR", portWithoutDir.Error, StringComparison.Ordinal);
    }

    [Fact]
    [Trait("Category", "Interop")]
    public async Task As_the_frontend_the_real_xenconsoled_logs_stdin_and_what_is_typed_on_its_pty_comes_out()
    {
        await using var store = await XenstoredPeer.StartAsync();
        await using var console = await XenconsoledPeer.StartAsync(store);
        await using var tool = ToolProcess.Start("console", $"{console.DomainId}", "--dir", console.StateDirectory, "--port", $"{console.Port}", "--frontend");
        await using FileStream tty = await console.OpenTtyAsync();

        // Typed on xenconsoled's pty: in[] -> the tool's standard output. More than in[] holds.
        byte[] typed = Pattern(2 * ConsoleLayout.InSize + 17, seed: 2);
        Task typing = Task.Run(() => tty.Write(typed));
        Assert.Equal(typed, await tool.WaitForOutputAsync(typed.Length));
        await Deadline.RunAsync(token => typing.WaitAsync(token), () => $"writing to {console.TtyPath} did not finish");

        // The tool's standard input: out[] -> xenconsoled's log, byte for byte. More than out[] holds.
        var text = new StringBuilder();
        for (int line = 0; text.Length < 3 * ConsoleLayout.OutSize; line++)
        {
            text.Append("guest console line ").Append(line).Append(" from xen console --frontend\r\n");
        }

        byte[] printed = Encoding.ASCII.GetBytes(text.ToString());
        await tool.Input.WriteAsync(printed);
        tool.CloseInput();
        Assert.Equal(text.ToString(), Encoding.ASCII.GetString(await console.WaitForLogAsync(printed.Length)));
        ToolResult result = await tool.WaitForExitAsync();
        Assert.True(result.ExitCode == 0, result.ToString());
    }

    private static Task<byte[]> ReadExactlyAsync(ConsoleRingStream stream, int byteCount) =>
        Deadline.RunAsync(
            async token =>
            {
                byte[] bytes = new byte[byteCount];
                await stream.ReadExactlyAsync(bytes, token);
                return bytes;
            },
            () => $"fewer than {byteCount} bytes arrived through the ring");
}
