using System.Runtime.InteropServices;

namespace Xen.Rings.Host.Native;

/// <summary><c>xenforeignmemory.h</c> (libxenforeignmemory.so.1): mapping another domain's frames (privcmd).</summary>
internal static unsafe partial class ForeignMemoryNative
{
    [LibraryImport(XenLibrary.ForeignMemory, EntryPoint = "xenforeignmemory_open", SetLastError = true)]
    public static partial nint Open(nint logger, uint openFlags);

    [LibraryImport(XenLibrary.ForeignMemory, EntryPoint = "xenforeignmemory_close", SetLastError = true)]
    public static partial int Close(nint handle);

    [LibraryImport(XenLibrary.ForeignMemory, EntryPoint = "xenforeignmemory_map", SetLastError = true)]
    public static partial nint Map(XenHandle handle, uint domid, int prot, nuint pageCount, ulong* frames, int* errors);

    [LibraryImport(XenLibrary.ForeignMemory, EntryPoint = "xenforeignmemory_unmap", SetLastError = true)]
    public static partial int Unmap(XenHandle handle, nint address, nuint pageCount);
}
