namespace Xen.Rings.Tests.Native;

/// <summary>
/// A uniquely named file under <c>/dev/shm</c> (or the temporary directory where there is none) for a page that a
/// test shares with a C process; deleted on dispose.
/// </summary>
internal sealed class SharedPageFile : IDisposable
{
    public SharedPageFile()
    {
        string directory = Directory.Exists("/dev/shm") ? "/dev/shm" : System.IO.Path.GetTempPath();
        Path = System.IO.Path.Combine(directory, $"xen-rings-test-{Environment.ProcessId}-{Guid.NewGuid():N}");
    }

    /// <summary>The file's path.</summary>
    public string Path { get; }

    /// <summary>Deletes the file.</summary>
    public void Dispose() => File.Delete(Path);
}
