using System.Runtime.InteropServices;

namespace Xen.Rings.Host.Native;

/// <summary>
/// A handle from one of Xen's libraries (<c>xenevtchn_handle*</c>, <c>xengnttab_handle*</c>, ...), closed by its
/// library's close function once nothing uses it any more.
/// </summary>
/// <remarks>
/// Every import takes the handle as a <see cref="SafeHandle"/>, so a call in flight keeps it open; a mapping keeps it
/// open too (<see cref="SafeHandle.DangerousAddRef"/>) because <c>xengnttab_unmap</c> and friends need the handle that
/// mapped. Disposing the owning object therefore never frees a handle under a running call or a live mapping.
/// </remarks>
internal sealed class XenHandle : SafeHandle
{
    private readonly Func<nint, int> _close;

    public XenHandle(nint handle, Func<nint, int> close)
        : base(0, ownsHandle: true)
    {
        _close = close;
        SetHandle(handle);
    }

    public override bool IsInvalid => handle == 0;

    protected override bool ReleaseHandle() => _close(handle) == 0;

    /// <summary>
    /// Opens a handle with <paramref name="open"/> after loading <paramref name="library"/>, or throws naming the call.
    /// </summary>
    /// <exception cref="DllNotFoundException">The library is not installed.</exception>
    /// <exception cref="XenHostException">The open failed (no Xen, or no permission on its device).</exception>
    public static XenHandle Open(string library, string call, Func<nint> open, Func<nint, int> close)
    {
        XenLibrary.Require(library);
        nint raw = open();
        if (raw == 0)
        {
            throw XenHostException.FromLastError(call);
        }

        return new XenHandle(raw, close);
    }
}
