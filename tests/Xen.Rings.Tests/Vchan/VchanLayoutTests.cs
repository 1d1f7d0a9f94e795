using FsCheck;
using FsCheck.Fluent;
using Xen.Rings.Tests.Properties;
using Xen.Rings.Vchan;

namespace Xen.Rings.Tests.Vchan;

public class VchanLayoutTests
{
    /// <summary>
    /// What <c>libxenvchan_server_init</c> (tools/libs/vchan/init.c) picks: min_order of each size (at least 12),
    /// replaced by the in-page orders 10 and 11 when both rings fit in the page, or by 11 for one ring that fits.
    /// </summary>
    public static TheoryData<int, int, int, int> ServerInitOrders => new()
    {
        { 0, 0, 10, 11 },
        { 1024, 2048, 10, 11 },
        { 1024, 1025, 10, 11 },
        { 1025, 1024, 11, 10 },
        { 2048, 1024, 11, 10 },
        { 2048, 2048, 11, 12 },
        { 2049, 2048, 12, 11 },
        { 4096, 1024, 12, 11 },
        { 4097, 4097, 13, 13 },
        { 2048, 5000, 11, 13 },
        { 65536, 131072, 16, 17 },
        { 65537, 131073, 17, 18 },
        { 0, 1 << 20, 11, 20 },
        { 1 << 20, 0, 20, 11 },
        { 1 << 20, 1 << 20, 20, 20 },
    };

    [Theory]
    [MemberData(nameof(ServerInitOrders))]
    public void ChooseOrders_picks_the_orders_libxenvchan_server_init_picks(int leftMin, int rightMin, int left, int right) =>
        Assert.Equal((left, right), VchanLayout.ChooseOrders(leftMin, rightMin));

    [Theory]
    [InlineData(-1, 0)]
    [InlineData(0, -1)]
    [InlineData((1 << 20) + 1, 0)]
    [InlineData(0, (1 << 20) + 1)]
    [InlineData(int.MaxValue, int.MaxValue)]
    public void ChooseOrders_refuses_a_size_below_0_or_above_1_MiB(int leftMin, int rightMin) =>
        Assert.Throws<ArgumentOutOfRangeException>(() => VchanLayout.ChooseOrders(leftMin, rightMin));

    [Fact]
    public void ChooseOrders_gives_a_valid_pair_of_rings_at_least_as_large_as_asked_and_no_page_larger_than_needed()
    {
        Gen<int> size = Gen.Frequency(
            (2, Gen.Choose(0, 4096)),
            (2, Gen.Choose(0, 20).Select(bit => 1 << bit)),
            (2, Gen.Choose(0, 20).SelectMany(bit => Gen.Choose(-1, 1).Select(d => Math.Clamp((1 << bit) + d, 0, VchanLayout.MaxRingSize)))),
            (1, Gen.Choose(0, VchanLayout.MaxRingSize)));
        Check.One(PropertyRuns.Cases(2000), Prop.ForAll(Arb.From(size), Arb.From(size), (leftMin, rightMin) =>
        {
            (int left, int right) = VchanLayout.ChooseOrders(leftMin, rightMin);
            Expect.True(VchanLayout.IsValidOrderPair(left, right), $"({left}, {right}) is a valid pair");
            Expect.True(1 << left >= leftMin && 1 << right >= rightMin, $"({left}, {right}) holds ({leftMin}, {rightMin})");

            // A ring with pages of its own has the fewest that hold it; both fit in the page whenever they can.
            Expect.True(left <= VchanLayout.PageOrder || 1 << (left - 1) < leftMin, $"left order {left} is minimal for {leftMin}");
            Expect.True(right <= VchanLayout.PageOrder || 1 << (right - 1) < rightMin, $"right order {right} is minimal for {rightMin}");
            bool bothFitInPage = (leftMin <= 1024 && rightMin <= 2048) || (leftMin <= 2048 && rightMin <= 1024);
            Expect.Equal(bothFitInPage, VchanLayout.PageCount(left) + VchanLayout.PageCount(right) == 0, "both rings in the page");
        }));
    }

    [Theory]
    [InlineData(9, 11)]
    [InlineData(11, 9)]
    [InlineData(21, 12)]
    [InlineData(12, 21)]
    [InlineData(10, 10)]
    [InlineData(11, 11)]
    [InlineData(0, 0)]
    [InlineData(-1, 12)]
    [InlineData(12, 65535)]
    public void IsValidOrderPair_rejects_orders_outside_10_to_20_and_two_rings_in_the_same_place_of_the_page(int left, int right) =>
        Assert.False(VchanLayout.IsValidOrderPair(left, right));

