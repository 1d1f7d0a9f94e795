using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Host;

/// <summary>
/// A fresh state directory for the stand-in hypervisor (the shim of <c>../shared/peers</c>), with the shim compiled
/// into it; removed on dispose. Short and under /tmp: socket paths must fit in 108 bytes.
/// </summary>
internal sealed class ShimDirectory : IDisposable
{
    private ShimDirectory(string path) => Path = path;

    public string Path { get; }

    public string LibraryPath => System.IO.Path.Combine(Path, "xenstored_shim.so");

    public string File(string name) => System.IO.Path.Combine(Path, name);

    public static async Task<ShimDirectory> CreateAsync()
    {
        PeerPrograms.Require(requirePeersScripts: true, PeerPrograms.XenctrlHeader, "gcc");
        var directory = new ShimDirectory(Directory.CreateDirectory($"/tmp/xh-{Guid.NewGuid():N}"[..16]).FullName);
        await PeerCommand.RunCheckedAsync("gcc",
            ["-O2", "-Wall", "-shared", "-fPIC", "-o", directory.LibraryPath, System.IO.Path.Combine(PeerPrograms.PeersDirectory, "xenstored_shim.c"), "-ldl"]);
        return directory;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (IOException)
        {
        }
    }
}
