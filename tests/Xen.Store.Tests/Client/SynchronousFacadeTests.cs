using System.Threading.Channels;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Client;

/// <summary>
/// The blocking facade for scripts, against our server over a Unix socket (the client's own receive thread) and
/// in-process (the thread pool): the same results and errors as the async API, and no deadlock when called from a
/// single-threaded <see cref="SynchronizationContext"/> that never runs anything posted to it.
/// </summary>
public sealed class SynchronousFacadeTests() : ServerOnSocket("xs-sync")
{
    [Fact]
    public void Node_operations_block_until_answered_and_return_what_the_async_api_would()
    {
        using XenStoreClient client = XenStoreClient.Connect(SocketPath);
        client.Write("/sync/a", "alpha");
        client.Write("/sync/b", new byte[] { 1, 2, 0, 3 });
        client.Mkdir("/sync/empty");
        Assert.Equal("alpha", client.ReadString("/sync/a"));
        Assert.Equal(new byte[] { 1, 2, 0, 3 }, client.Read("/sync/b"));
        Assert.Equal(["a", "b", "empty"], client.Directory("/sync").Order(StringComparer.Ordinal));
        Assert.True(client.Exists("/sync/empty"));
        Assert.Null(client.TryReadString("/sync/missing"));

        client.SetPermissions("/sync/a", [XsPermission.Parse("n5"), XsPermission.Parse("r7")]);
        Assert.Equal(["n5", "r7"], client.GetPermissions("/sync/a").Select(p => p.ToString()));

        client.Remove("/sync/a");
        Assert.False(client.Exists("/sync/a"));
        var e = Assert.Throws<XenStoreErrorException>(() => client.Read("/sync/a"));
        Assert.Equal(XsError.ENOENT, e.Error);
        Assert.Throws<ArgumentException>(() => client.Write("/sync/big", new byte[5000]));
    }

    [Fact]
    public void Transactions_commit_abort_and_retry_on_EAGAIN()
    {
        using XenStoreClient client = XenStoreClient.Connect(SocketPath);
        using XenStoreClient other = XenStoreClient.Connect(SocketPath);
        client.Write("/sync/counter", "0");

        using (XenStoreTransaction aborted = client.StartTransaction())
        {
            aborted.Write("/sync/counter", "aborted");
            aborted.Abort();
        }

        Assert.Equal("0", client.ReadString("/sync/counter"));

        int attempts = 0;
        int result = client.RunTransaction(tx =>
        {
            int value = int.Parse(tx.ReadString("/sync/counter"), System.Globalization.CultureInfo.InvariantCulture);
            if (++attempts == 1)
            {
                other.Write("/sync/counter", "10"); // a conflicting change: this attempt's commit gets EAGAIN
            }

            tx.Write("/sync/counter", (value + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
            return value + 1;
        });

        Assert.Equal(2, attempts);
        Assert.Equal(11, result);
        Assert.Equal("11", client.ReadString("/sync/counter"));
    }

    [Fact]
    public void A_watch_delivers_events_and_times_out_clearly_when_nothing_happens()
    {
        using XenStoreClient client = XenStoreClient.Connect(SocketPath);
        using XenStoreWatch watch = client.Watch("/sync/w", token: "tok");
        Assert.Equal("/sync/w", watch.Read(TimeSpan.FromSeconds(20)).Path); // the initial event
        client.Write("/sync/w/child", "x");
        XenStoreWatchEvent changed = watch.Read(TimeSpan.FromSeconds(20));
        Assert.Equal(("/sync/w/child", "tok"), (changed.Path, changed.Token));
        Assert.Throws<TimeoutException>(() => watch.Read(TimeSpan.FromMilliseconds(50)));
    }

    [Fact]
    public void A_watch_on_a_closed_connection_ends_instead_of_waiting()
    {
        XenStoreClient client = XenStoreClient.Connect(SocketPath);
        XenStoreWatch watch = client.Watch("/sync/closed");
        watch.Read(TimeSpan.FromSeconds(20));
        client.Dispose();
        Assert.ThrowsAny<ChannelClosedException>(() => watch.Read(TimeSpan.FromSeconds(20)));
    }

    [Fact]
    public void Blocking_calls_from_a_single_threaded_context_do_not_deadlock()
    {
        Exception? failure = null;
        var thread = new Thread(() =>
        {
            SynchronizationContext.SetSynchronizationContext(new NeverRunsContext());
            try
            {
                using XenStoreClient overSocket = XenStoreClient.Connect(SocketPath);
                overSocket.Write("/sync/ctx", "v");
                Assert.Equal("v", overSocket.ReadString("/sync/ctx"));
                using XenStoreClient inProcess = XenStoreClient.Create(Server.ConnectInProcess(0));
                Assert.Equal("v", inProcess.ReadString("/sync/ctx"));
                Assert.Equal(1, inProcess.RunTransaction(tx => tx.Exists("/sync/ctx") ? 1 : 0));
            }
            catch (Exception e)
            {
                failure = e;
            }
        });
        thread.Start();
        Assert.True(thread.Join(TimeSpan.FromSeconds(60)), "blocking calls from a single-threaded context hung");
        Assert.Null(failure);
    }

    /// <summary>A context whose thread is always busy (blocked in our call): anything posted to it would never run.</summary>
    private sealed class NeverRunsContext : SynchronizationContext
    {
        public override void Post(SendOrPostCallback d, object? state) =>
            throw new InvalidOperationException("The client tried to resume on the caller's context.");

        public override void Send(SendOrPostCallback d, object? state) =>
            throw new InvalidOperationException("The client tried to run on the caller's context.");
    }
}