    [Theory]
    [InlineData(10, 11)]
    [InlineData(11, 10)]
    [InlineData(12, 12)]
    [InlineData(10, 20)]
    [InlineData(20, 10)]
    [InlineData(20, 20)]
    [InlineData(11, 12)]
    [InlineData(13, 13)]
    public void IsValidOrderPair_accepts_what_a_libxenvchan_client_accepts(int left, int right) =>
        Assert.True(VchanLayout.IsValidOrderPair(left, right));

    [Theory]
    [InlineData(10, 20, false)] // 256 refs end at byte 1048, inside the order-10 ring at 1024
    [InlineData(20, 10, false)]
    [InlineData(10, 19, true)]  // 128 refs end at 536
    [InlineData(11, 20, true)]  // the order-11 ring starts at 2048
    [InlineData(20, 20, true)]  // 512 refs end at 2072, no ring in the page
    [InlineData(10, 11, true)]
    [InlineData(9, 11, false)]
    public void IsServablePair_also_keeps_the_grant_list_out_of_the_rings_in_the_page(int left, int right, bool servable)
    {
        Assert.Equal(servable, VchanLayout.IsServablePair(left, right));
        var page = new byte[VchanLayout.PageSize];
        if (servable)
        {
            new VchanInterface(page, VchanRole.Server).InitializeServer(left, right);
        }
        else
        {
            Assert.Throws<ArgumentOutOfRangeException>(() => new VchanInterface(page, VchanRole.Server).InitializeServer(left, right));
        }
    }

    [Fact]
    public void Every_pair_ChooseOrders_picks_can_be_served()
    {
        foreach (int left in new[] { 0, 1, 1024, 1025, 2048, 2049, 4096, 65536, 1 << 19, (1 << 19) + 1, 1 << 20 })
        {
            foreach (int right in new[] { 0, 1, 1024, 1025, 2048, 2049, 4096, 65536, 1 << 19, (1 << 19) + 1, 1 << 20 })
            {
                (int l, int r) = VchanLayout.ChooseOrders(left, right);
                Assert.True(VchanLayout.IsServablePair(l, r), $"ChooseOrders({left}, {right}) = ({l}, {r})");
            }
        }
    }

    [Fact]
    public void IsValidOrderPair_is_the_libxenvchan_client_check_for_every_order_from_minus_2_to_25()
    {
        // init.c, init_gnt_cli: each order in SMALL_RING_SHIFT..MAX_RING_SHIFT, and not both the same below PAGE_SHIFT.
        for (int left = -2; left <= 25; left++)
        {
            for (int right = -2; right <= 25; right++)
            {
                bool client = left is >= 10 and <= 20 && right is >= 10 and <= 20 && !(left == right && left < 12);
                Assert.True(client == VchanLayout.IsValidOrderPair(left, right), $"IsValidOrderPair({left}, {right}) should be {client}");
            }
        }
    }

    [Theory]
    [InlineData(10, 0)]
    [InlineData(11, 0)]
    [InlineData(12, 1)]
    [InlineData(13, 2)]
    [InlineData(16, 16)]
    [InlineData(20, 256)]
    public void PageCount_is_0_for_the_in_page_orders_and_2_to_the_order_minus_12_above(int order, int pages) =>
        Assert.Equal(pages, VchanLayout.PageCount(order));

    [Theory]
    [InlineData(10, 1024)]
    [InlineData(11, 2048)]
    [InlineData(12, -1)]
    [InlineData(20, -1)]
    public void InPageOffset_is_1024_for_order_10_2048_for_order_11_and_minus_1_for_a_ring_with_its_own_pages(int order, int offset) =>
        Assert.Equal(offset, VchanLayout.InPageOffset(order));

    [Fact]
    public void The_in_page_rings_fill_the_page_after_the_header_without_overlapping_it_or_each_other()
    {
        Assert.True(VchanLayout.GrantsOffset <= VchanLayout.SmallRingOffset);
        Assert.Equal(VchanLayout.LargeRingOffset, VchanLayout.SmallRingOffset + (1 << VchanLayout.SmallRingOrder));
        Assert.Equal(VchanLayout.PageSize, VchanLayout.LargeRingOffset + (1 << VchanLayout.LargeRingOrder));
    }

    [Fact]
    public void The_grant_list_of_the_two_largest_rings_fits_in_the_page()
    {
        Assert.Equal((4096 - 24) / 4, VchanLayout.MaxGrants);
        Assert.True(2 * VchanLayout.PageCount(VchanLayout.MaxRingOrder) <= VchanLayout.MaxGrants);
        Assert.Equal(1 << 20, VchanLayout.MaxRingSize);
    }
}
