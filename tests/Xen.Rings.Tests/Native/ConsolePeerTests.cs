using System.Globalization;
using Xen.Rings.Console;
using Xen.Rings.Memory;

namespace Xen.Rings.Tests.Native;

/// <summary>
/// The console page across two processes: one ring end is C code using <c>console.h</c>'s
/// <c>MASK_XENCONS_IDX</c> (<c>tests/native/xen_ring_peer.c</c>), the other is <see cref="ConsoleFrontend"/> or
/// <see cref="ConsoleBackend"/> on the same file mapping. Each run starts the indices just below 2^32 and moves
/// many ring-fulls of a seeded byte pattern that both sides check byte for byte.
/// </summary>
[Trait("Category", "Native")]
[Collection(RingPeerTestGroup.Name)]
public sealed class ConsolePeerTests(RingPeerFixture peers)
{
    private const uint Start = 0xFFFFFF00;
    private const int ByteCount = 40_000; // about 20 fills of out[] and 40 of in[]

    private delegate int PageRead(Span<byte> page, Span<byte> destination);

    private delegate int PageWrite(Span<byte> page, ReadOnlySpan<byte> source);

    private delegate uint PageIndex(Span<byte> page);

    [Fact]
    public void Output_a_C_guest_writes_is_read_by_ConsoleBackend() =>
        CSharpConsumes("out", seed: 11, (page, buffer) => new ConsoleBackend(page).Read(buffer),
            page => new ConsoleBackend(page).Output.Consumer);

    [Fact]
    public void Output_ConsoleFrontend_writes_is_read_by_a_C_backend() =>
        CSharpProduces("out", seed: 12, (page, data) => new ConsoleFrontend(page).Write(data),
            page => new ConsoleFrontend(page).Output.Producer);

    [Fact]
    public void Input_ConsoleBackend_writes_is_read_by_a_C_guest() =>
        CSharpProduces("in", seed: 13, (page, data) => new ConsoleBackend(page).Write(data),
            page => new ConsoleBackend(page).Input.Producer);

    [Fact]
    public void Input_a_C_backend_writes_is_read_by_ConsoleFrontend() =>
        CSharpConsumes("in", seed: 14, (page, buffer) => new ConsoleFrontend(page).Read(buffer),
            page => new ConsoleFrontend(page).Input.Consumer);

    private void CSharpConsumes(string ring, ulong seed, PageRead read, PageIndex ourIndex)
    {
        using var file = new SharedPageFile();
        using var page = SharedPage.MapFile(file.Path, SharedPage.PageSize, create: true);
        new ConsoleFrontend(page.GetSpan()).Reset(Start);
        using NativeProcess peer = peers.Start("console-produce", file.Path, ring, Text(Start), Text(seed), Text(ByteCount));

        var expected = new PatternBytes(seed);
        var sizes = new Random((int)seed);
        var wait = new PeerWait(peer, $"bytes in {ring}[]");
        byte[] buffer = new byte[3000];
        uint hash = PeerPattern.FnvOffsetBasis;
        int received = 0;
        while (received < ByteCount)
        {
            int count = read(page.GetSpan(), buffer.AsSpan(0, Math.Min(sizes.Next(1, buffer.Length + 1), ByteCount - received)));
            if (count == 0)
            {
                wait.Nap();
                continue;
            }

            for (int k = 0; k < count; k++)
            {
                byte want = expected.Next();
                if (buffer[k] != want)
                {
                    Assert.Fail($"Byte {received + k} of {ring}[] is 0x{buffer[k]:x2}, expected 0x{want:x2}. {peer.Describe()}");
                }
            }

            hash = PeerPattern.Fnv1a(hash, buffer.AsSpan(0, count));
            received += count;
            wait.Progressed();
        }

        string[] done = RingPeerFixture.Finish(peer);
        Assert.Equal([Text(ByteCount), hash.ToString("x8", CultureInfo.InvariantCulture), Text(unchecked(Start + ByteCount))], done[1..]);
        Assert.Equal(unchecked(Start + (uint)ByteCount), ourIndex(page.GetSpan()));
    }

    private void CSharpProduces(string ring, ulong seed, PageWrite write, PageIndex ourIndex)
    {
        using var file = new SharedPageFile();
        using var page = SharedPage.MapFile(file.Path, SharedPage.PageSize, create: true);
        new ConsoleFrontend(page.GetSpan()).Reset(Start);
        using NativeProcess peer = peers.Start("console-consume", file.Path, ring, Text(Start), Text(seed), Text(ByteCount));

        var pattern = new PatternBytes(seed);
        byte[] data = new byte[ByteCount];
        for (int k = 0; k < data.Length; k++)
        {
            data[k] = pattern.Next();
        }

        var sizes = new Random((int)seed);
        var wait = new PeerWait(peer, $"room in {ring}[]");
        int sent = 0;
        while (sent < ByteCount)
        {
            int chunk = Math.Min(sizes.Next(1, 3001), ByteCount - sent);
            int count = write(page.GetSpan(), data.AsSpan(sent, chunk));
            if (count == 0)
            {
                wait.Nap();
                continue;
            }

            sent += count;
            wait.Progressed();
        }

        string[] done = RingPeerFixture.Finish(peer);
        string hash = PeerPattern.Fnv1a(PeerPattern.FnvOffsetBasis, data).ToString("x8", CultureInfo.InvariantCulture);
        Assert.Equal([Text(ByteCount), hash, Text(unchecked(Start + ByteCount))], done[1..]);
        Assert.Equal(unchecked(Start + (uint)ByteCount), ourIndex(page.GetSpan()));
    }

    private static string Text(ulong value) => value.ToString(CultureInfo.InvariantCulture);

    private static string Text(long value) => value.ToString(CultureInfo.InvariantCulture);
}
