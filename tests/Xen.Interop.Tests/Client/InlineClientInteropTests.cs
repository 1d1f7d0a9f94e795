using System.Globalization;
using Xen.Store;
using Xen.Store.Client;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Client;

/// <summary>
/// Our client with <see cref="XenStoreClientOptions.InlineCompletions"/> and <see cref="XenStoreClientOptions.ReceiveSpin"/>
/// against the real daemons: 64 loops on one connection each write and read back their own node, with errors and a
/// transaction in the mix, and every caller gets its own answer.
/// </summary>
[Trait("Category", "Interop")]
public sealed class InlineClientInteropTests
{
    private static readonly XenStoreClientOptions Inline = new() { InlineCompletions = true, ReceiveSpin = TimeSpan.FromMicroseconds(50) };

    [Theory]
    [InlineData(XenstoredKind.C)]
    [InlineData(XenstoredKind.OCaml)]
    public async Task Sixty_four_loops_on_one_inline_connection_each_get_their_own_replies(XenstoredKind kind)
    {
        await using XenstoredPeer daemon = await XenstoredPeer.StartAsync(kind);
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(daemon.SocketPath, Inline);
        const int Loops = 64;
        const int PerLoop = 40;

        await Task.WhenAll(Enumerable.Range(0, Loops).Select(async loop =>
        {
            string path = $"/inline/{loop}";
            for (int i = 0; i < PerLoop; i++)
            {
                string value = string.Create(CultureInfo.InvariantCulture, $"{loop}.{i}");
                await client.WriteAsync(path, value).ConfigureAwait(false);
                Assert.Equal(value, await client.ReadStringAsync(path).ConfigureAwait(false));
                var missing = await Assert.ThrowsAsync<XenStoreErrorException>(() => client.ReadAsync($"{path}/missing").AsTask()).ConfigureAwait(false);
                Assert.Equal(XsError.ENOENT, missing.Error);
            }

            await client.RunTransactionAsync(async (tx, ct) =>
            {
                string last = await tx.ReadStringAsync(path, ct).ConfigureAwait(false);
                await tx.WriteAsync(path, last + ".tx", ct).ConfigureAwait(false);
                return 0;
            }).ConfigureAwait(false);
        })).WaitAsync(Deadline.Default);

        IReadOnlyList<string> children = await client.DirectoryAsync("/inline");
        Assert.Equal(Loops, children.Count);
        Assert.Equal(string.Create(CultureInfo.InvariantCulture, $"7.{PerLoop - 1}.tx"), await client.ReadStringAsync("/inline/7"));
    }
}
