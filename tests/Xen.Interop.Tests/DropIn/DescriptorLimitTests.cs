using System.Net.Sockets;
using Xen.Store.Server;
using Xen.Store.Wire;
using Xen.TestSupport.Peers;
using Xen.TestSupport.Store;

namespace Xen.Interop.Tests.DropIn;

/// <summary>
/// <c>xen store serve</c> at its open-file limit (<c>prlimit --nofile</c>): a client that connects while the daemon
/// has no descriptor to spare is refused (its connection closed, as C xenstored refuses it), the daemon lives on, and
/// once other clients leave it serves new ones; accepting never stops for good.
/// </summary>
[Trait("Category", "Interop")]
[System.Runtime.Versioning.SupportedOSPlatform("linux")]
public sealed class DescriptorLimitTests
{
    private const int OpenFileLimit = 192; // the runtime holds about 72 of them at the start

    [Fact]
    public async Task A_client_beyond_the_daemons_descriptors_is_refused_and_new_ones_are_served_once_others_leave()
    {
        PeerPrograms.Require(requirePeersScripts: false, PeerPrograms.XenTool, "prlimit");
        string directory = $"/tmp/xf-{Guid.NewGuid().ToString("N")[..8]}";
        Directory.CreateDirectory(directory);
        string socket = Path.Combine(directory, "socket");
        var served = new List<Socket>();
        try
        {
            using PeerDaemon server = await StoreServeProcess.StartAsync(["--socket", socket], openFileLimit: OpenFileLimit);
            using var guard = new CancellationTokenSource(TimeSpan.FromMinutes(2));
            Exception? refused = null;
            for (int i = 0; i < 4 * OpenFileLimit && refused is null; i++)
            {
                Socket s = await RawStoreSocket.ConnectAsync(socket, guard.Token);
                try
                {
                    Assert.Equal("", await RawStoreSocket.CallAsync(s, XsMessageType.Read, "/tool\0", guard.Token));
                    served.Add(s);
                }
                catch (Exception e) when (e is IOException or SocketException)
                {
                    refused = e;
                    s.Dispose();
                }
            }

            Assert.True(refused is not null, $"{served.Count} connections were all served under a limit of {OpenFileLimit} descriptors");
            Assert.False(server.HasExited, $"the daemon exited at its limit, after {served.Count} connections: {server.Output}");
            int open = Directory.GetFileSystemEntries($"/proc/{server.ProcessId}/fd").Length;
            Assert.True(
                OpenFileLimit - open >= FdAcceptor.ReservedDescriptors,
                $"refusing after {served.Count} connections, the daemon has {open} of its {OpenFileLimit} descriptors open");
            await Deadline.PollAsync(
                () => server.Output.Contains("socket clients: the process is at its open-file limit", StringComparison.Ordinal),
                () => $"the refusal was not logged: {server.Output}");

            // Every connection served before is still served.
            foreach (Socket s in served)
            {
                Assert.Equal("", await RawStoreSocket.CallAsync(s, XsMessageType.Read, "/tool\0", guard.Token));
            }

            for (int i = 0; i < 8; i++)
            {
                served[i].Dispose(); // the daemon closes its ends when it reads their end of stream
            }

            served.RemoveRange(0, 8);
            while (!await TryServedAsync(socket, guard.Token)) // the guard's end fails the test
            {
                await Task.Delay(Deadline.PollInterval, guard.Token);
            }

            Assert.False(server.HasExited, server.Output);
        }
        finally
        {
            served.ForEach(s => s.Dispose());
            Directory.Delete(directory, recursive: true);
        }
    }

    /// <summary>Whether a new connection is answered (not refused for want of a descriptor).</summary>
    private static async Task<bool> TryServedAsync(string socket, CancellationToken cancellationToken)
    {
        try
        {
            using Socket s = await RawStoreSocket.ConnectAsync(socket, cancellationToken);
            return await RawStoreSocket.CallAsync(s, XsMessageType.Read, "/tool\0", cancellationToken) == "";
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
            return false;
        }
    }
}
