using FsCheck;
using FsCheck.Fluent;
using Xen.Blktap.Model;

namespace Xen.Blktap.Tests.Model;

public class DiskSpecTests
{
    [Theory]
    [InlineData("tap:aio:/images/a.img", DiskKind.Tap, "aio", "/images/a.img")]
    [InlineData("tap:vhd:/images/a.vhd", DiskKind.Tap, "vhd", "/images/a.vhd")]
    [InlineData("tap2:qcow:/q.qcow", DiskKind.Tap2, "qcow", "/q.qcow")]
    [InlineData("phy:/dev/vg0/disk", DiskKind.Phy, null, "/dev/vg0/disk")]
    [InlineData("phy:sda7", DiskKind.Phy, null, "sda7")]
    [InlineData("file:/srv/x.img", DiskKind.File, null, "/srv/x.img")]
    [InlineData("tap:aio:/odd:name.img", DiskKind.Tap, "aio", "/odd:name.img")]
    public void Parses_the_specs_toolstacks_write(string text, DiskKind kind, string? driver, string path)
    {
        DiskSpec spec = DiskSpec.Parse(text);
        Assert.Equal(kind, spec.Kind);
        Assert.Equal(driver, spec.Driver);
        Assert.Equal(path, spec.Path);
        Assert.Equal(text, spec.ToString());
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("/images/a.img", "no prefix")]
    [InlineData("nbd:host:1", "unknown prefix 'nbd:'")]
    [InlineData("tap:/images/a.img", "names no tap driver")]
    [InlineData("tap:aio", "names no tap driver")]
    [InlineData("tap:aio:", "empty path")]
    [InlineData("phy:", "empty path")]
    [InlineData("tap2::/x", "malformed tap driver ''")]
    [InlineData("file:/a\nb", "control character")]
    public void Malformed_specs_fail_with_a_message_saying_what_is_wrong(string text, string expected)
    {
        var e = Assert.Throws<FormatException>(() => DiskSpec.Parse(text));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.False(DiskSpec.TryParse(text, out _, out string? error));
        Assert.Equal(e.Message, error);
    }

    [Fact]
    public void Tap_arguments_are_driver_colon_file_and_only_for_tap_specs()
    {
        Assert.Equal("vhd:/a.vhd", DiskSpec.Parse("tap2:vhd:/a.vhd").TapArguments);
        Assert.Throws<InvalidOperationException>(() => DiskSpec.Parse("phy:/dev/sda").TapArguments);
    }

    [Fact]
    public void Every_well_formed_spec_prints_back_to_itself()
    {
        Gen<string> word = Gen.Elements("abcxyz019_-./:".ToCharArray()).ArrayOf().Where(a => a.Length is > 0 and < 12).Select(a => new string(a));
        Gen<string> driver = Gen.Elements("aio", "vhd", "ram", "qcow", "sync", "x-y_1");
        Gen<string> text =
            from kind in Gen.Elements("phy", "file", "tap", "tap2")
            from d in driver
            from path in word
            select kind.StartsWith("tap", StringComparison.Ordinal) ? $"{kind}:{d}:{path}" : $"{kind}:{path}";
        Prop.ForAll(text.ToArbitrary(), t =>
        {
            DiskSpec spec = DiskSpec.Parse(t);
            Assert.Equal(t, spec.ToString());
            Assert.Equal(spec, DiskSpec.Parse(spec.ToString()));
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }
}
