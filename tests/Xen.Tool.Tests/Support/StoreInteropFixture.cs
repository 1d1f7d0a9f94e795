using Xen.TestSupport.Peers;

namespace Xen.Tool.Tests.Support;

/// <summary>
/// One real C xenstored for a test class (xunit runs a class's tests one after another), and the tree each test starts
/// from, written with the real xenstore-write and xenstore-chmod.
/// </summary>
public sealed class StoreInteropFixture : IAsyncLifetime
{
    private XenstoredPeer? _store;

    public XenstoredPeer Store => _store ?? throw new InvalidOperationException("The daemon did not start.");

    public async Task InitializeAsync() => _store = await XenstoredPeer.StartAsync(XenstoredKind.C);

    public async Task DisposeAsync()
    {
        if (_store is not null)
        {
            await _store.DisposeAsync();
        }
    }

    /// <summary>A 90-character node name, longer than an 80-column ls line leaves for names.</summary>
    public static readonly string LongName = new('n', 90);

    /// <summary>Removes /t and writes the standard tree under it.</summary>
    public async Task ResetAsync()
    {
        await Real("rm", "/t");
        await Real("write",
            "/t/a/b/c", "hello",
            "/t/x", @"tab\tnl\nbs\\ del\x7f e\xc3\xa9 bel\007 nul\000 esc\x1b",
            "/t/e", "",
            "/t/k", "val",
            "/t/long", new string('v', 100),
            "/t/" + LongName, "n",
            "/t/deep/d1/d2/d3/d4/d5/d6", "leaf");
        await Real("chmod", "/t/e", "n0", "r3", "b5");
        await Real("chmod", "-r", "/t/deep", "r0", "w7");
    }

    /// <summary>The whole tree with permissions, as the real xenstore-ls -fp prints it.</summary>
    public async Task<string> SnapshotAsync() => (await ToolRun.RealAsync(Store, "ls", ["-fp", "/"])).OutputText;

    private async Task Real(string command, params string[] args)
    {
        ToolResult r = await ToolRun.RealAsync(Store, command, args);
        if (r.ExitCode != 0 && command != "rm")
        {
            throw new InvalidOperationException($"xenstore-{command} {string.Join(' ', args)}: {r}");
        }
    }
}
