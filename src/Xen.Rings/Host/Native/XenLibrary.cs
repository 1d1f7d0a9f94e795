using System.Reflection;
using System.Runtime.InteropServices;

namespace Xen.Rings.Host.Native;

/// <summary>
/// Loads Xen's tool libraries the way a C program linked against them sees them, and resolves every P/Invoke of this
/// assembly in the process's global symbol scope.
/// </summary>
/// <remarks>
/// <para>
/// .NET's default resolution looks a symbol up in the loaded library's own scope (<c>dlsym(handle, name)</c>). A C
/// daemon linked against <c>libxenevtchn.so.1</c> instead finds the first definition in the global scope, where an
/// <c>LD_PRELOAD</c>ed library comes before the real one: that is how the stand-in hypervisor used without Xen (an
/// LD_PRELOAD library that defines <c>xenevtchn_*</c>, <c>xengnttab_*</c>, ... and libc's <c>open</c> of
/// <c>/proc/xen/*</c>) reaches Xen's own daemons. To behave exactly as they do, each library is loaded with
/// <c>RTLD_GLOBAL</c> (so its symbols join the global scope after the preloaded ones) and every import of this
/// assembly, libc's included, is bound through <c>dlopen(NULL)</c>, the global scope itself.
/// </para>
/// <para>
/// A library that cannot be loaded is reported with the Debian package that provides it, before any import is bound.
/// </para>
/// </remarks>
internal static unsafe class XenLibrary
{
    public const string Evtchn = "libxenevtchn.so.1";
    public const string Gnttab = "libxengnttab.so.1"; // also exports xengntshr_* (grant sharing)
    public const string ForeignMemory = "libxenforeignmemory.so.1";
    public const string Ctrl = "libxenctrl.so.4.17";
    public const string C = "libc.so.6";

    private const int RtldNow = 0x2;
    private const int RtldGlobal = 0x100;

    private static readonly object Gate = new();
    private static readonly HashSet<string> Loaded = new(StringComparer.Ordinal);
    private static nint _globalScope;

    /// <summary>The Debian package that ships <paramref name="library"/>.</summary>
    public static string PackageOf(string library) => library switch
    {
        Evtchn => "libxenevtchn1",
        Gnttab => "libxengnttab1",
        ForeignMemory => "libxenforeignmemory1",
        Ctrl => "libxenmisc4.17",
        _ => "libc6",
    };

    /// <summary>
    /// Makes <paramref name="library"/> part of the global symbol scope (once per process) and routes this assembly's
    /// imports through that scope. Call before the first import from the library.
    /// </summary>
    /// <exception cref="DllNotFoundException">The library is not installed (the message names its package).</exception>
    public static void Require(string library)
    {
        lock (Gate)
        {
            if (_globalScope == 0)
            {
                _globalScope = DlOpen(null, RtldNow);
                NativeLibrary.SetDllImportResolver(typeof(XenLibrary).Assembly, Resolve);
            }

            if (Loaded.Contains(library))
            {
                return;
            }

            if (DlOpen(library, RtldNow | RtldGlobal) == 0)
            {
                throw new DllNotFoundException(
                    $"{library} could not be loaded ({DlError()}). It is one of Xen's tool libraries: install the " +
                    $"package {PackageOf(library)} (apt-get install {PackageOf(library)}), or the equivalent on this distribution.");
            }

            Loaded.Add(library);
        }
    }

    private static nint Resolve(string libraryName, Assembly assembly, DllImportSearchPath? searchPath) =>
        libraryName is Evtchn or Gnttab or ForeignMemory or Ctrl or C ? _globalScope : 0;

    private static nint DlOpen(string? library, int flags)
    {
        var dlopen = (delegate* unmanaged<byte*, int, nint>)Dl.Value.Open;
        if (library is null)
        {
            return dlopen(null, flags);
        }

        byte[] name = System.Text.Encoding.UTF8.GetBytes(library + "\0");
        fixed (byte* p = name)
        {
            return dlopen(p, flags);
        }
    }

    private static string DlError()
    {
        var dlerror = (delegate* unmanaged<byte*>)Dl.Value.Error;
        return Marshal.PtrToStringUTF8((nint)dlerror()) ?? "no detail";
    }

    /// <summary>
    /// <c>dlopen</c> and <c>dlerror</c> from libc itself: they cannot be imports of this assembly, whose imports are
    /// resolved through them.
    /// </summary>
    private static readonly Lazy<(nint Open, nint Error)> Dl = new(() =>
    {
        nint libc = NativeLibrary.Load(C);
        return (NativeLibrary.GetExport(libc, "dlopen"), NativeLibrary.GetExport(libc, "dlerror"));
    });
}
