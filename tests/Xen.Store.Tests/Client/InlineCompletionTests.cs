using System.Buffers;
using System.Net.Sockets;
using System.Text;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Client;

/// <summary>
/// <see cref="XenStoreClientOptions.InlineCompletions"/> and <see cref="XenStoreClientOptions.ReceiveSpin"/> over a Unix
/// socket: where the code after an await resumes, that a synchronous call there fails instead of hanging, that many
/// requests in flight still get their own replies, and that a spinning receive thread still sees late replies and a
/// daemon that goes away.
/// </summary>
public sealed class InlineCompletionTests() : ServerOnSocket("xs-inline")
{
    private static readonly XenStoreClientOptions Inline = new() { InlineCompletions = true, ReceiveSpin = TimeSpan.FromMicroseconds(50) };
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    // The daemon of these tests answers by hand, after the client has awaited, so the code after the await cannot
    // resume on the caller's thread because the reply was there first.

    [Fact]
    public async Task By_default_the_code_after_an_await_resumes_on_the_thread_pool()
    {
        using var daemon = new OneShotDaemon(Path.Combine(Directory, "default"));
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(daemon.Path);
        Task<(bool PoolThread, int First, int Second)> resumed = ResumeTwiceAsync(client);
        await daemon.AnswerAsync("1").WaitAsync(Patience);
        await daemon.AnswerAsync("1").WaitAsync(Patience);
        (bool poolThread, _, _) = await resumed.WaitAsync(Patience);
        Assert.True(poolThread);
    }

    [Fact]
    public async Task With_inline_completions_the_code_after_an_await_resumes_on_the_receive_thread()
    {
        using var daemon = new OneShotDaemon(Path.Combine(Directory, "inline"));
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(daemon.Path, Inline);
        Task<(bool PoolThread, int First, int Second)> resumed = ResumeTwiceAsync(client);
        await daemon.AnswerAsync("1").WaitAsync(Patience);
        await daemon.AnswerAsync("1").WaitAsync(Patience);
        (bool poolThread, int first, int second) = await resumed.WaitAsync(Patience);
        Assert.False(poolThread); // the client's own receive thread

        // The next request, sent from that thread, resumes there too: one thread serves the whole exchange.
        Assert.Equal(first, second);
    }

    [Fact]
    public async Task A_synchronous_call_on_the_receive_thread_throws_instead_of_waiting_forever()
    {
        using var daemon = new OneShotDaemon(Path.Combine(Directory, "blocking"));
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(daemon.Path, Inline);
        Task<Exception?> blocked = BlockOnReceiveThreadAsync(client);
        await daemon.AnswerAsync("2").WaitAsync(Patience);

        // Blocking there would wait for a reply only that thread can read (without the check: TimeoutException here).
        var e = Assert.IsType<InvalidOperationException>(await blocked.WaitAsync(Patience));
        Assert.Contains("receive thread", e.Message, StringComparison.Ordinal);
        await daemon.AnswerAsync("2").WaitAsync(Patience); // the request that call sent: answered, and dropped

        // The connection goes on working, blocking calls from elsewhere included.
        ValueTask<string> read = client.ReadStringAsync("/inline/b");
        await daemon.AnswerAsync("3").WaitAsync(Patience);
        Assert.Equal("3", await read.AsTask().WaitAsync(Patience));
        Task<string> blocking = Task.Run(() => client.ReadString("/inline/b"));
        await daemon.AnswerAsync("4").WaitAsync(Patience);
        Assert.Equal("4", await blocking.WaitAsync(Patience));
    }

    [Fact]
    public async Task Code_resumed_on_the_receive_thread_can_dispose_the_client()
    {
        // What `await using` does at the end of an async method whose last await resumed on the receive thread.
        using var daemon = new OneShotDaemon(Path.Combine(Directory, "dispose"));
        XenStoreClient client = await XenStoreClient.ConnectAsync(daemon.Path, Inline);
        Task<bool> disposed = ReadThenDisposeAsync(client);
        await daemon.AnswerAsync("5").WaitAsync(Patience);
        Assert.False(await disposed.WaitAsync(Patience)); // ran on the receive thread, not the pool
        var e = await Assert.ThrowsAsync<XenStoreConnectionException>(() => client.ReadAsync("/after").AsTask());
        Assert.Contains("disposed", e.Message, StringComparison.Ordinal);
    }

    private static async Task<bool> ReadThenDisposeAsync(XenStoreClient client)
    {
        await client.ReadStringAsync("/inline/d").ConfigureAwait(false);
        bool poolThread = Thread.CurrentThread.IsThreadPoolThread;
        await client.DisposeAsync().ConfigureAwait(false);
        return poolThread;
    }

    /// <summary>Reads twice, resuming without a context: where the code after each await ran.</summary>
    private static async Task<(bool PoolThread, int First, int Second)> ResumeTwiceAsync(XenStoreClient client)
    {
        await client.ReadStringAsync("/inline/a").ConfigureAwait(false);
        bool poolThread = Thread.CurrentThread.IsThreadPoolThread;
        int first = Environment.CurrentManagedThreadId;
        await client.ReadStringAsync("/inline/a").ConfigureAwait(false);
        return (poolThread, first, Environment.CurrentManagedThreadId);
    }

