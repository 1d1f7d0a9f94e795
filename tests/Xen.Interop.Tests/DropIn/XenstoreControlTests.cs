using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// Xen's own <c>xenstore-control</c> against C xenstored and against ours (both started by <c>run_xenstored.sh</c>, traced):
/// the same answers, and the trace switched as C switches it.
/// </summary>
[Trait("Category", "Interop")]
public sealed class XenstoreControlTests
{
    private const string XenstoreControl = "/usr/lib/xen-4.17/bin/xenstore-control";

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Log_off_on_and_logfile_switch_the_trace_as_c_xenstored_does(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind, traced: true);
        string other = Path.Combine(store.StateDirectory, "other.log");

        Assert.Equal((0, "OK\n"), await ControlAsync(store, "log", "off"));
        await store.WriteAsync("/ctl/while-off", "x");
        Assert.Equal((0, "OK\n"), await ControlAsync(store, "log", "on"));
        await store.WriteAsync("/ctl/while-on", "x");
        Assert.Equal((0, "OK\n"), await ControlAsync(store, "logfile", other));
        await store.WriteAsync("/ctl/to-other", "x");

        string first = await File.ReadAllTextAsync(store.TraceFilePath);
        string second = await File.ReadAllTextAsync(other);
        Assert.DoesNotContain("/ctl/while-off", first, StringComparison.Ordinal);
        Assert.Contains("WRITE (/ctl/while-on x)", first, StringComparison.Ordinal);
        Assert.Equal(2, first.Split("\n***\n").Length - 1); // opened at start and by "log on"
        Assert.DoesNotContain("/ctl/to-other", first, StringComparison.Ordinal);
        Assert.StartsWith("\n***\n", second, StringComparison.Ordinal);
        Assert.Contains("WRITE (/ctl/to-other x)", second, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task Memreport_appends_to_the_named_file_or_the_trace_file(XenstoredKind kind)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync(kind, traced: true);
        string report = Path.Combine(store.StateDirectory, "memreport");

        Assert.Equal((0, "OK\n"), await ControlAsync(store, "memreport", report));
        Assert.True(new FileInfo(report).Length > 0, "memreport wrote nothing to the file it was given");
        long before = new FileInfo(store.TraceFilePath).Length;
        Assert.Equal((0, "OK\n"), await ControlAsync(store, "memreport"));
        Assert.True(new FileInfo(store.TraceFilePath).Length > before, "memreport without a file wrote nothing to the trace file");
    }

    [Fact]
    public async Task Quota_check_print_and_bad_commands_answer_as_c_xenstored_does()
    {
        await using XenstoredPeer c = await XenstoredPeer.StartAsync(XenstoredKind.C);
        await using XenstoredPeer ours = await XenstoredPeer.StartAsync(XenstoredKind.Embedded);
        string[][] commands =
        [
            ["check"], ["print", "hello"], ["quota", "set", "nodes", "2000"], ["quota", "set", "memory", "3000000"], ["quota"],
            ["quota-soft"], ["quota-soft", "set", "memory", "2500000"], ["quota-soft"],
        ];
        foreach (string[] command in commands)
        {
            Assert.Equal(await ControlAsync(c, command), await ControlAsync(ours, command));
        }

        // Refused (EINVAL): xenstore-control then prints the daemon's own help, which lists C's live-update where the
        // embedded server has none: the same status and first line.
        string[][] refused =
        [
            ["quota", "set", "nodes", "0"], ["quota", "set", "nosuch", "5"], ["quota", "set", "soft-memory", "5"], ["quota", "99"],
            ["quota-soft", "set", "nodes", "5"], ["quota-soft", "0"], ["nosuch"], ["log", "maybe"],
        ];
        foreach (string[] command in refused)
        {
            (int code, string theirs) = await ControlAsync(c, command);
            (int ourCode, string ourText) = await ControlAsync(ours, command);
            Assert.Equal((code, theirs.Split('\n')[0]), (ourCode, ourText.Split('\n')[0]));
        }

        // dom0's own bytes differ: C also counts what its socket clients have in flight and their watches (dom0 has no
        // limit; a guest's figure is compared in MemoryQuotaRefereeTests).
        (int dom0Code, string dom0) = await ControlAsync(c, "quota", "0");
        Assert.Equal((dom0Code, WithoutMemory(dom0)), (0, WithoutMemory((await ControlAsync(ours, "quota", "0")).Output)));
        Assert.Contains("nodes            :     2000 Nodes per domain", (await ControlAsync(ours, "quota")).Output, StringComparison.Ordinal);
    }

    private static string WithoutMemory(string text) =>
        string.Join('\n', text.Split('\n').Where(l => !l.StartsWith("memory ", StringComparison.Ordinal)));

    private static async Task<(int Code, string Output)> ControlAsync(XenstoredPeer store, params string[] command)
    {
        PeerPrograms.Require(requirePeersScripts: false, XenstoreControl);
        PeerCommandResult result = await PeerCommand.RunAsync(XenstoreControl, command, store.ClientEnvironment);
        return (result.ExitCode, result.StandardOutput + result.StandardError);
    }
}
