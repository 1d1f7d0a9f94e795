using System.Text;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Client;

public class ClientTests
{
    private static readonly TimeSpan Deadline = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task Many_requests_in_flight_are_matched_to_out_of_order_replies_by_req_id()
    {
        var daemon = new FakeDaemon { ChunkSize = 5 };
        var held = new List<(XsHeader, string)>();
        daemon.OnRequest = (d, h, args, _) =>
        {
            lock (held)
            {
                held.Add((h, "value-of-" + args[0]));
                if (held.Count == 64)
                {
                    foreach (var (hh, v) in Enumerable.Reverse(held))
                    {
                        d.Reply(hh, v);
                    }
                }
            }
        };
        await using var client = XenStoreClient.Create(daemon);
        var reads = Enumerable.Range(0, 64).Select(i => Task.Run(() => client.ReadStringAsync($"/k/{i}").AsTask())).ToArray();
        string[] values = await Task.WhenAll(reads).WaitAsync(Deadline);
        for (int i = 0; i < 64; i++)
        {
            Assert.Equal($"value-of-/k/{i}", values[i]);
        }

        Assert.Equal(64, daemon.Requests.Select(r => r.Header.RequestId).Distinct().Count());
    }

    [Fact]
    public async Task Each_message_is_sent_whole_and_requests_queued_during_a_send_leave_together()
    {
        var daemon = new FakeDaemon();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        daemon.HoldSends = hold.Task;
        daemon.OnRequest = (d, h, _, _) => d.Reply(h, "OK\0");
        await using var client = XenStoreClient.Create(daemon);
        var writes = new List<Task> { client.WriteAsync("/w/0", "v").AsTask() }; // its send is under way, held
        for (int i = 1; i < 20; i++)
        {
            writes.Add(client.WriteAsync($"/w/{i}", "v").AsTask()); // queued behind it
        }

        Assert.Equal(1, daemon.SendCalls);
        hold.SetResult();
        await Task.WhenAll(writes).WaitAsync(Deadline);
        Assert.Equal(2, daemon.SendCalls); // the first request, then the other 19 in one call
        Assert.Equal(Enumerable.Range(0, 20).Select(i => $"/w/{i}"), daemon.Requests.Select(r => XsPayload.Strings(r.Payload)[0]));
        Assert.All(daemon.Requests, r => Assert.Equal(XsMessageType.Write, r.Header.Type));
    }

    [Fact]
    public async Task Requests_queued_behind_a_failed_send_fail_with_a_connection_error_and_are_never_sent_later()
    {
        var daemon = new FakeDaemon();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        daemon.HoldSends = hold.Task;
        await using var client = XenStoreClient.Create(daemon);
        Task first = client.WriteAsync("/a", "1").AsTask();
        Task second = client.WriteAsync("/b", "2").AsTask();
        hold.SetException(new IOException("broken pipe"));
        await Assert.ThrowsAsync<XenStoreConnectionException>(() => first).WaitAsync(Deadline);
        await Assert.ThrowsAsync<XenStoreConnectionException>(() => second).WaitAsync(Deadline);
        Assert.Empty(daemon.Requests);
    }

    [Fact]
    public async Task Reusing_request_state_never_mixes_up_replies_across_thousands_of_requests()
    {
        var daemon = new FakeDaemon { ChunkSize = 7 };
        daemon.OnRequest = (d, h, args, _) => d.Reply(h, "value-of-" + args[0]);
        await using var client = XenStoreClient.Create(daemon);
        async Task Worker(int w)
        {
            for (int i = 0; i < 200; i++)
            {
                string path = $"/k/{w}/{i}";
                Assert.Equal("value-of-" + path, await client.ReadStringAsync(path));
            }
        }

        await Task.WhenAll(Enumerable.Range(0, 16).Select(w => Task.Run(() => Worker(w)))).WaitAsync(Deadline);
        Assert.Equal(16 * 200, daemon.Requests.Count);
    }

