using FsCheck;
using FsCheck.Fluent;
using Xen.Blktap.Model;

namespace Xen.Blktap.Tests.Model;

public class DeviceClassTests
{
    [Theory]
    [InlineData("tap:aio:/a", true, DeviceClass.Tap2)]
    [InlineData("tap:ram:/a", true, DeviceClass.Tap2)]
    [InlineData("tap:qcow:/a", true, DeviceClass.Tap2)]
    [InlineData("tap:vhd:/a", true, DeviceClass.Tap2)]
    [InlineData("tap2:vhd:/a", true, DeviceClass.Tap2)]
    [InlineData("tap:sync:/a", true, DeviceClass.Tap)]
    [InlineData("tap:qcow2:/a", true, DeviceClass.Tap)]
    [InlineData("tap:vmdk:/a", true, DeviceClass.Tap)]
    [InlineData("tap:ioemu:/a", true, DeviceClass.Tap)]
    [InlineData("tap:aio:/a", false, DeviceClass.Tap)]
    [InlineData("tap2:vhd:/a", false, DeviceClass.Tap)]
    [InlineData("phy:/dev/sda", true, DeviceClass.Vbd)]
    [InlineData("file:/a", false, DeviceClass.Vbd)]
    public void Blktap2_only_for_its_drivers_and_only_when_the_driver_is_loaded(string spec, bool present, DeviceClass expected) =>
        Assert.Equal(expected, DeviceClasses.Choose(DiskSpec.Parse(spec), present));

    [Fact]
    public void The_rule_is_tap2_exactly_when_driver_is_aio_ram_qcow_or_vhd_and_blktap2_is_present()
    {
        Gen<string> driver = Gen.Elements([.. TapDrivers.Known, "bogus"]);
        Prop.ForAll(driver.ToArbitrary(), ArbMap.Default.ArbFor<bool>(), (d, present) =>
        {
            DeviceClass chosen = DeviceClasses.Choose(DiskSpec.Parse($"tap:{d}:/x"), present);
            bool tap2 = present && d is "aio" or "ram" or "qcow" or "vhd" && present;
            Assert.Equal(tap2 ? DeviceClass.Tap2 : DeviceClass.Tap, chosen);
        }).QuickCheckThrowOnFailure();
    }

    [Fact]
    public void A_tap2_device_is_served_by_a_vbd_backend_and_recorded_under_tap2()
    {
        var domain = new BlktapDomain(7, "0a1b-2c");
        Assert.Equal("/vm/0a1b-2c/device/tap2/51712", domain.VmDevicePath(DeviceClass.Tap2, 51712));
        Assert.Equal("/local/domain/0/backend/vbd/7/51712", domain.BackendPath(DeviceClass.Tap2, 51712));
        Assert.Equal("/local/domain/0/backend/vbd/7/51712", domain.BackendPath(DeviceClass.Vbd, 51712));
        Assert.Equal("/local/domain/0/backend/tap/7/51712", domain.BackendPath(DeviceClass.Tap, 51712));
        Assert.Equal("/local/domain/7/device/vbd/51712", domain.FrontendPath(51712));
        var driverDomain = new BlktapDomain(7, "u", backendDomainId: 3);
        Assert.Equal("/local/domain/3/backend/vbd/7/768", driverDomain.BackendPath(DeviceClass.Tap2, 768));
    }

    [Theory]
    [InlineData("")]
    [InlineData("a/b")]
    [InlineData("a b")]
    public void A_vm_uuid_that_would_break_paths_is_refused(string uuid) =>
        Assert.ThrowsAny<ArgumentException>(() => new BlktapDomain(1, uuid));

    [Fact]
    public void Class_names_parse_back()
    {
        foreach (DeviceClass c in DeviceClasses.All)
        {
            Assert.True(DeviceClasses.TryParse(c.Name(), out DeviceClass? parsed));
            Assert.Equal(c, parsed);
        }

        Assert.False(DeviceClasses.TryParse("vif", out _));
    }
}
