using System.Text;
using Xen.Rings.Events;
using Xen.Rings.Memory;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.Store.Transports;
using Xen.Store.Wire;

namespace Xen.Tool.Demo;

/// <summary>
/// The demo's xenstore part: an embedded xenstored, a toolstack connection (dom0), and guest domain 5 introduced
/// over its own xenstore ring page and event channel, as a real guest talks to xenstored.
/// </summary>
internal sealed class StoreDemo : IAsyncDisposable
{
    public const uint GuestDomain = 5;

    private readonly SharedPage _guestPage = SharedPage.Allocate();
    private InProcessEventChannel? _guestChannel;
    private InProcessEventChannel? _serverChannel;

    private StoreDemo(XenStoreServer server, XenStoreClient dom0)
    {
        Server = server;
        Dom0 = dom0;
    }

    public XenStoreServer Server { get; }

    public XenStoreClient Dom0 { get; }

    public XenStoreClient? Guest { get; private set; }

    public static async Task<StoreDemo> StartAsync(CancellationToken cancellationToken)
    {
        XenStoreServer server = await XenStoreServer.StartAsync(cancellationToken: cancellationToken).ConfigureAwait(false);
        return new StoreDemo(server, XenStoreClient.Create(server.ConnectInProcess(0)));
    }

    /// <summary>Builds the guest's home as a toolstack does, introduces the guest over its ring, and checks what the guest may and may not do.</summary>
    public async Task<bool> IntroduceGuestAsync(TextWriter output, DemoChecks checks, CancellationToken cancellationToken)
    {
        string home = XsPath.DomainPath(GuestDomain);
        await using XenStoreWatch introduced = await Dom0.WatchAsync(XsPath.IntroduceDomain, "demo-introduce", cancellationToken: cancellationToken).ConfigureAwait(false);
        await introduced.ReadAsync(cancellationToken).ConfigureAwait(false); // the initial event

        await Dom0.RunTransactionAsync(async (tx, ct) =>
        {
            // The home first, with its permissions: nodes created below it inherit them (dom0 owns, the guest reads).
            await tx.MkdirAsync(home, ct).ConfigureAwait(false);
            await tx.SetPermissionsAsync(home, [new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, (ushort)GuestDomain)], ct).ConfigureAwait(false);
            await tx.WriteAsync($"{home}/name", "demo-guest", ct).ConfigureAwait(false);
            await tx.WriteAsync($"{home}/domid", $"{GuestDomain}", ct).ConfigureAwait(false);
            await tx.WriteAsync("/vm/00000000-0000-0000-0000-000000000005/name", "demo-guest", ct).ConfigureAwait(false);
            await tx.WriteAsync($"{home}/vm", "/vm/00000000-0000-0000-0000-000000000005", ct).ConfigureAwait(false);
            await tx.MkdirAsync($"{home}/data", ct).ConfigureAwait(false);
            await tx.SetPermissionsAsync($"{home}/data", [new XsPermission(XsAccess.Both, (ushort)GuestDomain)], ct).ConfigureAwait(false);
            await tx.WriteAsync("/local/domain/0/secret", "dom0 only", ct).ConfigureAwait(false);
            return true;
        }, cancellationToken: cancellationToken).ConfigureAwait(false);

        (_guestChannel, _serverChannel) = InProcessEventChannel.CreatePair();
        Server.AttachDomainRing(GuestDomain, _guestPage.Memory, _serverChannel);
        XenStoreWatchEvent e = await introduced.ReadAsync(cancellationToken).ConfigureAwait(false);
        checks.Add("dom0's @introduceDomain watch fired", e.Path == XsPath.IntroduceDomain);
        output.WriteLine($"   domain {GuestDomain} introduced over a {SharedPage.PageSize}-byte xenstore ring page; dom0's watch saw {e.Path}");

        Guest = XenStoreClient.Create(new XenStoreRingTransport(_guestPage.Memory, _guestChannel));
        string name = await Guest.ReadStringAsync("name", cancellationToken).ConfigureAwait(false);
        checks.Add("the guest reads its name by a relative path", name == "demo-guest");
        await Guest.WriteAsync("data/greeting", "hello from the guest", cancellationToken).ConfigureAwait(false);
        string seen = await Dom0.ReadStringAsync($"{home}/data/greeting", cancellationToken).ConfigureAwait(false);
        checks.Add("dom0 reads what the guest wrote", seen == "hello from the guest");
        output.WriteLine($"   the guest read \"name\" = \"{name}\" and wrote data/greeting over its ring; dom0 read it back");

        string denied;
        try
        {
            await Guest.ReadAsync("/local/domain/0/secret", cancellationToken).ConfigureAwait(false);
            denied = "allowed";
        }
        catch (XenStoreErrorException ex)
        {
            denied = ex.RawError;
        }

        checks.Add("the guest is refused dom0's node (EACCES)", denied == "EACCES");
        output.WriteLine($"   the guest tried to read /local/domain/0/secret: {denied}");
        return true;
    }

    /// <summary>Prints <paramref name="path"/>'s subtree the way <c>xenstore-ls -f</c> does.</summary>
    public async Task PrintTreeAsync(TextWriter output, string title, string path, CancellationToken cancellationToken)
    {
        output.WriteLine($"   -- xenstore {path} ({title}) --");
        await PrintAsync(path).ConfigureAwait(false);

        async Task PrintAsync(string node)
        {
            foreach (string child in await Dom0.DirectoryAsync(node, cancellationToken).ConfigureAwait(false))
            {
                string full = node == "/" ? "/" + child : $"{node}/{child}";
                string value = Encoding.UTF8.GetString(await Dom0.ReadAsync(full, cancellationToken).ConfigureAwait(false));
                output.WriteLine($"   {full} = \"{value}\"");
                await PrintAsync(full).ConfigureAwait(false);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        if (Guest is not null)
        {
            await Guest.DisposeAsync().ConfigureAwait(false);
        }

        await Dom0.DisposeAsync().ConfigureAwait(false);
        await Server.DisposeAsync().ConfigureAwait(false);
        _guestChannel?.Dispose();
        _serverChannel?.Dispose();
        _guestPage.Dispose();
    }
}
