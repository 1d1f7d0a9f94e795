using Xen.Rings.Blkif;
using Xen.Rings.SharedRing;
using Xen.Rings.Memory;

namespace Xen.Rings.Tests;

public class SharedRingTests
{
    [Theory]
    [InlineData(0, 32)]
    [InlineData(1, 64)]
    [InlineData(2, 128)]
    public void A_blkif_ring_of_2_to_the_order_pages_has_the_slots_ring_h_gives_it(int order, int slots)
    {
        using var page = SharedPage.Allocate(SharedRingLayout.RingByteCount(order));
        using var front = FrontRing<BlkifRequest, BlkifResponse>.Initialize(page.Memory);
        Assert.Equal(slots, front.SlotCount);
        Assert.Equal(112, front.EntrySize);
    }

    [Fact]
    public void Init_sets_producers_to_0_and_events_to_1_and_zeroes_the_private_area()
    {
        byte[] mem = new byte[4096];
        mem.AsSpan(0, 64).Fill(0xAA);
        using var front = FrontRing<BlkifRequest, BlkifResponse>.Initialize(mem);
        Assert.Equal(0u, BitConverter.ToUInt32(mem, 0));
        Assert.Equal(1u, BitConverter.ToUInt32(mem, 4));
        Assert.Equal(0u, BitConverter.ToUInt32(mem, 8));
        Assert.Equal(1u, BitConverter.ToUInt32(mem, 12));
        Assert.All(mem[16..64], b => Assert.Equal(0, b));
    }

    [Fact]
    public void Requests_and_responses_cross_with_event_index_notifications()
    {
        byte[] mem = new byte[4096];
        using var front = FrontRing<BlkifRequest, BlkifResponse>.Initialize(mem);
        using var back = BackRing<BlkifRequest, BlkifResponse>.Attach(mem);

        var request = new BlkifRequest { Operation = BlkifOperation.Write, SegmentCount = 2, Handle = 51712, Id = 77, SectorNumber = 8 };
        request.Segments[0] = new BlkifRequestSegment(10, 0, 7);
        request.Segments[1] = new BlkifRequestSegment(11, 1, 3);
        Assert.True(front.TryProduceRequest(request));
        Assert.Equal(0, back.UnconsumedRequests);          // not pushed yet
        Assert.True(front.PushRequests());                 // req_event was 1: the back end wants to hear
        Assert.Equal(1, back.UnconsumedRequests);

        Assert.True(back.TryConsumeRequest(out BlkifRequest got));
        Assert.Equal(77ul, got.Id);
        Assert.Equal(BlkifOperation.Write, got.Operation);
        Assert.Equal(new BlkifRequestSegment(11, 1, 3), got.Segments[1]);
        Assert.False(back.FinalCheckForRequests());         // nothing more: req_event = req_cons + 1 = 2

        back.ProduceResponse(new BlkifResponse(77, BlkifOperation.Write, BlkifStatus.Okay));
        Assert.True(back.PushResponses());                  // rsp_event was 1
        Assert.True(front.TryConsumeResponse(out BlkifResponse rsp));
        Assert.Equal(new BlkifResponse(77, BlkifOperation.Write, BlkifStatus.Okay), rsp);

        Assert.True(front.TryProduceRequest(request));
        Assert.True(front.PushRequests());                  // 1 -> 2 passes req_event 2
        Assert.True(front.TryProduceRequest(request));
        Assert.False(front.PushRequests());                 // 2 -> 3: the back end did not re-arm
    }

    [Fact]
    public void The_front_end_stops_producing_when_every_slot_is_outstanding()
    {
        byte[] mem = new byte[4096];
        using var front = FrontRing<BlkifRequest, BlkifResponse>.Initialize(mem);
        for (int i = 0; i < 32; i++)
        {
            Assert.True(front.TryProduceRequest(new BlkifRequest { Id = (ulong)i }));
        }

        Assert.True(front.IsFull);
        Assert.False(front.TryProduceRequest(default));
    }

    [Fact]
    public void A_back_end_may_not_answer_more_than_it_consumed()
    {
        byte[] mem = new byte[4096];
        using var front = FrontRing<BlkifRequest, BlkifResponse>.Initialize(mem);
        using var back = BackRing<BlkifRequest, BlkifResponse>.Attach(mem);
        Assert.Throws<InvalidOperationException>(() => back.ProduceResponse(default));
    }

    [Theory]
    [InlineData(33u)]          // more requests than slots
    [InlineData(0xFFFFFFFFu)]  // req_prod moved backwards
    public void A_front_end_that_corrupts_req_prod_gets_a_ring_corrupted_error_and_nothing_is_consumed(uint reqProd)
    {
        byte[] mem = new byte[4096];
        using var front = FrontRing<BlkifRequest, BlkifResponse>.Initialize(mem);
        using var back = BackRing<BlkifRequest, BlkifResponse>.Attach(mem);
        BitConverter.TryWriteBytes(mem.AsSpan(SharedRingLayout.ReqProdOffset), reqProd);
        Assert.Throws<RingCorruptedException>(() => back.TryConsumeRequest(out _));
        Assert.Equal(0u, back.RequestConsumer);
    }

    [Fact]
    public void A_back_end_that_claims_unrequested_responses_gets_a_ring_corrupted_error()
    {
        byte[] mem = new byte[4096];
        using var front = FrontRing<BlkifRequest, BlkifResponse>.Initialize(mem);
        front.TryProduceRequest(default);
        front.PushRequests();
        BitConverter.TryWriteBytes(mem.AsSpan(SharedRingLayout.RspProdOffset), 2u);
        Assert.Throws<RingCorruptedException>(() => front.TryConsumeResponse(out _));
        Assert.Equal(0u, front.ResponseConsumer);
    }

    [Fact]
    public void Attach_starts_both_ends_at_the_given_index_so_they_run_across_2_32()
    {
        byte[] mem = new byte[4096];
        const uint start = 0xFFFFFFF0;
        using (FrontRing<BlkifRequest, BlkifResponse>.Initialize(mem))
        {
        }

        foreach (int offset in new[] { 0, 8 })
        {
            BitConverter.TryWriteBytes(mem.AsSpan(offset), start);
        }

        using var front = FrontRing<BlkifRequest, BlkifResponse>.Attach(mem, start);
        using var back = BackRing<BlkifRequest, BlkifResponse>.Attach(mem, start);
        for (ulong id = 0; id < 100; id++)
        {
            Assert.True(front.TryProduceRequest(new BlkifRequest { Id = id }));
            front.PushRequests();
            Assert.True(back.TryConsumeRequest(out BlkifRequest r));
            back.ProduceResponse(new BlkifResponse(r.Id, BlkifOperation.Read, BlkifStatus.Okay));
            back.PushResponses();
            Assert.True(front.TryConsumeResponse(out BlkifResponse rsp));
            Assert.Equal(id, rsp.Id);
        }

        Assert.Equal(unchecked(start + 100), front.ResponseConsumer);
    }

    [Theory]
    [InlineData(4096, 112, 32)]
    [InlineData(4096, 64, 32)]   // (4096-64)/64 = 63 -> 32
    [InlineData(8192, 112, 64)]
    [InlineData(128, 64, 1)]
    public void SlotCount_rounds_down_to_a_power_of_two(int bytes, int entry, int expected) =>
        Assert.Equal(expected, SharedRingLayout.SlotCount(bytes, entry));
}
