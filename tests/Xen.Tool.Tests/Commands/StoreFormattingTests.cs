using System.CommandLine;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Xen.Store.Wire;
using Xen.Tool.Commands;
using Xen.Tool.Tests.Support;

namespace Xen.Tool.Tests.Commands;

/// <summary>The text forms of xenstore-utils, with no daemon: value escaping, the ls layout, argument handling.</summary>
public class StoreFormattingTests
{
    [Fact]
    public void Sanitise_escapes_every_byte_outside_printable_ASCII_and_the_backslash()
    {
        for (int b = 0; b < 256; b++)
        {
            string expected = b switch
            {
                '\t' => @"\t",
                '\n' => @"\n",
                '\r' => @"\r",
                '\\' => @"\\",
                < 8 => $"\\00{b}",
                >= ' ' and <= '~' => ((char)b).ToString(),
                _ => $"\\x{b:x2}",
            };
            Assert.Equal(expected, XsValueText.Sanitise([(byte)b]));
        }

        Assert.Equal(@"tab\tnl\nbs\\ del\x7f e\xc3\xa9 bel\007 nul\000 esc\x1b",
            XsValueText.Sanitise(Encoding.UTF8.GetBytes("tab\tnl\nbs\\ del\u007f e\u00e9 bel\a nul\0 esc\u001b")));
    }

