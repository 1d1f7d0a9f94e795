using FsCheck;
using FsCheck.Fluent;
using Xen.Blktap.Model;

namespace Xen.Blktap.Tests.Model;

public class VirtualDeviceTests
{
    [Theory]
    [InlineData("xvda", 51712)]
    [InlineData("xvda1", 51713)]
    [InlineData("xvdb", 51728)]
    [InlineData("xvdp15", (202 << 8) | (15 << 4) | 15)]
    [InlineData("xvdq", (1 << 28) | (16 << 8))]
    [InlineData("xvda16", (1 << 28) | 16)]
    [InlineData("xvdaa", (1 << 28) | (26 << 8))]
    [InlineData("xvdzz255", (1 << 28) | (701 << 8) | 255)]
    [InlineData("hda", 768)]
    [InlineData("hda1", 769)]
    [InlineData("hdb", 832)]
    [InlineData("hdc", 5632)]
    [InlineData("hdd63", 5696 + 63)]
    [InlineData("sda", 2048)]
    [InlineData("sdb1", 2065)]
    [InlineData("sdp", 2048 + (15 << 4))]
    [InlineData("d0p0", 51712)]
    [InlineData("d16p2", (1 << 28) | (16 << 8) | 2)]
    [InlineData("51712", 51712)]
    public void Names_map_to_the_numbers_Xen_uses(string name, int number)
    {
        Assert.Equal(number, VirtualDevice.ToNumber(name));
    }

    [Theory]
    [InlineData("", "empty")]
    [InlineData("xvd", "names no disk")]
    [InlineData("xvda0", "bad partition")]
    [InlineData("xvda01", "bad partition")]
    [InlineData("xvda256", "bad partition")]
    [InlineData("hde", "disk beyond")]
    [InlineData("hda64", "bad partition")]
    [InlineData("sdq", "disk beyond")]
    [InlineData("sda16", "bad partition")]
    [InlineData("vda", "unknown prefix")]
    [InlineData("XVDA", "unknown prefix")]
    [InlineData("0123", "not a device number")]
    [InlineData("0", "not a device number")]
    [InlineData("d1p", "d<disk>p<partition>")]
    [InlineData("d1048576p0", "d<disk>p<partition>")]
    public void Bad_names_are_refused_with_a_reason(string name, string expected)
    {
        var e = Assert.Throws<FormatException>(() => VirtualDevice.ToNumber(name));
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(51712, "xvda")]
    [InlineData(51713, "xvda1")]
    [InlineData(768, "hda")]
    [InlineData(5696, "hdd")]
    [InlineData(2065, "sdb1")]
    [InlineData((1 << 28) | (16 << 8), "xvdq")]
    public void Numbers_map_back_to_canonical_names(int number, string name) => Assert.Equal(name, VirtualDevice.ToName(number));

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(1 << 29)]
    [InlineData(65 << 8)]
    [InlineData((3 << 8) | 128)]
    public void Numbers_outside_every_scheme_have_no_name(int number) => Assert.Null(VirtualDevice.ToName(number));

    [Fact]
    public void Disk_letters_are_bijective_base_26()
    {
        Assert.Equal("a", VirtualDevice.DiskLetters(0));
        Assert.Equal("z", VirtualDevice.DiskLetters(25));
        Assert.Equal("aa", VirtualDevice.DiskLetters(26));
        Assert.Equal("az", VirtualDevice.DiskLetters(51));
        Assert.Equal("ba", VirtualDevice.DiskLetters(52));
        Assert.Equal("zz", VirtualDevice.DiskLetters(701));
        Assert.Equal("aaa", VirtualDevice.DiskLetters(702));
    }

    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(500);

    private static Gen<string> Names =>
        Gen.OneOf(
            from disk in Gen.Choose(0, VirtualDevice.ExtendedDiskMax)
            from partition in Gen.Choose(0, 255)
            select Name("xvd", disk, partition),
            from disk in Gen.Choose(0, 40)
            from partition in Gen.Choose(0, 20)
            select Name("xvd", disk, partition),
            from disk in Gen.Choose(0, 3)
            from partition in Gen.Choose(0, 63)
            select Name("hd", disk, partition),
            from disk in Gen.Choose(0, 15)
            from partition in Gen.Choose(0, 15)
            select Name("sd", disk, partition));

    private static string Name(string prefix, int disk, int partition) =>
        prefix + VirtualDevice.DiskLetters(disk) + (partition == 0 ? string.Empty : partition.ToString(System.Globalization.CultureInfo.InvariantCulture));

    [Fact]
    public void Every_canonical_name_round_trips_through_its_number() =>
        Prop.ForAll(Names.ToArbitrary(), name => Assert.Equal(name, VirtualDevice.ToName(VirtualDevice.ToNumber(name)))).Check(Config);

    [Fact]
    public void Every_named_number_round_trips_through_its_name()
    {
        Gen<int> numbers = Gen.OneOf(Gen.Choose(0, 0xFFFF), Gen.Choose(1 << 28, (1 << 29) - 1), Gen.Choose(-10, int.MaxValue));
        Prop.ForAll(numbers.ToArbitrary(), number =>
        {
            string? name = VirtualDevice.ToName(number);
            if (name is not null)
            {
                int back = VirtualDevice.ToNumber(name);
                // The extended encoding of a small disk has the short form as its canonical number.
                bool shortForm = (number & VirtualDevice.ExtendedFlag) != 0 && ((number >> 8) & 0xFFFFF) <= 15 && (number & 0xFF) <= 15;
                Assert.Equal(shortForm ? (202 << 8) | (((number >> 8) & 0xF) << 4) | (number & 0xF) : number, back);
            }
        }).Check(Config);
    }

    [Fact]
    public void Distinct_names_never_share_a_number()
    {
        Prop.ForAll(Names.ToArbitrary(), Names.ToArbitrary(), (a, b) =>
            Assert.Equal(a == b, VirtualDevice.ToNumber(a) == VirtualDevice.ToNumber(b))).Check(Config);
    }
}
