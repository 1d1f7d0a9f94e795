using System.Globalization;

namespace Xen.Store.Vchan;

/// <summary>Where vchans are published.</summary>
public static class VchanPaths
{
    /// <summary>
    /// Qubes' convention (qrexec, GUI): <c>/local/domain/&lt;server&gt;/data/vchan/&lt;client&gt;/&lt;port&gt;</c>, a
    /// directory the server domain may write.
    /// </summary>
    public static string Qubes(uint serverDomainId, uint clientDomainId, uint port) =>
        string.Create(CultureInfo.InvariantCulture, $"/local/domain/{serverDomainId}/data/vchan/{clientDomainId}/{port}");
}
