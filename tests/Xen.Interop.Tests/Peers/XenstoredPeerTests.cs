using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Peers;

/// <summary>The fixture itself: the real daemons start, answer the real CLIs, and leave nothing behind.</summary>
[Trait("Category", "Interop")]
public class XenstoredPeerTests
{
    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.OCaml)]
    [InlineData(XenstoredKind.Embedded)]
    public async Task A_node_written_with_the_real_cli_reads_back_and_disposal_stops_the_daemon_and_removes_its_directory(XenstoredKind kind)
    {
        string directory;
        int pid;
        await using (var store = await XenstoredPeer.StartAsync(kind))
        {
            directory = store.StateDirectory;
            pid = store.DaemonProcessId;
            Assert.True(directory.Length < 40, $"state directory {directory} leaves too little room for socket names");

            await store.WriteAsync("/interop/fixture", "hello world");
            Assert.Equal("hello world", await store.ReadAsync("/interop/fixture"));
            Assert.Null(await store.TryReadAsync("/interop/missing"));
        }

        Assert.False(Directory.Exists(directory), $"{directory} was not removed");
        Assert.False(ProcessStat.IsRunning(pid), $"the daemon (pid {pid}) still runs");
    }
}
