using System.IO.Pipelines;
using Xen.Rings.Console;
using Xen.Rings.Events;
using Xen.Rings.Memory;

namespace Xen.Rings.Tests;

public class ConsoleRingStreamTests
{
    [Fact]
    public async Task Both_directions_carry_more_than_the_ring_holds_with_backpressure()
    {
        using var page = SharedPage.Allocate();
        var (g, b) = InProcessEventChannel.CreatePair();
        await using var guest = ConsoleRingStream.OpenFrontend(page.Memory, g, leaveOpen: false);
        await using var backend = ConsoleRingStream.OpenBackend(page.Memory, b, leaveOpen: false);
        byte[] output = Enumerable.Range(0, 100_000).Select(i => (byte)(i % 251)).ToArray();
        byte[] input = Enumerable.Range(0, 50_000).Select(i => (byte)(i % 239)).ToArray();

        Task w1 = guest.WriteAsync(output).AsTask();
        Task w2 = backend.WriteAsync(input).AsTask();
        Task<byte[]> r1 = ReadExactly(backend, output.Length);
        Task<byte[]> r2 = ReadExactly(guest, input.Length);
        await Task.WhenAll(w1, w2, r1, r2).WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(output, await r1);
        Assert.Equal(input, await r2);
    }

    [Fact]
    public async Task A_pending_read_is_cancelled_without_consuming_anything()
    {
        using var page = SharedPage.Allocate();
        var (g, b) = InProcessEventChannel.CreatePair();
        await using var guest = ConsoleRingStream.OpenFrontend(page.Memory, g, leaveOpen: false);
        using var cts = new CancellationTokenSource();
        ValueTask<int> read = guest.ReadAsync(new byte[10], cts.Token);
        cts.Cancel();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => read.AsTask());
        new ConsoleBackend(page.GetSpan()).Write("x"u8);
        Assert.Equal(1, guest.BytesAvailable);
        b.Dispose();
    }

    [Fact]
    public async Task Pipes_over_the_stream_move_a_large_message_in_order()
    {
        using var page = SharedPage.Allocate();
        var (g, b) = InProcessEventChannel.CreatePair();
        await using var guest = ConsoleRingStream.OpenFrontend(page.Memory, g, leaveOpen: false);
        await using var backend = ConsoleRingStream.OpenBackend(page.Memory, b, leaveOpen: false);
        PipeWriter writer = PipeWriter.Create(guest);
        PipeReader reader = PipeReader.Create(backend);
        byte[] message = Enumerable.Range(0, 10_000).Select(i => (byte)(i * 13)).ToArray();

        Task writing = Task.Run(async () =>
        {
            await writer.WriteAsync(message);
            await writer.FlushAsync();
        });
        var received = new List<byte>();
        while (received.Count < message.Length)
        {
            ReadResult result = await reader.ReadAsync().AsTask().WaitAsync(TimeSpan.FromSeconds(60));
            foreach (ReadOnlyMemory<byte> segment in result.Buffer)
            {
                received.AddRange(segment.ToArray());
            }

            reader.AdvanceTo(result.Buffer.End);
        }

        await writing.WaitAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(message, received);
    }

    [Fact]
    public void The_stream_cannot_seek()
    {
        byte[] page = new byte[4096];
        var (g, b) = InProcessEventChannel.CreatePair();
        using var s = ConsoleRingStream.OpenFrontend(page, g, leaveOpen: false);
        Assert.False(s.CanSeek);
        Assert.Throws<NotSupportedException>(() => s.Length);
        b.Dispose();
    }

    private static async Task<byte[]> ReadExactly(Stream s, int count)
    {
        byte[] buf = new byte[count];
        await s.ReadExactlyAsync(buf);
        return buf;
    }
}