    /// <summary>Reads, then makes a blocking call where the code after that await runs.</summary>
    private static async Task<Exception?> BlockOnReceiveThreadAsync(XenStoreClient client)
    {
        await client.ReadStringAsync("/inline/b").ConfigureAwait(false);
        return Record.Exception(() => client.ReadString("/inline/b"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Many_requests_in_flight_each_get_their_own_reply(bool inProcess)
    {
        // In process the receive loop runs on the thread pool (asynchronous reads) rather than a thread of its own.
        await using XenStoreClient client = inProcess
            ? XenStoreClient.Create(Server.ConnectInProcess(0), Inline)
            : await XenStoreClient.ConnectAsync(SocketPath, Inline);
        const int Loops = 64;
        const int PerLoop = 50;
        await Task.WhenAll(Enumerable.Range(0, Loops).Select(async loop =>
        {
            for (int i = 0; i < PerLoop; i++)
            {
                string path = $"/inline/many/{loop}";
                string value = $"{loop}.{i}";
                await client.WriteAsync(path, value).ConfigureAwait(false);
                Assert.Equal(value, await client.ReadStringAsync(path).ConfigureAwait(false));
            }
        })).WaitAsync(Patience);

        Assert.Equal(Loops, (await client.DirectoryAsync("/inline/many")).Count);
    }

    [Fact]
    public async Task A_watch_delivers_its_events_with_inline_completions()
    {
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(SocketPath, Inline);
        await using XenStoreWatch watch = await client.WatchAsync("/inline/w", "tok");
        await using IAsyncEnumerator<XenStoreWatchEvent> events = watch.ReadAllAsync().GetAsyncEnumerator();
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Patience)); // the initial event
        await client.WriteAsync("/inline/w/x", "1");
        Assert.True(await events.MoveNextAsync().AsTask().WaitAsync(Patience));
        Assert.Equal("/inline/w/x", events.Current.Path);
    }

    [Fact]
    public async Task A_spinning_receive_thread_still_takes_a_reply_that_comes_after_the_spin()
    {
        using var daemon = new OneShotDaemon(Path.Combine(Directory, "late"));
        var options = new XenStoreClientOptions { ReceiveSpin = TimeSpan.FromMicroseconds(100) };
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(daemon.Path, options);
        ValueTask<string> read = client.ReadStringAsync("/late");
        (XsHeader request, Socket socket) = await daemon.NextRequestAsync().WaitAsync(Patience);
        await Task.Delay(200); // long past the spin: the thread sleeps in poll by now
        OneShotDaemon.Reply(socket, request, "on time");
        Assert.Equal("on time", await read.AsTask().WaitAsync(Patience));
    }

    [Fact]
    public async Task A_daemon_that_closes_while_the_client_spins_fails_the_request()
    {
        using var daemon = new OneShotDaemon(Path.Combine(Directory, "gone"));
        var options = new XenStoreClientOptions { InlineCompletions = true, ReceiveSpin = XenStoreClientOptions.MaxReceiveSpin };
        await using XenStoreClient client = await XenStoreClient.ConnectAsync(daemon.Path, options);
        ValueTask<string> read = client.ReadStringAsync("/gone");
        (_, Socket socket) = await daemon.NextRequestAsync().WaitAsync(Patience);
        socket.Close(); // within the 10 ms spin
        await Assert.ThrowsAsync<XenStoreConnectionException>(() => read.AsTask().WaitAsync(Patience));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(10_001)]
    public void A_receive_spin_below_zero_or_over_10_ms_is_refused(double microseconds)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => new XenStoreClientOptions { ReceiveSpin = TimeSpan.FromMicroseconds(microseconds) });
    }

    /// <summary>A listening socket that accepts one client and hands its requests to the test, to answer (or not) by hand.</summary>
    private sealed class OneShotDaemon : IDisposable
    {
        private readonly Socket _listener = new(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        private Socket? _client;

        public OneShotDaemon(string path)
        {
            Path = path;
            _listener.Bind(new UnixDomainSocketEndPoint(path));
            _listener.Listen(1);
        }

        public string Path { get; }

        public async Task<(XsHeader Header, Socket Socket)> NextRequestAsync()
        {
            _client ??= await _listener.AcceptAsync();
            byte[] header = new byte[XsHeader.HeaderLength];
            await ReceiveExactlyAsync(_client, header);
            Assert.True(XsHeader.TryRead(header, out XsHeader parsed));
            await ReceiveExactlyAsync(_client, new byte[parsed.Length]);
            return (parsed, _client);
        }

        /// <summary>Waits for the next request and answers it with <paramref name="value"/>.</summary>
        public async Task AnswerAsync(string value)
        {
            (XsHeader request, Socket socket) = await NextRequestAsync();
            Reply(socket, request, value);
        }

        public static void Reply(Socket socket, XsHeader request, string value)
        {
            var message = new ArrayBufferWriter<byte>();
            XsMessageWriter.WriteRaw(message, request.Type, request.RequestId, request.TransactionId, Encoding.ASCII.GetBytes(value));
            socket.Send(message.WrittenSpan);
        }

        public void Dispose()
        {
            _client?.Dispose();
            _listener.Dispose();
            File.Delete(Path);
        }

        private static async Task ReceiveExactlyAsync(Socket socket, byte[] buffer)
        {
            int got = 0;
            while (got < buffer.Length)
            {
                int n = await socket.ReceiveAsync(buffer.AsMemory(got), SocketFlags.None);
                Assert.NotEqual(0, n);
                got += n;
            }
        }
    }
}
