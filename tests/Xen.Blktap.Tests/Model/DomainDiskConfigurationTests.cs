using FsCheck;
using FsCheck.Fluent;
using Xen.Blktap.Model;

namespace Xen.Blktap.Tests.Model;

public class DomainDiskConfigurationTests
{
    [Fact]
    public void An_unknown_tap_driver_is_refused_naming_the_allowed_list()
    {
        var e = Assert.Throws<BlktapConfigurationException>(() =>
            DomainDiskConfiguration.Validate([DiskEntry.Parse("tap:raw:/a.img", "xvda")]));
        Assert.Contains("tap:raw is not a valid disk type", e.Message, StringComparison.Ordinal);
        Assert.Contains("aio, sync, vmdk, ram, qcow, qcow2, vhd, ioemu, tapdisk", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_virtual_device_twice_is_refused_even_when_spelled_differently()
    {
        var e = Assert.Throws<BlktapConfigurationException>(() =>
            DomainDiskConfiguration.Validate([DiskEntry.Parse("tap:aio:/a.img", "xvda"), DiskEntry.Parse("phy:/dev/sdb", "51712")]));
        Assert.Contains("virtual device 51712", e.Message, StringComparison.Ordinal);
        Assert.Contains("already used by tap:aio:/a.img (xvda)", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_same_backing_file_twice_is_refused_whatever_the_driver()
    {
        var e = Assert.Throws<BlktapConfigurationException>(() =>
            DomainDiskConfiguration.Validate([DiskEntry.Parse("tap:aio:/a.img", "xvda"), DiskEntry.Parse("tap:vhd:/a.img", "xvdb", "r")]));
        Assert.Contains("the file /a.img is already used by xvda", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void The_first_disk_becomes_bootable_when_none_is_and_the_rest_are_not()
    {
        DomainDiskConfiguration c = DomainDiskConfiguration.Validate([DiskEntry.Parse("tap:aio:/a", "xvdb"), DiskEntry.Parse("phy:/dev/b", "xvda")]);
        Assert.Equal([true, false], c.Disks.Select(d => d.Bootable == true));
    }

    [Fact]
    public void A_disk_marked_bootable_stays_the_only_bootable_one()
    {
        DomainDiskConfiguration c = DomainDiskConfiguration.Validate(
            [DiskEntry.Parse("tap:aio:/a", "xvda"), new DiskEntry(DiskSpec.Parse("phy:/dev/b"), "xvdb", bootable: true)]);
        Assert.Equal([false, true], c.Disks.Select(d => d.Bootable == true));
    }

    [Fact]
    public void Stopped_domain_class_comes_from_configuration()
    {
        DomainDiskConfiguration c = DomainDiskConfiguration.Validate([DiskEntry.Parse("tap:aio:/a", "xvda"), DiskEntry.Parse("phy:/dev/b", "hda")]);
        Assert.Equal(DeviceClass.Tap2, Xen.Blktap.Lifecycle.BlktapDeviceManager.GetDeviceClass(c, 51712));
        Assert.Equal(DeviceClass.Vbd, Xen.Blktap.Lifecycle.BlktapDeviceManager.GetDeviceClass(c, 768));
        Assert.Null(Xen.Blktap.Lifecycle.BlktapDeviceManager.GetDeviceClass(c, 832));
    }

    [Theory]
    [InlineData("tap:aio:/a,xvda,w", true)]
    [InlineData("phy:/dev/b,hdb,r", true)]
    [InlineData("phy:/dev/b,hdb", true)]
    [InlineData("phy:/dev/b,hdb,rw", false)]
    [InlineData("phy:/dev/b", false)]
    [InlineData("bad,xvda", false)]
    [InlineData("phy:/dev/b,vda", false)]
    public void Disk_lines_parse(string line, bool ok) => Assert.Equal(ok, DiskEntry.TryParse(line, out _, out _));

    [Fact]
    public void Validation_accepts_exactly_the_configurations_with_known_drivers_and_no_shared_device_or_file()
    {
        Gen<DiskEntry> disk =
            from driver in Gen.Elements("aio", "vhd", "sync", "bogus")
            from kind in Gen.Elements("tap", "phy")
            from file in Gen.Elements("/a", "/b", "/c", "/d", "/e")
            from vdev in Gen.Elements("xvda", "xvdb", "hda", "sda", "51712", "xvdc1")
            select DiskEntry.Parse(kind == "tap" ? $"tap:{driver}:{file}" : $"phy:{file}", vdev);
        Prop.ForAll(disk.ListOf().Where(l => l.Count < 5).ToArbitrary(), disks =>
        {
            bool valid = disks.All(d => !d.Spec.IsTap || TapDrivers.IsKnown(d.Spec.Driver))
                && disks.Select(d => d.DeviceNumber).Distinct().Count() == disks.Count
                && disks.Select(d => d.Spec.Path).Distinct().Count() == disks.Count;
            try
            {
                DomainDiskConfiguration c = DomainDiskConfiguration.Validate(disks);
                Assert.True(valid);
                Assert.Equal(disks.Count == 0 ? 0 : 1, c.Disks.Count(d => d.Bootable == true));
            }
            catch (BlktapConfigurationException)
            {
                Assert.False(valid);
            }
        }).Check(Config.QuickThrowOnFailure.WithMaxTest(300));
    }
}