    [Fact]
    public async Task A_payload_over_4096_bytes_is_refused_locally_and_nothing_is_sent()
    {
        var daemon = new FakeDaemon();
        await using var client = XenStoreClient.Create(daemon);
        var e = await Assert.ThrowsAsync<ArgumentException>(() => client.WriteAsync("/big", new byte[5000]).AsTask());
        Assert.Contains("4096", e.Message, StringComparison.Ordinal);
        Assert.Empty(daemon.Requests);
    }

    [Fact]
    public async Task An_invalid_path_is_refused_locally()
    {
        var daemon = new FakeDaemon();
        await using var client = XenStoreClient.Create(daemon);
        await Assert.ThrowsAsync<ArgumentException>(() => client.ReadAsync("/a//b").AsTask());
        await Assert.ThrowsAsync<ArgumentException>(() => client.WriteAsync("/a/", "x").AsTask());
        Assert.Empty(daemon.Requests);
    }

    [Fact]
    public async Task Error_replies_become_typed_errors_and_unknown_strings_are_kept()
    {
        var daemon = new FakeDaemon();
        daemon.OnRequest = (d, h, args, _) => d.Error(h, args[0] == "/missing" ? "ENOENT" : "EQUOTA");
        await using var client = XenStoreClient.Create(daemon);
        var e1 = await Assert.ThrowsAsync<XenStoreErrorException>(() => client.ReadAsync("/missing").AsTask());
        Assert.Equal(XsError.ENOENT, e1.Error);
        Assert.Contains("READ /missing", e1.Message, StringComparison.Ordinal);
        var e2 = await Assert.ThrowsAsync<XenStoreErrorException>(() => client.WriteAsync("/q", "v").AsTask());
        Assert.Equal(XsError.Unknown, e2.Error);
        Assert.Equal("EQUOTA", e2.RawError);
        Assert.Null(await client.TryReadStringAsync("/missing"));
        Assert.False(await client.ExistsAsync("/missing"));
    }

    [Fact]
    public async Task An_oversized_frame_from_the_daemon_fails_every_waiting_request_and_the_connection()
    {
        var daemon = new FakeDaemon();
        await using var client = XenStoreClient.Create(daemon);
        Task<byte[]> a = client.ReadAsync("/a").AsTask();
        Task<byte[]> b = client.ReadAsync("/b").AsTask();
        byte[] bad = new byte[16];
        new XsHeader(XsMessageType.Read, 1, 0, 100_000_000).Write(bad); // past what is ever skipped
        daemon.Raw(bad);
        await Assert.ThrowsAsync<XenStoreProtocolException>(() => a.WaitAsync(Deadline));
        await Assert.ThrowsAsync<XenStoreProtocolException>(() => b.WaitAsync(Deadline));
        Assert.True(client.IsFaulted);
        await Assert.ThrowsAsync<XenStoreConnectionException>(() => client.ReadAsync("/c").AsTask());
    }

