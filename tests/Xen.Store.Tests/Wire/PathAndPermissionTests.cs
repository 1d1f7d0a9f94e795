using Xen.Store.Wire;

namespace Xen.Store.Tests.Wire;

public class PathAndPermissionTests
{
    [Theory]
    [InlineData("/")]
    [InlineData("/local/domain/0")]
    [InlineData("device/vbd/51712")]
    [InlineData("/a-b_c/D9")]
    [InlineData("/tool/x@y")]
    public void Valid_paths_pass(string path) => Assert.True(XsPath.IsValid(path, false, out _));

    [Theory]
    [InlineData("", "empty")]
    [InlineData("/a//b", "//")]
    [InlineData("/a/", "ends with")]
    [InlineData("/a b", "outside")]
    [InlineData("/a\u00e9", "outside")]
    [InlineData("@introduceDomain", "only for watches")]
    public void Invalid_paths_fail_with_the_reason(string path, string reason)
    {
        Assert.False(XsPath.IsValid(path, false, out string? why));
        Assert.Contains(reason, why, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>(() => XsPath.Validate(path));
    }

    [Theory]
    [InlineData("@introduceDomain", true)]
    [InlineData("@releaseDomain", true)]
    [InlineData("@releaseDomain/7", true)]
    [InlineData("@releaseDomain/x", false)]
    [InlineData("@introduceDomain/7", true)]
    [InlineData("@introduceDomain/", false)]
    [InlineData("@releaseDomainX/7", false)]
    [InlineData("@other", false)]
    public void Special_watch_paths(string path, bool valid) => Assert.Equal(valid, XsPath.IsValid(path, true, out _));

    [Fact]
    public void Length_limits_are_3072_absolute_and_2048_relative()
    {
        Assert.True(XsPath.IsValid("/" + new string('a', 3071), false, out _));
        Assert.False(XsPath.IsValid("/" + new string('a', 3072), false, out _));
        Assert.True(XsPath.IsValid(new string('a', 2048), false, out _));
        Assert.False(XsPath.IsValid(new string('a', 2049), false, out _));
    }

    [Fact]
    public void Relative_paths_resolve_under_the_domain_home()
    {
        Assert.Equal("/local/domain/5/device/vbd", XsPath.Resolve("device/vbd", 5));
        Assert.Equal("/vm/x", XsPath.Resolve("/vm/x", 5));
        Assert.Equal("@releaseDomain", XsPath.Resolve("@releaseDomain", 5));
    }

    [Fact]
    public void Parent_and_subtree_tests()
    {
        Assert.Equal("/a", XsPath.Parent("/a/b"));
        Assert.Equal("/", XsPath.Parent("/a"));
        Assert.Null(XsPath.Parent("/"));
        Assert.True(XsPath.IsAtOrBelow("/a/b", "/a"));
        Assert.True(XsPath.IsAtOrBelow("/a", "/a"));
        Assert.False(XsPath.IsAtOrBelow("/ab", "/a"));
        Assert.True(XsPath.IsAtOrBelow("/x", "/"));
    }

    [Theory]
    [InlineData("n0", XsAccess.None, 0)]
    [InlineData("r5", XsAccess.Read, 5)]
    [InlineData("w65535", XsAccess.Write, 65535)]
    [InlineData("b32757", XsAccess.Both, 0x7FF5)]
    public void Permissions_parse_and_format(string text, XsAccess access, int domid)
    {
        XsPermission p = XsPermission.Parse(text);
        Assert.Equal(new XsPermission(access, (ushort)domid), p);
        Assert.Equal(text, p.ToString());
    }

    [Theory]
    [InlineData("")]
    [InlineData("r")]
    [InlineData("x1")]
    [InlineData("R1")]
    [InlineData("r-1")]
    [InlineData("r+1")]
    [InlineData("r65536")]
    [InlineData("r 1")]
    [InlineData("r1x")]
    public void Malformed_permissions_are_refused(string text)
    {
        Assert.False(XsPermission.TryParse(text, out _));
        Assert.Throws<FormatException>(() => XsPermission.Parse(text));
    }
}
