using System.Text;
using System.Text.RegularExpressions;
using Xen.Store.Client;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Console;

/// <summary>
/// The same guest output through the real xenconsoled and through ours (<c>xen console serve</c>), each started the
/// same way with the same options: the two log files are the same bytes (timestamps masked: xenconsoled's clock cannot
/// be fixed), and each leaves the same xenstore nodes behind, with the same permissions.
/// </summary>
[Trait("Category", "Interop")]
public sealed partial class ConsoleTranscriptTests
{
    /// <summary>
    /// What a booting guest prints: CR LF and lone CRs, escape sequences, a line longer than out[] (2048 bytes),
    /// blank lines, CRs right after a newline (which the timestamped log drops), bytes above 0x7f, and a last line.
    /// </summary>
    private static byte[] Transcript()
    {
        var text = new StringBuilder();
        text.Append("Linux version 6.1.0 (gcc)\r\n\x1b[1mbold\x1b[0m and \x1b[31mred\x1b[0m\r\n");
        text.Append("progress 10%\rprogress 50%\rprogress 100%\r\n");
        text.Append(new string('L', 5000)).Append("\r\n\r\n\n");
        text.Append("\n\r\r\rafter carriage returns\n");
        text.Append("partial line, then ");
        text.Append("the rest\n");
        byte[] head = Encoding.ASCII.GetBytes(text.ToString());
        byte[] high = [0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff, 0x00, 0x07, (byte)'\n'];
        return [.. head, .. high, .. "END-OF-TRANSCRIPT\n"u8];
    }

    public static TheoryData<string[]> Options => new()
    {
        Array.Empty<string>(),
        new[] { "--timestamp=guest" },
        new[] { "--replace-escape" },
        new[] { "-t", "guest", "--replace-escape", "-o", "keep" },
    };

    [Theory]
    [MemberData(nameof(Options))]
    public async Task Both_daemons_write_the_same_log_and_leave_the_same_nodes(string[] options)
    {
        (string realLog, string[] realNodes) = await RunAsync(ConsoleDaemonKind.Xenconsoled, options);
        (string ourLog, string[] ourNodes) = await RunAsync(ConsoleDaemonKind.Ours, options);
        Assert.Equal(realLog, ourLog);
        Assert.Equal(realNodes, ourNodes);
        Assert.Contains("END-OF-TRANSCRIPT", ourLog, StringComparison.Ordinal);
    }

    private static async Task<(string Log, string[] Nodes)> RunAsync(ConsoleDaemonKind kind, string[] options)
    {
        await using XenstoredPeer store = await XenstoredPeer.StartAsync();
        await using XenconsoledPeer console = await XenconsoledPeer.StartAsync(store, daemon: kind, daemonOptions: options);
        using var guest = ConsoleGuest.Attach(console);
        byte[] transcript = Transcript();
        await guest.WriteAllAsync(transcript);
        await guest.WaitUntilOutputConsumedAsync();

        string log = "";
        await Deadline.PollAsync(
            () => (log = Encoding.Latin1.GetString(console.ReadLog())).EndsWith("END-OF-TRANSCRIPT\n", StringComparison.Ordinal),
            () => $"{kind}'s log does not end with the last line yet: {log.Length} chars; {console.Output}");

        await using XenStoreClient client = await XenStoreClient.ConnectAsync(store.SocketPath);
        var nodes = new List<string>();
        await ListAsync(client, $"/local/domain/{console.DomainId}", nodes);
        return (Stamp().Replace(log, "[STAMP] "), [.. nodes.Order(StringComparer.Ordinal)]);
    }

    /// <summary>Every node below <paramref name="path"/> with its value and permissions, but the pty's number (each daemon gets its own).</summary>
    private static async Task ListAsync(XenStoreClient client, string path, List<string> nodes)
    {
        foreach (string child in await client.DirectoryAsync(path))
        {
            string full = $"{path}/{child}";
            string value = await client.ReadStringAsync(full);
            string permissions = string.Join(',', (await client.GetPermissionsAsync(full)).Select(p => p.ToString()));
            nodes.Add($"{full} = {(child == "tty" ? PtsNumber().Replace(value, "/dev/pts/N") : value)} ({permissions})");
            await ListAsync(client, full, nodes);
        }
    }

    [GeneratedRegex(@"\[\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\] ")]
    private static partial Regex Stamp();

    [GeneratedRegex(@"^/dev/pts/\d+$")]
    private static partial Regex PtsNumber();
}
