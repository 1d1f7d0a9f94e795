using System.Buffers;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Wire;

/// <summary>Messages compared byte for byte with the golden examples of the protocol facts.</summary>
public class GoldenBytesTests
{
    private static string Hex(Action<ArrayBufferWriter<byte>> build)
    {
        var w = new ArrayBufferWriter<byte>();
        build(w);
        return Convert.ToHexString(w.WrittenSpan).ToLowerInvariant();
    }

    [Fact]
    public void READ_of_a_path_in_transaction_6() =>
        Assert.Equal("02000000" + "00000000" + "06000000" + "07000000" + "2f612f622f6300",
            Hex(w => XsMessageWriter.Write(w, XsMessageType.Read, 0, 6, ["/a/b/c"])));

    [Fact]
    public void WRITE_of_a_value_has_no_trailing_NUL() =>
        Assert.Equal("0b000000" + "00000000" + "01000000" + "0a000000" + "2f6b6579" + "00" + "76616c7565",
            Hex(w => XsMessageWriter.Write(w, XsMessageType.Write, 0, 1, ["/key"], "value"u8)));

    [Fact]
    public void TRANSACTION_END_commit() =>
        Assert.Equal("07000000" + "00000000" + "01000000" + "02000000" + "5400",
            Hex(w => XsMessageWriter.Write(w, XsMessageType.TransactionEnd, 0, 1, ["T"])));

    [Fact]
    public void WATCH_with_a_token() =>
        Assert.Equal("04000000" + "00000000" + "00000000" + "13000000" + "2f666f6f2f62617200" + "736f6d657468696e6700",
            Hex(w => XsMessageWriter.Write(w, XsMessageType.Watch, 0, 0, ["/foo/bar", "something"])));

    [Fact]
    public void TRANSACTION_START_is_a_lone_NUL() =>
        Assert.Equal("06000000" + "07000000" + "00000000" + "01000000" + "00",
            Hex(w => XsMessageWriter.Write(w, XsMessageType.TransactionStart, 7, 0, [""])));

    [Fact]
    public void The_header_reads_back_every_field_little_endian()
    {
        byte[] bytes = Convert.FromHexString("0b000000" + "2a000000" + "01000000" + "0a000000");
        Assert.True(XsHeader.TryRead(bytes, out XsHeader h));
        Assert.Equal(new XsHeader(XsMessageType.Write, 42, 1, 10), h);
        Assert.False(XsHeader.TryRead(bytes.AsSpan(0, 15), out _));
    }

    [Fact]
    public void Message_type_numbers_are_those_of_xs_wire_h()
    {
        Assert.Equal(0u, (uint)XsMessageType.Control);
        Assert.Equal(15u, (uint)XsMessageType.WatchEvent);
        Assert.Equal(16u, (uint)XsMessageType.Error);
        Assert.Equal(20u, (uint)XsMessageType.Invalid);
        Assert.Equal(21u, (uint)XsMessageType.ResetWatches);
        Assert.Equal(22u, (uint)XsMessageType.DirectoryPart);
        Assert.Equal(26u, (uint)XsMessageType.SetQuota);
        Assert.Equal(128u, (uint)XsMessageType.Restrict);
    }

    [Fact]
    public void A_payload_over_4096_bytes_is_refused_before_anything_is_written()
    {
        var w = new ArrayBufferWriter<byte>();
        var e = Assert.Throws<ArgumentException>(() => XsMessageWriter.Write(w, XsMessageType.Write, 0, 0, ["/k"], new byte[4094]));
        Assert.Contains("4096", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, w.WrittenCount);
        XsMessageWriter.Write(w, XsMessageType.Write, 0, 0, ["/k"], new byte[4093]); // exactly 4096
        Assert.Equal(16 + 4096, w.WrittenCount);
    }

    [Fact]
    public void An_argument_with_a_NUL_is_refused()
    {
        var w = new ArrayBufferWriter<byte>();
        Assert.Throws<ArgumentException>(() => XsMessageWriter.Write(w, XsMessageType.Read, 0, 0, ["/a\0b"]));
        Assert.Equal(0, w.WrittenCount);
    }
}
