using System.Security.Cryptography;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Vchan;

/// <summary>What the vchan tests do to a pair of <see cref="VchanProcess"/>es: a fresh xenstore, bulk data, echoes.</summary>
internal static class VchanPair
{
    public const uint ServerDomain = 1;
    public const uint ClientDomain = 2;

    /// <summary>A real C xenstored under the shim, with dom0's <c>domid</c> node (libxenvchan's server reads it, as written by xen-init-dom0).</summary>
    public static async Task<XenstoredPeer> StartXenstoreAsync()
    {
        VchanPrograms.Require();
        XenstoredPeer xenstore = await XenstoredPeer.StartAsync(XenstoredKind.C);
        await xenstore.WriteAsync(("/local/domain/0/domid", "0"), ("/local/domain/0/name", "Domain-0"));
        return xenstore;
    }

    /// <summary>
    /// A server and a client at <paramref name="path"/>: ours (<c>xen vchan serve|connect</c>) in the role
    /// <paramref name="oursIsServer"/> says, Xen's <c>vchan-socket-proxy</c> in the other.
    /// </summary>
    public static (VchanProcess Server, VchanProcess Client) StartWithProxy(XenstoredPeer xenstore, bool oursIsServer, string path)
    {
        VchanProcess server = oursIsServer
            ? VchanProcess.Ours(xenstore, ServerDomain, "serve", "2", path)
            : VchanProcess.Proxy(xenstore, ServerDomain, "server", ClientDomain, path);
        try
        {
            VchanProcess client = oursIsServer
                ? VchanProcess.Proxy(xenstore, ClientDomain, "client", ServerDomain, path)
                : VchanProcess.Ours(xenstore, ClientDomain, "connect", "1", path);
            return (server, client);
        }
        catch
        {
            server.Dispose();
            throw;
        }
    }

    /// <summary>A path in Qubes' convention under the server domain's home.</summary>
    public static string Path(int port) => Xen.Store.Vchan.VchanPaths.Qubes(ServerDomain, ClientDomain, (uint)port);

    public static byte[] RandomBytes(int count, int seed)
    {
        byte[] data = new byte[count];
        new Random(seed).NextBytes(data);
        return data;
    }

    /// <summary><c>vchan_peer</c>'s check stream: s = s*1103515245+12345 from s = 1, each byte s &gt;&gt; 16.</summary>
    public static byte[] CheckPattern(int count)
    {
        byte[] data = new byte[count];
        uint s = 1;
        for (int i = 0; i < count; i++)
        {
            s = unchecked((s * 1103515245u) + 12345u);
            data[i] = (byte)(s >> 16);
        }

        return data;
    }

    /// <summary>
    /// Sends <paramref name="toServer"/> into the client and <paramref name="toClient"/> into the server at the same time,
    /// and returns the SHA-256 of what came out of the other ends.
    /// </summary>
    public static async Task<(string AtServer, string AtClient)> ExchangeAsync(VchanProcess server, VchanProcess client, byte[] toServer, byte[] toClient)
    {
        Task<byte[]> atServer = server.ReadExactlyAsync(toServer.Length);
        Task<byte[]> atClient = client.ReadExactlyAsync(toClient.Length);
        await Task.WhenAll(client.WriteAsync(toServer), server.WriteAsync(toClient), atServer, atClient);
        return (Hash(await atServer), Hash(await atClient));
    }

    /// <summary>Copies everything <paramref name="process"/> reads from the vchan back into it, until its output ends.</summary>
    public static async Task EchoAsync(VchanProcess process, CancellationToken cancellationToken)
    {
        byte[] buffer = new byte[64 * 1024];
        int n;
        while ((n = await process.Output.ReadAsync(buffer, cancellationToken)) != 0)
        {
            await process.Input.WriteAsync(buffer.AsMemory(0, n), cancellationToken);
            await process.Input.FlushAsync(cancellationToken);
        }
    }

    /// <summary>Sends one byte into <paramref name="from"/> and checks that it comes out of <paramref name="to"/>.</summary>
    public static async Task OneByteAsync(VchanProcess from, VchanProcess to, byte value)
    {
        await from.WriteAsync(new[] { value });
        Assert.Equal(value, (await to.ReadExactlyAsync(1))[0]);
    }

    public static string Hash(byte[] data) => Convert.ToHexString(SHA256.HashData(data));
}
