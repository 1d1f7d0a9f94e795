using System.Net.Sockets;
using Xen.Store.Transports;

namespace Xen.Store.Tests.Transports;

public class UnixSocketTransportTests
{
    [Fact]
    public async Task Connecting_while_the_listen_backlog_is_full_waits_until_the_daemon_accepts()
    {
        string path = Path.Combine(Path.GetTempPath(), $"xs-backlog-{Guid.NewGuid():N}"[..40]);
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(path));
        listener.Listen(1); // as both xenstoreds do
        var waiting = new List<Socket>();
        try
        {
            // Fill the backlog until the kernel refuses with EAGAIN.
            while (true)
            {
                var s = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
                try
                {
                    await s.ConnectAsync(new UnixDomainSocketEndPoint(path));
                    waiting.Add(s);
                }
                catch (SocketException)
                {
                    s.Dispose();
                    break;
                }

                Assert.True(waiting.Count < 64, "the backlog never filled");
            }

            ValueTask<UnixSocketTransport> connecting = UnixSocketTransport.ConnectAsync(path);
            Assert.False(connecting.IsCompleted);

            // The daemon gets round to accepting: the connection goes through.
            for (int i = 0; i <= waiting.Count; i++)
            {
                using Socket accepted = await listener.AcceptAsync().WaitAsync(TimeSpan.FromSeconds(20));
            }

            await using UnixSocketTransport transport = await connecting.AsTask().WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Equal($"unix:{path}", transport.Description);
        }
        finally
        {
            foreach (Socket s in waiting)
            {
                s.Dispose();
            }

            File.Delete(path);
        }
    }

    [Fact]
    public async Task Connecting_where_nothing_listens_fails_at_once_with_a_connection_error()
    {
        string path = Path.Combine(Path.GetTempPath(), $"xs-none-{Guid.NewGuid():N}"[..40]);
        await Assert.ThrowsAsync<XenStoreConnectionException>(() => UnixSocketTransport.ConnectAsync(path).AsTask());
    }
}