    [Fact]
    public async Task An_over_long_reply_fails_its_request_with_E2BIG_and_the_connection_carries_on()
    {
        var daemon = new FakeDaemon { ChunkSize = 1000 };
        daemon.OnRequest = (d, h, args, _) =>
        {
            if (args[0] == "/big")
            {
                byte[] frame = new byte[16 + 150_000]; // what oxenstored sends for a large directory on its socket
                new XsHeader(XsMessageType.Directory, h.RequestId, 0, 150_000).Write(frame);
                d.Raw(frame);
            }
            else
            {
                d.Reply(h, "small"u8);
            }
        };
        await using var client = XenStoreClient.Create(daemon);
        Task<byte[]> big = client.ReadAsync("/big").AsTask();
        var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => big.WaitAsync(Deadline));
        Assert.Equal(XsError.E2BIG, e.Error);
        Assert.Equal("small", await client.ReadStringAsync("/after").AsTask().WaitAsync(Deadline));
        Assert.False(client.IsFaulted);
    }

    [Fact]
    public async Task A_reply_to_no_request_is_a_protocol_error()
    {
        var daemon = new FakeDaemon();
        await using var client = XenStoreClient.Create(daemon);
        Task<byte[]> waiting = client.ReadAsync("/a").AsTask();
        daemon.Reply(new XsHeader(XsMessageType.Read, 999, 0, 0), "x"u8);
        await Assert.ThrowsAsync<XenStoreProtocolException>(() => waiting.WaitAsync(Deadline));
    }

    [Fact]
    public async Task Losing_the_connection_fails_waiting_requests_with_a_connection_error()
    {
        var daemon = new FakeDaemon();
        await using var client = XenStoreClient.Create(daemon);
        Task<byte[]> waiting = client.ReadAsync("/a").AsTask();
        daemon.Close();
        await Assert.ThrowsAsync<XenStoreConnectionException>(() => waiting.WaitAsync(Deadline));
    }

    [Fact]
    public async Task Empty_directory_replies_are_empty_lists_and_READ_values_keep_every_byte()
    {
        var daemon = new FakeDaemon();
        daemon.OnRequest = (d, h, _, _) => d.Reply(h, h.Type == XsMessageType.Directory ? [] : new byte[] { 0, 1, 2, 0 });
        await using var client = XenStoreClient.Create(daemon);
        Assert.Empty(await client.DirectoryAsync("/empty"));
        Assert.Equal(new byte[] { 0, 1, 2, 0 }, await client.ReadAsync("/bin"));
    }

    [Fact]
    public async Task DIRECTORY_falls_back_to_DIRECTORY_PART_on_E2BIG_and_restarts_when_the_generation_changes()
    {
        var daemon = new FakeDaemon();
        string[] names = Enumerable.Range(0, 900).Select(i => $"child-{i:D5}").ToArray();
        int parts = 0;
        daemon.OnRequest = (d, h, args, _) =>
        {
            if (h.Type == XsMessageType.Directory)
            {
                d.Error(h, "E2BIG");
                return;
            }

            parts++;
            int offset = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
            string gen = parts <= 2 ? "1" : "2"; // the directory "changes" after the second part
            var body = new StringBuilder(gen).Append('\0');
            int pos = 0;
            int taken = 0;
            foreach (string n in names)
            {
                if (pos >= offset && taken < 300)
                {
                    body.Append(n).Append('\0');
                    taken++;
                }

                pos += n.Length + 1;
            }

            bool last = offset + body.Length - gen.Length - 1 >= pos;
            if (last)
            {
                body.Append('\0');
            }

            d.Reply(h, body.ToString());
        };
        await using var client = XenStoreClient.Create(daemon);
        IReadOnlyList<string> listed = await client.DirectoryAsync("/big");
        Assert.Equal(names, listed);
        Assert.True(parts >= 5); // 2 parts of generation 1, then 3 of generation 2 from offset 0
    }

    [Fact]
    public async Task DIRECTORY_that_is_too_big_on_a_daemon_without_DIRECTORY_PART_reports_a_clear_E2BIG()
    {
        var daemon = new FakeDaemon();
        daemon.OnRequest = (d, h, _, _) => d.Error(h, h.Type == XsMessageType.Directory ? "E2BIG" : "ENOSYS");
        await using var client = XenStoreClient.Create(daemon);
        var e = await Assert.ThrowsAsync<XenStoreErrorException>(() => client.DirectoryAsync("/big").AsTask());
        Assert.Equal(XsError.E2BIG, e.Error);
        Assert.Contains("no DIRECTORY_PART", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Events_of_several_watches_merge_in_arrival_order_by_sequence()
    {
        var daemon = new FakeDaemon();
        daemon.OnRequest = (d, h, _, _) => d.Reply(h, h.Type == XsMessageType.Read ? "v"u8 : "OK\0"u8);
        await using var client = XenStoreClient.Create(daemon);
        await using XenStoreWatch a = await client.WatchAsync("/a", "ta");
        await using XenStoreWatch b = await client.WatchAsync("/b", "tb");
        string[] sent = ["/b/1", "/a/1", "/a/2", "/b/2", "/b/3", "/a/3"];
        foreach (string path in sent)
        {
            daemon.WatchEvent(path, path[1] == 'a' ? "ta" : "tb");
        }

        Assert.Equal("v", await client.ReadStringAsync("/x").AsTask().WaitAsync(Deadline)); // every event is in by now
        var merged = new List<XenStoreWatchEvent>();
        while (a.TryRead(out XenStoreWatchEvent ea) | b.TryRead(out XenStoreWatchEvent eb))
        {
            merged.AddRange(new[] { ea, eb }.Where(e => e.Path is not null));
        }

        Assert.Equal(sent, merged.OrderBy(e => e.Sequence).Select(e => e.Path));
        Assert.Equal(merged.Count, merged.Select(e => e.Sequence).Distinct().Count());
        Assert.False(a.TryRead(out _));
        Assert.Equal(new XenStoreWatchEvent("/a/1", "ta") { Sequence = 1 }, new XenStoreWatchEvent("/a/1", "ta") { Sequence = 2 });
    }

    [Fact]
    public async Task Watch_events_are_told_apart_by_token_and_a_slow_consumer_does_not_stall_replies()
    {
        var daemon = new FakeDaemon();
        daemon.OnRequest = (d, h, args, _) =>
        {
            d.Reply(h, h.Type == XsMessageType.Read ? "v"u8 : "OK\0"u8);
            if (h.Type == XsMessageType.Watch)
            {
                d.WatchEvent(args[0], args[1]); // the initial event
            }
        };
        await using var client = XenStoreClient.Create(daemon, new XenStoreClientOptions { WatchEventCapacity = 4 });
        await using XenStoreWatch w1 = await client.WatchAsync("/dev");
        await using XenStoreWatch w2 = await client.WatchAsync("/dev");
        Assert.NotEqual(w1.Token, w2.Token);
        Assert.Equal(new XenStoreWatchEvent("/dev", w1.Token), await w1.ReadAsync().AsTask().WaitAsync(Deadline));
        Assert.Equal(new XenStoreWatchEvent("/dev", w2.Token), await w2.ReadAsync().AsTask().WaitAsync(Deadline));

        for (int i = 0; i < 100; i++)
        {
            daemon.WatchEvent($"/dev/{i}", w1.Token); // nobody reads w1 meanwhile
        }

        Assert.Equal("v", await client.ReadStringAsync("/x").AsTask().WaitAsync(Deadline)); // replies still flow
        XenStoreWatchEvent first = await w1.ReadAsync().AsTask().WaitAsync(Deadline);
        Assert.True(first.EventsWereDropped);
        Assert.Equal("/dev/96", first.Path);         // the oldest were dropped, the newest 4 kept
        Assert.False((await w1.ReadAsync()).EventsWereDropped);
    }

    [Fact]
    public async Task Disposing_a_watch_sends_UNWATCH_and_ends_its_stream()
    {
        var daemon = new FakeDaemon();
        daemon.OnRequest = (d, h, _, _) => d.Reply(h, "OK\0");
        await using var client = XenStoreClient.Create(daemon);
        XenStoreWatch w = await client.WatchAsync("@releaseDomain", "tok");
        await w.DisposeAsync();
        var last = daemon.Requests[^1];
        Assert.Equal(XsMessageType.Unwatch, last.Header.Type);
        Assert.Equal(["@releaseDomain", "tok"], XsPayload.Strings(last.Payload));
        await Assert.ThrowsAnyAsync<InvalidOperationException>(() => w.ReadAsync().AsTask());
    }

    [Fact]
    public async Task RunTransactionAsync_retries_on_EAGAIN_and_returns_the_committed_attempts_result()
    {
        var daemon = new FakeDaemon();
        uint nextTx = 10;
        int commits = 0;
        daemon.OnRequest = (d, h, args, _) =>
        {
            switch (h.Type)
            {
                case XsMessageType.TransactionStart:
                    Assert.Equal(0u, h.TransactionId);
                    d.Reply(h, $"{nextTx++}\0");
                    break;
                case XsMessageType.TransactionEnd when args[0] == "T":
                    d.Reply(h, ++commits < 3 ? "EAGAIN\0"u8 : "OK\0"u8, commits < 3 ? XsMessageType.Error : null);
                    break;
                case XsMessageType.Read:
                    d.Reply(h, "41");
                    break;
                default:
                    d.Reply(h, "OK\0");
                    break;
            }
        };
        await using var client = XenStoreClient.Create(daemon);
        int attempts = 0;
        int result = await client.RunTransactionAsync(async (tx, ct) =>
        {
            attempts++;
            int v = int.Parse(await tx.ReadStringAsync("/counter", ct), System.Globalization.CultureInfo.InvariantCulture) + 1;
            await tx.WriteAsync("/counter", v.ToString(System.Globalization.CultureInfo.InvariantCulture), ct);
            return v;
        });
        Assert.Equal(42, result);
        Assert.Equal(3, attempts);
        Assert.Equal([10u, 11u, 12u], daemon.Requests.Where(r => r.Header.Type == XsMessageType.Write).Select(r => r.Header.TransactionId));
    }

    [Fact]
    public async Task The_retry_policy_gives_up_and_the_caller_sees_EAGAIN()
    {
        var daemon = new FakeDaemon();
        daemon.OnRequest = (d, h, args, _) =>
        {
            if (h.Type == XsMessageType.TransactionStart)
            {
                d.Reply(h, "5\0");
            }
            else if (h.Type == XsMessageType.TransactionEnd && args[0] == "T")
            {
                d.Error(h, "EAGAIN");
            }
            else
            {
                d.Reply(h, "OK\0");
            }
        };
        await using var client = XenStoreClient.Create(daemon);
        var e = await Assert.ThrowsAsync<XenStoreErrorException>(() =>
            client.RunTransactionAsync((tx, ct) => ValueTask.FromResult(0), new TransactionRetryPolicy { MaxAttempts = 3 }).AsTask());
        Assert.Equal(XsError.EAGAIN, e.Error);
        Assert.Equal(3, daemon.Requests.Count(r => r.Header.Type == XsMessageType.TransactionEnd && XsPayload.Strings(r.Payload)[0] == "T"));
    }

    [Fact]
    public async Task A_watch_whose_wait_was_cancelled_is_unwatched_when_the_daemon_carries_it_out()
    {
        var daemon = new FakeDaemon();
        XsHeader? held = null;
        var unwatched = new TaskCompletionSource<string[]>(TaskCreationOptions.RunContinuationsAsynchronously);
        daemon.OnRequest = (d, h, args, _) =>
        {
            switch (h.Type)
            {
                case XsMessageType.Watch:
                    held = h; // answered after the caller gave up
                    break;
                case XsMessageType.Unwatch:
                    unwatched.TrySetResult(args);
                    d.Reply(h, "OK\0");
                    break;
                default:
                    d.Reply(h, "OK\0");
                    break;
            }
        };
        await using var client = XenStoreClient.Create(daemon);
        using var giveUp = new CancellationTokenSource();
        ValueTask<XenStoreWatch> watching = client.WatchAsync("/w", "tok", cancellationToken: giveUp.Token);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching.AsTask());
        Assert.DoesNotContain(daemon.Requests, r => r.Header.Type == XsMessageType.Unwatch);

        daemon.Reply(held!.Value, "OK\0");
        Assert.Equal(["/w", "tok"], await unwatched.Task.WaitAsync(Deadline));
    }

    [Fact]
    public async Task A_transaction_whose_start_was_cancelled_is_aborted_when_the_daemon_starts_it()
    {
        var daemon = new FakeDaemon();
        XsHeader? held = null;
        var ended = new TaskCompletionSource<(uint, string)>(TaskCreationOptions.RunContinuationsAsynchronously);
        daemon.OnRequest = (d, h, args, _) =>
        {
            switch (h.Type)
            {
                case XsMessageType.TransactionStart:
                    held = h;
                    break;
                case XsMessageType.TransactionEnd:
                    ended.TrySetResult((h.TransactionId, args[0]));
                    d.Reply(h, "OK\0");
                    break;
                default:
                    d.Reply(h, "OK\0");
                    break;
            }
        };
        await using var client = XenStoreClient.Create(daemon);
        using var giveUp = new CancellationTokenSource();
        ValueTask<XenStoreTransaction> starting = client.StartTransactionAsync(giveUp.Token);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => starting.AsTask());

        daemon.Reply(held!.Value, "42\0");
        Assert.Equal((42u, "F"), await ended.Task.WaitAsync(Deadline));
    }

    [Fact]
    public async Task A_cancelled_request_that_the_daemon_refuses_is_not_undone()
    {
        var daemon = new FakeDaemon();
        XsHeader? held = null;
        daemon.OnRequest = (d, h, _, _) =>
        {
            if (h.Type == XsMessageType.Watch)
            {
                held = h;
            }
            else
            {
                d.Reply(h, h.Type == XsMessageType.Read ? "v" : "OK\0");
            }
        };
        await using var client = XenStoreClient.Create(daemon);
        using var giveUp = new CancellationTokenSource();
        ValueTask<XenStoreWatch> watching = client.WatchAsync("/w", "tok", cancellationToken: giveUp.Token);
        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => watching.AsTask());

        daemon.Error(held!.Value, "EACCES");
        Assert.Equal("v", await client.ReadStringAsync("/after").AsTask().WaitAsync(Deadline));
        Assert.DoesNotContain(daemon.Requests, r => r.Header.Type == XsMessageType.Unwatch);
    }

    [Fact]
    public void The_default_retry_policy_keeps_retrying_with_a_bounded_delay()
    {
        foreach (int attempt in new[] { 1, 16, 17, 1000, int.MaxValue - 1 })
        {
            TimeSpan? delay = TransactionRetryPolicy.Default.NextDelay(attempt);
            Assert.NotNull(delay);
            Assert.InRange(delay.Value, TimeSpan.Zero, TransactionRetryPolicy.Default.MaxDelay);
        }
    }

    [Fact]
    public async Task Domain_operations_send_decimal_arguments()
    {
        var daemon = new FakeDaemon();
        daemon.OnRequest = (d, h, _, _) => d.Reply(h, h.Type switch
        {
            XsMessageType.GetDomainPath => "/local/domain/5\0",
            XsMessageType.IsDomainIntroduced => "T\0",
            _ => "OK\0",
        });
        await using var client = XenStoreClient.Create(daemon);
        await client.IntroduceAsync(5, 0x1234, 7);
        Assert.Equal("/local/domain/5", await client.GetDomainPathAsync(5));
        Assert.True(await client.IsDomainIntroducedAsync(5));
        await client.SetTargetAsync(6, 5);
        await client.ReleaseAsync(5);
        Assert.Equal(["5", "4660", "7"], XsPayload.Strings(daemon.Requests[0].Payload));
        Assert.Equal(["6", "5"], XsPayload.Strings(daemon.Requests[3].Payload));
    }

    [Fact]
    public async Task Reconnect_re_registers_watches_and_flags_the_gap()
    {
        FakeDaemon Make()
        {
            var d = new FakeDaemon();
            d.OnRequest = (dd, h, _, _) => dd.Reply(h, "OK\0");
            return d;
        }

        var first = Make();
        var second = Make();
        await using var client = XenStoreClient.Create(first, new XenStoreClientOptions
        {
            Reconnect = _ => ValueTask.FromResult<global::Xen.Store.Transports.IXenStoreTransport>(second),
            ReconnectDelay = TimeSpan.FromMilliseconds(1),
        });
        await using XenStoreWatch w = await client.WatchAsync("/vm", "t1");
        first.Close();
        XenStoreWatchEvent e = await w.ReadAsync().AsTask().WaitAsync(Deadline);
        Assert.True(e.EventsWereDropped);
        Assert.Contains(second.Requests, r => r.Header.Type == XsMessageType.Watch && XsPayload.Strings(r.Payload)[1] == "t1");
        await client.WriteAsync("/vm/x", "1").AsTask().WaitAsync(Deadline); // the new connection carries requests
    }
}
