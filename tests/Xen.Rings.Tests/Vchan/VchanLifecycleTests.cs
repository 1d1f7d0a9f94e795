using System.Runtime.CompilerServices;
using Xen.Rings.Events;
using Xen.Rings.Vchan;

namespace Xen.Rings.Tests.Vchan;

/// <summary>Connecting, closing and disposing (libxenvchan_is_open, libxenvchan_close).</summary>
public class VchanLifecycleTests
{
    private static readonly TimeSpan Hang = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task WaitForConnectionAsync_completes_when_the_client_marks_itself_connected()
    {
        using var h = VchanHarness.Shared(10, 11);
        VchanStream server = h.OpenServer();
        Assert.True(server.IsPeerOpen); // cli_live 2, not yet connected, counts as open
        Assert.False(server.IsClientConnected);

        ValueTask wait = server.WaitForConnectionAsync();
        Assert.False(wait.IsCompleted);
        h.ConnectClient();
        await wait.AsTask().WaitAsync(Hang);
        Assert.True(server.IsClientConnected);
    }

    [Fact]
    public async Task WaitForConnectionAsync_completes_at_once_when_the_client_is_already_connected()
    {
        using var h = VchanHarness.Connected(10, 11);
        ValueTask wait = h.Server.WaitForConnectionAsync();
        Assert.True(wait.IsCompletedSuccessfully);
        await wait;
        Assert.True(h.Client.IsClientConnected);
    }

    [Fact]
    public async Task WaitForConnectionAsync_throws_IOException_when_cli_live_goes_to_0_before_the_client_connected()
    {
        using var h = VchanHarness.Shared(10, 11);
        VchanStream server = h.OpenServer();
        ValueTask wait = server.WaitForConnectionAsync();
        Assert.False(wait.IsCompleted);

        h.Page[VchanLayout.CliLiveOffset] = (byte)VchanLiveState.Exited; // the client's unmap notification
        h.ClientEvents.Notify();
        await Assert.ThrowsAsync<IOException>(() => wait.AsTask().WaitAsync(Hang));
        Assert.False(server.IsPeerOpen);
    }

    [Fact]
    public async Task WaitForConnectionAsync_is_cancellable_and_refused_after_disposal()
    {
        using var h = VchanHarness.Shared(10, 11);
        VchanStream server = h.OpenServer();
        using var cts = new CancellationTokenSource();
        ValueTask wait = server.WaitForConnectionAsync(cts.Token);
        await cts.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => wait.AsTask().WaitAsync(Hang));

