using Xen.Store.Wire;

namespace Xen.Store.Tests.Wire;

public class PayloadTests
{
    [Fact]
    public void An_empty_DIRECTORY_reply_is_no_children_not_one_empty_name() =>
        Assert.Empty(XsPayload.Strings([]));

    [Fact]
    public void DIRECTORY_children_are_split_on_NUL() =>
        Assert.Equal(["a", "bb", "c"], XsPayload.Strings("a\0bb\0c\0"u8));

    [Fact]
    public void DIRECTORY_PART_chunks_report_generation_byte_count_and_the_last_chunk()
    {
        string[] first = XsPayload.DirectoryPart("17\0alpha\0beta\0"u8, out string gen, out int bytes, out bool last);
        Assert.Equal(["alpha", "beta"], first);
        Assert.Equal("17", gen);
        Assert.Equal(11, bytes);
        Assert.False(last);

        string[] final = XsPayload.DirectoryPart("17\0gamma\0\0"u8, out _, out bytes, out last);
        Assert.Equal(["gamma"], final);
        Assert.Equal(6, bytes);
        Assert.True(last);

        Assert.Empty(XsPayload.DirectoryPart("17\0\0"u8, out _, out _, out last));
        Assert.True(last);
        Assert.Throws<XenStoreProtocolException>(() => XsPayload.DirectoryPart("\0a\0"u8, out _, out _, out _));
    }

    [Fact]
    public void Transaction_ids_are_decimal_text()
    {
        Assert.Equal(4242u, XsPayload.TransactionId("4242\0"u8));
        Assert.Throws<XenStoreProtocolException>(() => XsPayload.TransactionId("x1\0"u8));
        Assert.Throws<XenStoreProtocolException>(() => XsPayload.TransactionId("0\0"u8));
    }

    [Fact]
    public void OK_and_boolean_replies_are_checked()
    {
        XsPayload.Ok("OK\0"u8, XsMessageType.Write);
        Assert.Throws<XenStoreProtocolException>(() => XsPayload.Ok("NO\0"u8, XsMessageType.Write));
        Assert.True(XsPayload.Boolean("T\0"u8, XsMessageType.IsDomainIntroduced));
        Assert.False(XsPayload.Boolean("F\0"u8, XsMessageType.IsDomainIntroduced));
        Assert.Throws<XenStoreProtocolException>(() => XsPayload.Boolean("Y\0"u8, XsMessageType.IsDomainIntroduced));
    }

    [Fact]
    public void GET_PERMS_replies_parse_strictly()
    {
        Assert.Equal([new XsPermission(XsAccess.None, 0), new XsPermission(XsAccess.Read, 5)], XsPayload.Permissions("n0\0r5\0"u8));
        Assert.Throws<XenStoreProtocolException>(() => XsPayload.Permissions("x0\0"u8));
        Assert.Throws<XenStoreProtocolException>(() => XsPayload.Permissions([]));
    }

    [Theory]
    [InlineData("EINVAL", XsError.EINVAL)]
    [InlineData("ENOENT", XsError.ENOENT)]
    [InlineData("EAGAIN", XsError.EAGAIN)]
    [InlineData("E2BIG", XsError.E2BIG)]
    [InlineData("EPERM", XsError.EPERM)]
    [InlineData("EQUOTA", XsError.Unknown)]
    [InlineData("", XsError.Unknown)]
    public void Error_strings_map_to_the_standard_errors_and_unknown_ones_are_kept(string raw, XsError expected)
    {
        var e = new XenStoreErrorException(raw, "READ /x");
        Assert.Equal(expected, e.Error);
        Assert.Equal(raw, e.RawError);
        Assert.Contains(raw, e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_standard_errors_come_in_xs_wire_h_order_and_round_trip_by_name()
    {
        Assert.Equal(
            ["EINVAL", "EACCES", "EEXIST", "EISDIR", "ENOENT", "ENOMEM", "ENOSPC", "EIO", "ENOTEMPTY", "ENOSYS", "EROFS", "EBUSY", "EAGAIN", "EISCONN", "E2BIG", "EPERM"],
            XsErrors.All.Select(XsErrors.Name));
        Assert.All(XsErrors.All, e => Assert.Equal(e, XsErrors.Parse(XsErrors.Name(e))));
    }
}
