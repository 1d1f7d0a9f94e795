using System.Globalization;
using Xen.Interop.Tests.EmbeddedServer;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// The C guest (<c>tests/native/xs_guest.c</c>) as a domain of a daemon started with <c>--peer-dir</c>: its home owned
/// by it, a node only dom0 may read (the guest's PRIVATE_PATH), and the guest started on its ring.
/// </summary>
internal static class PeerDirGuest
{
    /// <summary>The node the guest tries to read and must not.</summary>
    public const string PrivatePath = "/dom0-only";

    /// <summary>Gives <paramref name="domainId"/> its home and writes <see cref="PrivatePath"/> for dom0 alone.</summary>
    public static async Task PrepareAsync(XenStoreClient dom0, uint domainId)
    {
        string home = XsPath.DomainPath(domainId);
        await dom0.MkdirAsync(home);
        await dom0.SetPermissionsAsync(home, [XsPermission.Parse($"n{domainId}")]);
        await dom0.WriteAsync(PrivatePath, "x");
        await dom0.SetPermissionsAsync(PrivatePath, [XsPermission.Parse("n0")]);
    }

    /// <summary>Starts the guest as <paramref name="domainId"/>, kicking and listening on <paramref name="port"/>.</summary>
    public static async Task<PeerDaemon> StartAsync(string peers, uint domainId, uint port) =>
        PeerDaemon.Start(
            await NativeGuest.XsGuestAsync(),
            [peers, domainId.ToString(CultureInfo.InvariantCulture), port.ToString(CultureInfo.InvariantCulture), PrivatePath],
            new Dictionary<string, string>());
}
