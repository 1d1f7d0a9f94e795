using System.Buffers;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Wire;

public class FrameReaderTests
{
    private static byte[] Stream(params (XsMessageType Type, uint ReqId, string[] Args, byte[] Tail)[] messages)
    {
        var w = new ArrayBufferWriter<byte>();
        foreach (var m in messages)
        {
            XsMessageWriter.Write(w, m.Type, m.ReqId, 0, m.Args, m.Tail);
        }

        return w.WrittenSpan.ToArray();
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory) => Memory = memory;

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory) { RunningIndex = RunningIndex + Memory.Length };
            Next = next;
            return next;
        }
    }

    private static ReadOnlySequence<byte> Split(byte[] data, params int[] cuts)
    {
        var first = new Segment(data.AsMemory(0, cuts.Length == 0 ? data.Length : cuts[0]));
        Segment last = first;
        for (int i = 0; i < cuts.Length; i++)
        {
            int end = i + 1 < cuts.Length ? cuts[i + 1] : data.Length;
            last = last.Append(data.AsMemory(cuts[i], end - cuts[i]));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    [Fact]
    public void Every_split_point_of_two_back_to_back_messages_yields_the_same_two_frames()
    {
        byte[] data = Stream(
            (XsMessageType.WatchEvent, 0, ["/local/domain/5/device", "tok"], []),
            (XsMessageType.Read, 9, [], "value-bytes"u8.ToArray()));
        for (int cut = 0; cut <= data.Length; cut++)
        {
            for (int cut2 = cut; cut2 <= data.Length; cut2 += 7)
            {
                ReadOnlySequence<byte> seq = Split(data, cut, cut2);
                Assert.Equal(XsFrameStatus.Frame, XsFrameReader.Take(ref seq, out XsHeader h1, out ReadOnlySequence<byte> p1));
                Assert.Equal(XsMessageType.WatchEvent, h1.Type);
                Assert.Equal(("/local/domain/5/device", "tok"), XsPayload.WatchEvent(p1.ToArray()));
                Assert.Equal(XsFrameStatus.Frame, XsFrameReader.Take(ref seq, out XsHeader h2, out ReadOnlySequence<byte> p2));
                Assert.Equal(9u, h2.RequestId);
                Assert.Equal("value-bytes"u8.ToArray(), p2.ToArray());
                Assert.True(seq.IsEmpty);
            }
        }
    }

    [Fact]
    public void An_incomplete_message_is_left_in_the_buffer_at_every_length()
    {
        byte[] data = Stream((XsMessageType.Read, 1, ["/some/path"], []));
        for (int len = 0; len < data.Length; len++)
        {
            var seq = new ReadOnlySequence<byte>(data, 0, len);
            Assert.Equal(XsFrameStatus.NeedMore, XsFrameReader.Take(ref seq, out _, out _));
            Assert.Equal(len, seq.Length);
            Assert.Equal(len < 16 ? 16 - len : data.Length - len, XsFrameReader.BytesNeeded(data.AsSpan(0, len))); // the header first, then the payload it announces
        }
    }

    [Fact]
    public void A_header_announcing_more_than_4096_bytes_is_oversized_before_the_payload_arrives()
    {
        byte[] header = new byte[16];
        new XsHeader(XsMessageType.Read, 1, 0, 4097).Write(header);
        var seq = new ReadOnlySequence<byte>(header);
        Assert.Equal(XsFrameStatus.Oversized, XsFrameReader.Take(ref seq, out XsHeader h, out _));
        Assert.Equal(4097u, h.Length);
        Assert.Equal(16, seq.Length);
        Assert.Equal(XsFrameStatus.Oversized, XsFrameReader.Read(header, out _));
        Assert.Equal(-1, XsFrameReader.BytesNeeded(header));
    }

    [Fact]
    public void A_payload_of_exactly_4096_bytes_is_a_frame()
    {
        byte[] message = new byte[16 + 4096];
        new XsHeader(XsMessageType.Write, 1, 0, 4096).Write(message);
        Assert.Equal(XsFrameStatus.NeedMore, XsFrameReader.Read(message.AsSpan(0, 16 + 4095), out _));
        Assert.Equal(XsFrameStatus.Frame, XsFrameReader.Read(message, out XsHeader h));
        Assert.Equal(16 + 4096, h.FrameLength);
    }
}