        await server.DisposeAsync();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => server.WaitForConnectionAsync().AsTask());
    }

    [Fact]
    public void A_server_may_write_before_the_client_connects_and_the_client_reads_it_after()
    {
        using var h = VchanHarness.Shared(12, 11);
        VchanStream server = h.OpenServer();
        Assert.Equal(5, server.TryWrite("early"u8));
        VchanStream client = h.OpenClient();
        byte[] buffer = new byte[8];
        Assert.Equal(5, client.TryRead(buffer));
        Assert.Equal("early"u8.ToArray(), buffer[..5]);
    }

    [Theory]
    [InlineData(VchanRole.Client)]
    [InlineData(VchanRole.Server)]
    public async Task After_one_end_closes_the_other_reads_what_was_left_then_end_of_stream(VchanRole closing)
    {
        using var h = VchanHarness.Connected(10, 11);
        (VchanStream gone, VchanStream stays) = closing == VchanRole.Client ? (h.Client, h.Server) : (h.Server, h.Client);
        gone.TryWrite("last words"u8);
        await gone.DisposeAsync();

        Assert.False(stays.IsPeerOpen);
        byte[] buffer = new byte[4];
        var received = new List<byte>();
        int n;
        while ((n = await stays.ReadAsync(buffer).AsTask().WaitAsync(Hang)) != 0)
        {
            received.AddRange(buffer[..n]);
        }

        Assert.Equal("last words"u8.ToArray(), received);
        Assert.Equal(0, await stays.ReadAsync(buffer).AsTask().WaitAsync(Hang));
        Assert.Equal(0, stays.Read(buffer));
    }

    [Theory]
    [InlineData(VchanRole.Client)]
    [InlineData(VchanRole.Server)]
    public async Task After_one_end_closes_the_others_writes_throw_IOException_and_write_nothing(VchanRole closing)
    {
        using var h = VchanHarness.Connected(10, 11);
        (VchanStream gone, VchanStream stays) = closing == VchanRole.Client ? (h.Client, h.Server) : (h.Server, h.Client);
        await gone.DisposeAsync();
        uint prod = h.Index(stays.Role == VchanRole.Server ? VchanLayout.RightProdOffset : VchanLayout.LeftProdOffset);

        Assert.Throws<IOException>(() => stays.TryWrite("x"u8));
        await Assert.ThrowsAsync<IOException>(() => stays.WriteAsync("x"u8.ToArray()).AsTask());
        Assert.Throws<IOException>(() => stays.Write("x"u8));
        Assert.Equal(prod, h.Index(stays.Role == VchanRole.Server ? VchanLayout.RightProdOffset : VchanLayout.LeftProdOffset));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_byte_written_just_before_the_peer_closes_is_read_before_end_of_stream(bool blockingRead)
    {
        // The peer (a C server: prod += 1, then srv_live = 0 in libxenvchan_close, a few stores apart) writes and closes
        // while a read runs: whichever of the read's looks at the ring and at the live byte comes between, the byte
        // comes first and end of stream after it. Started together many times, the peer a little later each time, so
        // that some of its writes land between the read's look at an empty ring and its look at the live byte (where a
        // read that did not look at the ring again would lose the byte).
        using var h = VchanHarness.Connected(10, 11);
        Func<byte[], ValueTask<int>> read = blockingRead ? b => ValueTask.FromResult(h.Client.Read(b)) : b => h.Client.ReadAsync(b);
        for (int i = 0; i < 3000; i++)
        {
            byte sent = (byte)i;
            int delay = i % 50;
            int arrived = 0;
            Task<(int First, byte Value, int Second)> reader = Task.Run(async () =>
            {
                byte[] buffer = new byte[1];
                StartTogether(ref arrived);
                int first = await read(buffer);
                int second = first == 0 ? -1 : await read(buffer);
                return (first, buffer[0], second);
            });
            Task writer = Task.Run(() =>
            {
                StartTogether(ref arrived);
                Thread.SpinWait(delay);
                PeerWritesAndCloses(h, sent);
                h.ServerEvents.Notify();
            });
            await Task.WhenAll(reader, writer).WaitAsync(Hang);
            Assert.Equal((1, sent, 0), await reader);
            h.Page[VchanLayout.SrvLiveOffset] = (byte)VchanLiveState.Connected; // open again for the next round
        }
    }

    [Fact]
    public async Task A_pending_read_ends_with_0_when_the_peer_closes()
    {
        using var h = VchanHarness.Shared(12, 13);
        h.OpenServer();
        h.OpenClient(wakeServer: false); // the close is the only event the server gets
        ValueTask<int> read = h.Server.ReadAsync(new byte[10]);
        Assert.False(read.IsCompleted);
        h.Client.Dispose();
        Assert.Equal(0, await read.AsTask().WaitAsync(Hang));
    }

    [Fact]
    public async Task A_pending_read_ends_with_0_when_the_peers_live_byte_is_cleared_by_its_unmap_notification()
    {
        // A peer that dies never calls close: Xen clears its live byte and sends an event on its port.
        using var h = VchanHarness.Connected(10, 11);
        ValueTask<int> read = h.Client.ReadAsync(new byte[10]);
        Assert.False(read.IsCompleted);
        h.Page[VchanLayout.SrvLiveOffset] = 0;
        h.ServerEvents.Notify();
        Assert.Equal(0, await read.AsTask().WaitAsync(Hang));
    }

    [Fact]
    public async Task A_writer_waiting_for_space_fails_with_IOException_when_the_peer_closes()
    {
        using var h = VchanHarness.Connected(10, 11);
        Task write = h.Client.WriteAsync(new byte[5000]).AsTask();
        Assert.False(write.IsCompleted);
        await h.Server.DisposeAsync();
        await Assert.ThrowsAsync<IOException>(() => write.WaitAsync(Hang));
    }

    [Theory]
    [InlineData(VchanRole.Server, VchanLayout.SrvLiveOffset, VchanLayout.CliLiveOffset)]
    [InlineData(VchanRole.Client, VchanLayout.CliLiveOffset, VchanLayout.SrvLiveOffset)]
    public async Task Closing_clears_this_ends_live_byte_and_sends_the_peer_one_event(VchanRole role, int own, int peer)
    {
        using var h = VchanHarness.Connected(10, 11);
        (VchanStream stream, CountingEventChannel events) = role == VchanRole.Server ? (h.Server, h.ServerEvents) : (h.Client, h.ClientEvents);
        int before = events.Notifications;
        await stream.DisposeAsync();
        Assert.Equal(0, h.Page[own]);
        Assert.Equal((byte)VchanLiveState.Connected, h.Page[peer]);
        Assert.Equal(before + 1, events.Notifications);

        await stream.DisposeAsync();
        Assert.Equal(before + 1, events.Notifications);
    }

    [Fact]
    public async Task A_disposed_stream_refuses_reads_writes_and_queries()
    {
        using var h = VchanHarness.Connected(10, 11);
        h.Client.TryWrite("x"u8);
        await h.Server.DisposeAsync();
        VchanStream s = h.Server;

        Assert.False(s.CanRead);
        Assert.False(s.CanWrite);
        Assert.False(s.IsPeerOpen);
        Assert.Throws<ObjectDisposedException>(() => s.TryRead(new byte[1]));
        Assert.Throws<ObjectDisposedException>(() => s.TryWrite("y"u8));
        Assert.Throws<ObjectDisposedException>(() => s.DataReady);
        Assert.Throws<ObjectDisposedException>(() => s.BufferSpace);
        await Assert.ThrowsAsync<ObjectDisposedException>(() => s.ReadAsync(new byte[1]).AsTask());
        await Assert.ThrowsAsync<ObjectDisposedException>(() => s.WriteAsync(new byte[1]).AsTask());
        Assert.Equal(1u, h.Index(VchanLayout.LeftProdOffset) - h.Index(VchanLayout.LeftConsOffset)); // nothing consumed
    }

    [Fact]
    public async Task A_read_pending_on_the_end_being_disposed_fails_with_ObjectDisposedException()
    {
        using var h = VchanHarness.Connected(10, 11);
        ValueTask<int> read = h.Server.ReadAsync(new byte[1]);
        Assert.False(read.IsCompleted);
        h.Server.Dispose();
        await Assert.ThrowsAsync<ObjectDisposedException>(() => read.AsTask().WaitAsync(Hang));
    }

    [Fact]
    public async Task DisposeAsync_disposes_the_owner_once_and_completes_only_after_it()
    {
        var owner = new CountingOwner(finishAtOnce: false);
        using var h = VchanHarness.Connected(10, 11, serverOwner: owner);
        ValueTask disposing = h.Server.DisposeAsync();
        Assert.Equal(1, owner.Started);
        Assert.False(disposing.IsCompleted);

        owner.Finish();
        await disposing.AsTask().WaitAsync(Hang);
        Assert.Equal(1, owner.Finished);

        await h.Server.DisposeAsync();
        h.Server.Dispose();
        Assert.Equal(1, owner.Started);
    }

    [Fact]
    public async Task Dispose_blocks_until_the_owners_asynchronous_disposal_has_finished_and_disposes_it_once()
    {
        var owner = new CountingOwner(finishAtOnce: true);
        using var h = VchanHarness.Connected(10, 11, clientOwner: owner);
        h.Client.Dispose();
        Assert.Equal(1, owner.Finished);

        h.Client.Dispose();
        await h.Client.DisposeAsync();
        Assert.Equal(1, owner.Started);
    }

    [Fact]
    public async Task The_owner_is_disposed_after_this_end_is_marked_closed()
    {
        using var h = VchanHarness.Shared(10, 11);
        byte liveWhenOwnerRan = 0xFF;
        var owner = new CallbackOwner(() => liveWhenOwnerRan = h.Page[VchanLayout.SrvLiveOffset]);
        VchanStream server = h.OpenServer(owner);
        await server.DisposeAsync();
        Assert.Equal(0, liveWhenOwnerRan);
    }

    [Fact]
    public async Task Disposing_the_stream_leaves_its_event_channel_open()
    {
        var (serverEnd, clientEnd) = InProcessEventChannel.CreatePair();
        byte[] page = new byte[VchanLayout.PageSize];
        new VchanInterface(page, VchanRole.Server).InitializeServer(10, 11);
        await VchanStream.Create(VchanRole.Server, page, default, default, serverEnd).DisposeAsync();

        clientEnd.Notify();
        await serverEnd.WaitAsync().AsTask().WaitAsync(Hang); // a disposed channel would throw ObjectDisposedException
        serverEnd.Dispose();
        clientEnd.Dispose();
    }

    [Fact]
    public void Create_refuses_a_null_channel()
    {
        byte[] page = new byte[VchanLayout.PageSize];
        new VchanInterface(page, VchanRole.Server).InitializeServer(10, 11);
        Assert.Throws<ArgumentNullException>(() => VchanStream.Create(VchanRole.Server, page, default, default, null!));
    }

    /// <summary>A two-party spin barrier: returns once both parties have arrived, within a few instructions of each other.</summary>
    private static void StartTogether(ref int arrived)
    {
        Interlocked.Increment(ref arrived);
        var spin = new SpinWait();
        while (Volatile.Read(ref arrived) < 2)
        {
            spin.SpinOnce(sleep1Threshold: -1);
        }
    }

    /// <summary>The server's do_send of one byte then its close, as stores into the page with nothing in between.</summary>
    private static void PeerWritesAndCloses(VchanHarness h, byte value)
    {
        ref uint prod = ref Unsafe.As<byte, uint>(ref h.Page[VchanLayout.RightProdOffset]);
        uint at = Volatile.Read(ref prod);
        h.RightBuffer.Span[(int)(at & (uint)(h.RightBuffer.Length - 1))] = value;
        Volatile.Write(ref prod, at + 1);
        Volatile.Write(ref h.Page[VchanLayout.SrvLiveOffset], (byte)VchanLiveState.Exited);
    }

    private sealed class CallbackOwner(Action onDispose) : IAsyncDisposable
    {
        public ValueTask DisposeAsync()
        {
            onDispose();
            return ValueTask.CompletedTask;
        }
    }
}
