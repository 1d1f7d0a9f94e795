using System.Text.RegularExpressions;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xunit.Abstractions;

namespace Xen.Interop.Tests.EmbeddedServer;

/// <summary>
/// C xenstored 4.17 as referee of DIRECTORY_PART's argument forms: exactly two NUL-terminated strings (a missing NUL,
/// one string or three are EINVAL), the offset read with <c>atoi</c> as an unsigned byte offset into the child list
/// (<c>abc</c> is 0, <c>6x</c> 6, <c>-1</c> past the end), an offset inside a name giving the rest of that name, an
/// offset at or past the end an empty list, the node's errors before the offset's. The generation each reply starts
/// with is the daemon's own counter, so the comparison shows it as <c>G</c>.
/// </summary>
[Trait("Category", "Interop")]
public partial class DirectoryPartRefereeTests(ITestOutputHelper output)
{
    private static readonly string[] Expected =
    [
        "offset '0': DirectoryPart G|alpha|beta|gamma||",
        "offset '6': DirectoryPart G|beta|gamma||",
        "offset '2': DirectoryPart G|pha|beta|gamma||",
        "offset '16': DirectoryPart G|||",
        "offset '17': DirectoryPart G||",
        "offset '100': DirectoryPart G||",
        "offset '-1': DirectoryPart G||",
        "offset 'abc': DirectoryPart G|alpha|beta|gamma||",
        "offset ' 6': DirectoryPart G|beta|gamma||",
        "offset '6x': DirectoryPart G|beta|gamma||",
        "offset '': DirectoryPart G|alpha|beta|gamma||",
        "leaf '0': DirectoryPart G||",
        "missing node: Error ENOENT|",
        "missing node, bad offset: Error ENOENT|",
        "path only: Error EINVAL|",
        "offset without its NUL: Error EINVAL|",
        "three strings: Error EINVAL|",
    ];

    [Fact]
    public async Task Our_server_reads_DIRECTORY_PARTs_arguments_as_c_xenstored_does()
    {
        var (theirs, ours) = await RefereeScript.RunAsync(XenstoredKind.C, (socket, _, log, token) => RunScriptAsync(socket, log, token), output);
        Assert.Equal(theirs, ours);
        Assert.Equal(Expected, ours);
    }

    private static async Task RunScriptAsync(string socketPath, List<string> log, CancellationToken token)
    {
        await using RawXenStoreConnection c = await RawXenStoreConnection.ConnectAsync(socketPath, token);
        async Task Step(string name, Task<string> answer) => log.Add($"{name}: {Generation().Replace(await answer, "DirectoryPart G|")}");

        foreach (string child in new[] { "alpha", "beta", "gamma" }) // the child list "alpha\0beta\0gamma\0", 17 bytes
        {
            await c.CallAsync(XsMessageType.Write, 0, [$"/dp/{child}"], "1");
        }

        foreach (string offset in new[] { "0", "6", "2", "16", "17", "100", "-1", "abc", " 6", "6x", "" })
        {
            await Step($"offset '{offset}'", c.CallAsync(XsMessageType.DirectoryPart, "/dp", offset));
        }

        await Step("leaf '0'", c.CallAsync(XsMessageType.DirectoryPart, "/dp/alpha", "0"));
        await Step("missing node", c.CallAsync(XsMessageType.DirectoryPart, "/dp/none", "0"));
        await Step("missing node, bad offset", c.CallAsync(XsMessageType.DirectoryPart, "/dp/none", "x"));
        await Step("path only", c.CallAsync(XsMessageType.DirectoryPart, "/dp"));
        await Step("offset without its NUL", c.CallAsync(XsMessageType.DirectoryPart, 0, ["/dp"], "0"));
        await Step("three strings", c.CallAsync(XsMessageType.DirectoryPart, "/dp", "0", "0"));
    }

    [GeneratedRegex(@"^DirectoryPart \d+\|")]
    private static partial Regex Generation();
}
