using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Vchan;

/// <summary>The real vchan programs the tests hold ours against.</summary>
internal static class VchanPrograms
{
    /// <summary>Xen's own vchan tool (package xen-utils-4.17), built on Debian's libxenvchan.</summary>
    public const string SocketProxy = PeerPrograms.XenToolsDirectory + "/vchan-socket-proxy";

    /// <summary>libxenvchan's header (package libxen-dev): what <c>vchan_peer.c</c> compiles against.</summary>
    public const string Header = "/usr/include/libxenvchan.h";

    private static readonly Lazy<Task<string>> s_nativePeer = new(BuildNativePeerAsync);

    /// <summary>
    /// <c>tests/native/vchan_peer.c</c> (copied next to the test assembly under <c>native/</c>) built with gcc against
    /// libxenvchan, once per test run.
    /// </summary>
    public static Task<string> NativePeerAsync() => s_nativePeer.Value;

    /// <summary>Fails the test (or skips it outside CI) when a program is missing.</summary>
    public static void Require() => PeerPrograms.Require(requirePeersScripts: true, SocketProxy, Header, PeerPrograms.XenctrlHeader, "gcc");

    private static async Task<string> BuildNativePeerAsync()
    {
        Require();
        string source = Path.Combine(AppContext.BaseDirectory, "native", "vchan_peer.c");
        string executable = Path.Combine(Path.GetTempPath(), $"vchan_peer-{Environment.ProcessId}");
        await PeerCommand.RunCheckedAsync("gcc", ["-O2", "-Wall", "-Wextra", "-Werror", "-o", executable, source, "-lxenvchan"]);
        return executable;
    }
}
