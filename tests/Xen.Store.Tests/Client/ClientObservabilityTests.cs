using Microsoft.Extensions.Logging;
using Xen.Store.Client;
using Xen.Store.Server;
using Xen.TestSupport;
using Xen.TestSupport.Peers;

namespace Xen.Store.Tests.Client;

/// <summary>The client's log (<see cref="XenStoreClientOptions.Logger"/>), metrics and <see cref="XenStoreClientOptions.AutoReconnect"/>.</summary>
public class ClientObservabilityTests
{
    private static readonly TimeSpan Guard = TimeSpan.FromSeconds(60); // against hangs only

    [Fact]
    public async Task Each_round_trip_is_recorded_by_request_type()
    {
        using var metrics = new MetricsRecorder();
        await using var server = new XenStoreServer();
        await using var client = XenStoreClient.Create(server.ConnectInProcess(), new XenStoreClientOptions { MeterFactory = metrics.Factory });
        await client.WriteAsync("/rt", "1");
        for (int i = 0; i < 3; i++)
        {
            await client.ReadStringAsync("/rt");
        }

        await Assert.ThrowsAsync<XenStoreErrorException>(async () => await client.ReadStringAsync("/none")); // an error reply is a round trip too

        Assert.Equal(4, metrics.Count(XenStoreMetrics.ClientRequestDuration, (XenStoreMetrics.TypeTag, "READ")));
        Assert.Equal(1, metrics.Count(XenStoreMetrics.ClientRequestDuration, (XenStoreMetrics.TypeTag, "WRITE")));
        Assert.All(
            metrics.Measurements.Where(m => m.Instrument == XenStoreMetrics.ClientRequestDuration),
            m => Assert.InRange(m.Value, double.Epsilon, Guard.TotalSeconds));
    }

    [Fact]
    public async Task AutoReconnect_goes_back_to_the_same_socket_and_the_loss_and_return_are_logged_and_counted()
    {
        string dir = Directory.CreateTempSubdirectory("xs-obs-").FullName;
        string socket = Path.Combine(dir, "socket");
        var log = new ListLogger();
        using var metrics = new MetricsRecorder();
        try
        {
            var first = new XenStoreServer();
            await first.ListenUnixAsync(socket);
            await using var client = await XenStoreClient.ConnectAsync(socket, new XenStoreClientOptions
            {
                AutoReconnect = true,
                ReconnectDelay = TimeSpan.FromMilliseconds(20),
                Logger = log,
                MeterFactory = metrics.Factory,
            });
            await using XenStoreWatch watch = await client.WatchAsync("/back", "t");
            await watch.ReadAsync().AsTask().WaitAsync(Guard); // the initial event
            await first.DisposeAsync();

            await using var second = new XenStoreServer();
            await second.ListenUnixAsync(socket);
            XenStoreWatchEvent gap = await watch.ReadAsync().AsTask().WaitAsync(Guard);
            Assert.True(gap.EventsWereDropped);
            await client.WriteAsync("/back", "again").AsTask().WaitAsync(Guard); // the new connection carries requests
            Assert.Equal("again", await client.ReadStringAsync("/back"));

            Assert.Contains(log.Entries, e => e.Event == "ConnectionLost" && e.Level == LogLevel.Warning);
            // The line follows the watch's re-registration, whose continuation may run after the replies above.
            await Deadline.PollAsync(() => log.Entries.Any(e => e.Event == "Reconnected"), () => "no Reconnected line");
            var back = Assert.Single(log.Entries, e => e.Event == "Reconnected");
            Assert.Equal(1, back.Values["Watches"]);
            Assert.Equal(1, metrics.Sum(XenStoreMetrics.ClientReconnects));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task Without_AutoReconnect_a_lost_socket_ends_the_client()
    {
        string dir = Directory.CreateTempSubdirectory("xs-obs-").FullName;
        string socket = Path.Combine(dir, "socket");
        try
        {
            var first = new XenStoreServer();
            await first.ListenUnixAsync(socket);
            await using var client = await XenStoreClient.ConnectAsync(socket);
            await client.WriteAsync("/x", "1");
            await first.DisposeAsync();
            await using var second = new XenStoreServer();
            await second.ListenUnixAsync(socket);
            await Deadline.PollAsync(() => client.IsFaulted, () => "the client did not fail");
            await Assert.ThrowsAsync<XenStoreConnectionException>(async () => await client.ReadStringAsync("/x"));
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public async Task A_watch_that_falls_behind_is_logged_once_and_every_dropped_event_counted()
    {
        var log = new ListLogger();
        using var metrics = new MetricsRecorder();
        await using var server = new XenStoreServer();
        await using var client = XenStoreClient.Create(server.ConnectInProcess(), new XenStoreClientOptions { WatchEventCapacity = 2, Logger = log, MeterFactory = metrics.Factory });
        await using XenStoreWatch watch = await client.WatchAsync("/slow", "tok");
        for (int i = 0; i < 10; i++)
        {
            await client.WriteAsync("/slow", i.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        await client.ReadStringAsync("/slow"); // every event before this reply has been routed
        // 11 events (the initial one and ten writes) into a queue of 2: 9 dropped, one "fell behind" line.
        Assert.Equal(9, metrics.Sum(XenStoreMetrics.ClientWatchEventsDropped));
        var line = Assert.Single(log.Entries, e => e.Event == "WatchFellBehind");
        Assert.Equal("/slow", line.Values["Path"]);
        Assert.Equal("tok", line.Values["Token"]);
        XenStoreWatchEvent next = await watch.ReadAsync().AsTask().WaitAsync(Guard);
        Assert.True(next.EventsWereDropped);
    }
}
