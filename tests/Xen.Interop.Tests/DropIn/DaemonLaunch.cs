namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// What <c>run_xenstored.sh</c> gives a daemon it starts, for the tests that start one another way (an init script, a
/// unit's command line, options the script does not pass) in a state directory whose shim is already built
/// (<c>XenstoredPeer.HostExternallyAsync</c>).
/// </summary>
internal static class DaemonLaunch
{
    /// <summary>Dom0's kernel connection as the script makes it: port 1 in <c>xsd_port</c>, a zeroed page <c>xs-ring-0</c>.</summary>
    public static async Task PrepareKernelConnectionAsync(string directory)
    {
        await File.WriteAllTextAsync(Path.Combine(directory, "xsd_port"), "1");
        await File.WriteAllBytesAsync(Path.Combine(directory, "xs-ring-0"), new byte[4096]);
    }

    /// <summary>The shim of <paramref name="directory"/> preloaded, its files there, the socket there (<c>XENSTORED_RUNDIR</c>).</summary>
    public static Dictionary<string, string> Environment(string directory) => new()
    {
        ["LD_PRELOAD"] = Path.Combine(directory, "xenstored_shim.so"),
        ["XENSHIM_DIR"] = directory,
        ["XENSTORED_RUNDIR"] = directory,
    };
}