    /// <summary>Expected bytes recorded from the real xenstore-write 4.17 (written, then read back with xenstore-read -R).</summary>
    [Theory]
    [InlineData(@"a\x 41b", new byte[] { 0x61, 0x41, 0x62 })]
    [InlineData(@"a\x-1b", new byte[] { 0x61, 0xff, 0x62 })]
    [InlineData(@"a\x0x41", new byte[] { 0x61, 0x00, 0x34, 0x31 })]
    [InlineData(@"a\x+fz", new byte[] { 0x61, 0x0f, 0x7a })]
    [InlineData(@"a\x", new byte[] { 0x61, 0x78 })]
    [InlineData(@"a\xg", new byte[] { 0x61, 0x78, 0x67 })]
    [InlineData(@"a\777", new byte[] { 0x61, 0xff })]
    [InlineData(@"a\8", new byte[] { 0x61, 0x38 })]
    [InlineData(@"\", new byte[] { 0x00 })]
    [InlineData("a\\x\t5", new byte[] { 0x61, 0x05 })]
    [InlineData(@"a\x-", new byte[] { 0x61, 0x78, 0x2d })]
    [InlineData(@"a\x -2", new byte[] { 0x61, 0xfe })]
    [InlineData("\u00e9\\\u00e9", new byte[] { 0xc3, 0xa9, 0xc3, 0xa9 })]
    [InlineData(@"a\x41\101\\\q\", new byte[] { 0x61, 0x41, 0x41, 0x5c, 0x71, 0x00 })]
    [InlineData(@"\t\n\r", new byte[] { 9, 10, 13 })]
    public void Unsanitise_reads_escapes_as_xenstore_write_does(string argument, byte[] expected) =>
        Assert.Equal(expected, XsValueText.Unsanitise(argument));

    [Fact]
    public void Unsanitise_inverts_Sanitise_for_every_value() =>
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), value =>
            XsValueText.Unsanitise(XsValueText.Sanitise(value)).AsSpan().SequenceEqual(value)).QuickCheckThrowOnFailure();

    [Fact]
    public void Ls_indents_one_space_per_level_and_quotes_escaped_values()
    {
        var layout = StoreLsLayout.For(fullPaths: false, terminalColumns: null);
        Assert.Equal("name = \"v\"", layout.Entry("/a/name", "name", 0, "v"u8, true, false));
        Assert.Equal("   name = \"a\\tb\"", layout.Entry("/a/b/c/name", "name", 3, "a\tb"u8, true, false));
        Assert.Equal("  gone:", layout.Entry("/a/b/gone", "gone", 2, default, false, false));
        Assert.Equal("/a/b/name = \"\"", StoreLsLayout.For(true, null).Entry("/a/b/name", "name", 2, default, true, false));
    }

    [Fact]
    public void Ls_cuts_names_and_values_to_80_columns_when_not_on_a_terminal()
    {
        var layout = StoreLsLayout.For(fullPaths: false, terminalColumns: null);
        string name = new('n', 90);
        Assert.Equal(new string('n', 72) + " = \"\\...\"", layout.Entry("/" + name, name, 0, "x"u8, true, false));
        Assert.Equal(" " + new string('n', 71) + ":", layout.Entry("/a/" + name, name, 1, default, false, false));
        string line = layout.Entry("/long", "long", 0, Encoding.ASCII.GetBytes(new string('v', 100)), true, false);
        Assert.Equal("long = \"" + new string('v', 68) + "\\...\"", line);
        Assert.Equal(81, line.Length); // the cut leaves one column more than the width, as xenstore-ls does
        Assert.Equal("long = \"" + new string('v', 68) + "\"", layout.Entry("/long", "long", 0, Encoding.ASCII.GetBytes(new string('v', 68)), true, false));
    }

    [Fact]
    public void Ls_without_f_never_cuts_a_value_and_with_a_terminal_cuts_to_its_width_minus_two()
    {
        byte[] value = Encoding.ASCII.GetBytes(new string('v', 5000));
        Assert.EndsWith("v\"", StoreLsLayout.For(true, null).Entry("/p/long", "long", 1, value, true, false), StringComparison.Ordinal);
        Assert.Equal("/p/long = \"" + new string('v', 40) + "\\...\"", StoreLsLayout.For(true, 50).Entry("/p/long", "long", 1, value, true, false));
        Assert.Equal("long = \"" + new string('v', 36) + "\\...\"", StoreLsLayout.For(false, 50).Entry("/long", "long", 0, value, true, false));
    }

    [Fact]
    public void Ls_p_pads_with_a_dotted_leader_to_column_60_then_the_permissions()
    {
        var layout = StoreLsLayout.For(fullPaths: false, terminalColumns: null);
        string entry = layout.Entry("/tool", "tool", 0, default, true, true);
        Assert.Equal("tool = \"\"  . . . . . . . . . . . . . . . . . . . . . . . . .", entry);
        Assert.Equal(60, entry.Length);
        Assert.Equal("a = \"\" . . . . . . . . . . . . . . . . . . . . . . . . . . .", layout.Entry("/a", "a", 0, default, true, true));
        Assert.Equal("  (n0,r5,b7)", StoreLsLayout.Permissions([new(XsAccess.None, 0), new(XsAccess.Read, 5), new(XsAccess.Both, 7)]));
        Assert.Equal("/a = \"\" ", StoreLsLayout.For(true, null).Entry("/a", "a", 0, default, true, true));
    }

    [Fact]
    public void Ls_composes_child_paths_without_doubling_the_root_slash()
    {
        Assert.Equal("/tool", StoreLsLayout.ChildPath("/", "tool"));
        Assert.Equal("/a/b", StoreLsLayout.ChildPath("/a", "b"));
        Assert.Equal("/a/b", StoreLsLayout.ChildPath("/a/", "b"));
        Assert.Equal("rel/b", StoreLsLayout.ChildPath("rel", "b"));
    }

    [Theory]
    [InlineData("r5", XsAccess.Read, 5L)]
    [InlineData("b0", XsAccess.Both, 0L)]
    [InlineData("w", XsAccess.Write, 0L)]
    [InlineData("nabc", XsAccess.None, 0L)]
    [InlineData("r 12x", XsAccess.Read, 12L)]
    [InlineData("r-1", XsAccess.Read, -1L)]
    [InlineData("r70000", XsAccess.Read, 70000L)]
    public void Chmod_reads_modes_as_xenstore_chmod_does(string mode, XsAccess access, long domainId) =>
        Assert.Equal((access, domainId), StoreChmodCommand.ParseMode(mode));

    [Theory]
    [InlineData("x1")]
    [InlineData("")]
    [InlineData("R1")]
    public void Chmod_refuses_unknown_access_letters(string mode) => Assert.Null(StoreChmodCommand.ParseMode(mode));

    [Theory]
    [InlineData(new[] { "read" }, "Usage: xen store read")]
    [InlineData(new[] { "write", "/a" }, "Usage: xen store write")]
    [InlineData(new[] { "write", "/a", "1", "/b" }, "Usage: xen store write")]
    [InlineData(new[] { "rm", "-t" }, "Usage: xen store rm")]
    [InlineData(new[] { "chmod" }, "Usage: xen store chmod")]
    [InlineData(new[] { "watch", "-n", "1" }, "Usage: xen store watch")]
    [InlineData(new[] { "chmod", "/a", "q1" }, "Invalid permission specification: 'q'")]
    public async Task A_wrong_command_line_prints_usage_and_exits_1_without_connecting(string[] args, string message)
    {
        ToolResult r = await ToolRun.StoreAsync([args[0], "--socket", "/nonexistent/socket", .. args[1..]]);
        Assert.Equal(1, r.ExitCode);
        Assert.Contains(message, r.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("xs_open", r.Error, StringComparison.Ordinal);
        Assert.Empty(r.Output);
    }

    [Fact]
    public async Task No_daemon_is_an_xs_open_failure_with_status_1()
    {
        string missing = Path.Combine(Path.GetTempPath(), "xen-tool-tests-" + Guid.NewGuid().ToString("N"));
        File.WriteAllText(missing, ""); // an existing file, so -s takes it as the socket; nothing listens there
        try
        {
            ToolResult r = await ToolRun.StoreAsync(["read", "-s", missing, "/a"]);
            Assert.Equal(1, r.ExitCode);
            Assert.Contains("xen store read: xs_open: ", r.Error, StringComparison.Ordinal);
        }
        finally
        {
            File.Delete(missing);
        }
    }

    [Fact]
    public void Socket_option_takes_an_existing_file_and_otherwise_is_the_ignored_xenstore_utils_flag()
    {
        string socketFile = Path.GetTempFileName();
        try
        {
            Option<string?> socket = StoreSocketOption.Create();
            Argument<string[]> keys = StoreSocketOption.Operands("key", "keys");
            var command = new Command("read");
            command.Options.Add(socket);
            command.Arguments.Add(keys);

            (string? Socket, List<string> Keys) Split(params string[] args) => StoreSocketOption.Split(command.Parse(args), socket, keys);

            Assert.Equal(socketFile, Split("-s", socketFile, "/a", "/b").Socket);
            Assert.Equal(["/a", "/b"], Split("-s", socketFile, "/a", "/b").Keys);
            Assert.Equal(["/a", "/b"], Split("-s", "/a", "/b").Keys);
            Assert.Null(Split("-s", "/a", "/b").Socket);
            Assert.Equal(["/a", "/b", "/c"], Split("/a", "-s", "/b", "/c").Keys);
            Assert.Equal(["/a"], Split("/a", "-s").Keys);
            Assert.Equal(["/a"], Split("--socket", socketFile, "/a").Keys);
            Assert.Equal(socketFile, Split("/a", "--socket", socketFile).Socket);
            Assert.Equal(["/"], Split("-s", "/").Keys); // a directory is never the socket
            Assert.Equal("/no/such/socket", Split("--socket", "/no/such/socket", "/a").Socket); // the long form always takes it
            Assert.Equal(["/a"], Split("--socket", "/no/such/socket", "/a").Keys);
        }
        finally
        {
            File.Delete(socketFile);
        }
    }
}
