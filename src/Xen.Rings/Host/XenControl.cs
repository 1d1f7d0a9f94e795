using System.Buffers.Binary;
using Xen.Rings.Host.Native;

namespace Xen.Rings.Host;

/// <summary>
/// The part of libxenctrl (<c>xc_interface</c>) a daemon needs: which domains exist and in what state
/// (<c>xc_domain_getinfolist</c>), to tell a dead guest from a live one after VIRQ_DOM_EXC.
/// </summary>
/// <remarks>Thread-safe.</remarks>
public sealed unsafe class XenControl : IDisposable
{
    private readonly XenHandle _handle;

    private XenControl(XenHandle handle) => _handle = handle;

    /// <summary>Opens the control interface (<c>xc_interface_open</c>).</summary>
    /// <exception cref="DllNotFoundException">libxenctrl.so.4.17 is not installed (the message names its package).</exception>
    /// <exception cref="XenHostException">The interface could not be opened (no Xen, or not permitted).</exception>
    public static XenControl Open() =>
        new(XenHandle.Open(XenLibrary.Ctrl, "xc_interface_open", static () => XenCtrl.InterfaceOpen(0, 0, 0), XenCtrl.InterfaceClose));

    /// <summary>
    /// Gets domain <paramref name="domainId"/>'s state, or false when there is no such domain (any more). A dying domain
    /// still exists until Xen has destroyed it: see <see cref="DomainInfo.IsDying"/>.
    /// </summary>
    /// <exception cref="XenHostException">The hypervisor refused the query (other than "no such domain").</exception>
    /// <exception cref="ObjectDisposedException">The interface was disposed.</exception>
    public bool TryGetDomainInfo(uint domainId, out DomainInfo info)
    {
        byte* buffer = stackalloc byte[XenCtrl.DomainInfoSize + XenCtrl.DomainInfoSlack];
        int n = XenCtrl.DomainGetInfoList(_handle, domainId, 1, buffer);
        if (n < 0)
        {
            int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
            if (errno == Esrch)
            {
                info = default;
                return false;
            }

            throw new XenHostException($"xc_domain_getinfolist(first {domainId}, max 1)", errno);
        }

        // The list starts at the first domain >= domainId: only an exact match means domainId itself exists (as C
        // xenstored checks info.domid == domid).
        info = n == 1 ? Decode(new ReadOnlySpan<byte>(buffer, XenCtrl.DomainInfoSize)) : default;
        return n == 1 && info.DomainId == domainId;
    }

    /// <summary>Lists up to <paramref name="maxCount"/> domains with ids from <paramref name="firstDomainId"/> up, in order.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="maxCount"/> is not positive.</exception>
    /// <exception cref="XenHostException">The hypervisor refused the query (other than "no such domain").</exception>
    /// <exception cref="ObjectDisposedException">The interface was disposed.</exception>
    public IReadOnlyList<DomainInfo> GetDomains(uint firstDomainId = 0, int maxCount = 1024)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxCount);
        byte[] buffer = new byte[(maxCount * XenCtrl.DomainInfoSize) + XenCtrl.DomainInfoSlack];
        int n;
        fixed (byte* p = buffer)
        {
            n = GetInfoList(firstDomainId, maxCount, p);
        }

        var domains = new DomainInfo[n];
        for (int i = 0; i < n; i++)
        {
            domains[i] = Decode(buffer.AsSpan(i * XenCtrl.DomainInfoSize, XenCtrl.DomainInfoSize));
        }

        return domains;
    }

    /// <summary>Closes the interface.</summary>
    public void Dispose() => _handle.Dispose();

    private const int Esrch = 3;

    private int GetInfoList(uint first, int max, byte* buffer)
    {
        int n = XenCtrl.DomainGetInfoList(_handle, first, (uint)max, buffer);
        if (n >= 0)
        {
            return n;
        }

        int errno = System.Runtime.InteropServices.Marshal.GetLastPInvokeError();
        return errno == Esrch ? 0 : throw new XenHostException($"xc_domain_getinfolist(first {first}, max {max})", errno);
    }

    private static DomainInfo Decode(ReadOnlySpan<byte> entry) => new(
        BinaryPrimitives.ReadUInt16LittleEndian(entry[XenCtrl.DomainInfoDomainOffset..]),
        BinaryPrimitives.ReadUInt32LittleEndian(entry[XenCtrl.DomainInfoFlagsOffset..]));
}
