using Xen.Rings.Host.Native;

namespace Xen.Rings.Host;

/// <summary>
/// Maps another domain's frames by number (libxenforeignmemory, <c>/dev/xen/privcmd</c>): a privileged domain's way
/// to a guest page that was not granted, which oxenstored and xenconsoled fall back to when grant mapping fails.
/// </summary>
/// <remarks>Thread-safe. Disposing it while mappings are live keeps the library handle open until the last is unmapped.</remarks>
public sealed unsafe class ForeignMemory : IDisposable
{
    private readonly XenHandle _handle;

    private ForeignMemory(XenHandle handle) => _handle = handle;

    /// <summary>Opens the privileged-command device (<c>xenforeignmemory_open</c>).</summary>
    /// <exception cref="DllNotFoundException">libxenforeignmemory.so.1 is not installed (the message names its package).</exception>
    /// <exception cref="XenHostException">The device could not be opened (no Xen, or not permitted).</exception>
    public static ForeignMemory Open() =>
        new(XenHandle.Open(XenLibrary.ForeignMemory, "xenforeignmemory_open", static () => ForeignMemoryNative.Open(0, 0), ForeignMemoryNative.Close));

    /// <summary>
    /// Maps frames <paramref name="frames"/> (guest frame numbers) of domain <paramref name="domainId"/> as one
    /// contiguous range (<c>xenforeignmemory_map</c>). Fails as a whole when any frame cannot be mapped.
    /// </summary>
    /// <exception cref="ArgumentException">No frames were given.</exception>
    /// <exception cref="XenHostException">The mapping, or one of its frames, failed (the errno of the first failure).</exception>
    /// <exception cref="ObjectDisposedException">The handle was disposed.</exception>
    public MappedPages Map(uint domainId, ReadOnlySpan<ulong> frames, bool writable = true)
    {
        if (frames.IsEmpty)
        {
            throw new ArgumentException("At least one frame is needed.", nameof(frames));
        }

        int[] errors = new int[frames.Length];
        nint address;
        fixed (ulong* f = frames)
        fixed (int* e = errors)
        {
            address = ForeignMemoryNative.Map(_handle, domainId, writable ? LibC.ProtRead | LibC.ProtWrite : LibC.ProtRead,
                (nuint)frames.Length, f, e);
        }

        string call = $"xenforeignmemory_map(domain {domainId}, {frames.Length} frames from {frames[0]:x})";
        if (address == 0)
        {
            throw XenHostException.FromLastError(call);
        }

        var mapping = new MappedPages(_handle, address, frames.Length, domainId, [],
            static (h, a, n) => ForeignMemoryNative.Unmap(h!, a, (nuint)n));
        for (int i = 0; i < errors.Length; i++)
        {
            if (errors[i] != 0)
            {
                ((IDisposable)mapping).Dispose();
                throw new XenHostException($"{call}: frame {frames[i]:x}", Math.Abs(errors[i])); // err[i] is -errno
            }
        }

        return mapping;
    }

    /// <summary>Closes the handle once every mapping made through it is unmapped.</summary>
    public void Dispose() => _handle.Dispose();
}
