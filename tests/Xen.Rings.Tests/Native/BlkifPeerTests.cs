using System.Buffers.Binary;
using System.Globalization;
using Xen.Rings.Blkif;
using Xen.Rings.SharedRing;
using Xen.Rings.Memory;

namespace Xen.Rings.Tests.Native;

/// <summary>
/// A one-page blkif ring across two processes: one end is C code built on <c>ring.h</c>'s macros
/// (<c>tests/native/xen_ring_peer.c</c>), the other is <see cref="FrontRing{TRequest, TResponse}"/> or
/// <see cref="BackRing{TRequest, TResponse}"/> on the same file mapping. Every index starts just below 2^32 and far
/// more requests pass than the ring has slots; each side checks every field the other wrote against a seeded pattern.
/// </summary>
[Trait("Category", "Native")]
[Collection(RingPeerTestGroup.Name)]
public sealed class BlkifPeerTests(RingPeerFixture peers)
{
    private const uint Start = 0xFFFFFF00;
    private const int RequestCount = 2000; // the 32-slot ring wraps about 60 times; the indices pass 2^32 after 256

    [Fact]
    public void BackRing_answers_every_request_of_a_C_front_end()
    {
        const ulong seed = 21;
        using var file = new SharedPageFile();
        using var page = SharedPage.MapFile(file.Path, SharedPage.PageSize, create: true);
        using NativeProcess peer = peers.Start("blkif-front", file.Path, Text(Start), Text(seed), Text(RequestCount));
        string ready = peer.ReadLine(RingPeerFixture.Timeout); // the front end has initialised the ring

        using var back = BackRing<BlkifRequest, BlkifResponse>.Attach(page.Memory, Start);
        Assert.Equal($"ready {back.SlotCount}", ready);
        var batches = new Random((int)seed);
        var wait = new PeerWait(peer, "requests");
        uint handled = 0;
        while (handled < RequestCount)
        {
            int batch = batches.Next(1, back.SlotCount + 1);
            int count = 0;
            while (count < batch && handled < RequestCount && back.TryConsumeRequest(out BlkifRequest request))
            {
                BlkifRequest expected = PeerPattern.Request(seed, handled);
                Assert.Equal($"#{handled} {PeerPattern.Describe(expected)}", $"#{handled} {PeerPattern.Describe(request)}");
                back.ProduceResponse(new BlkifResponse(request.Id, request.Operation, PeerPattern.StatusFor(request)));
                handled++;
                count++;
            }

            if (count != 0)
            {
                back.PushResponses();
                wait.Progressed();
            }
            else if (!back.FinalCheckForRequests())
            {
                wait.Nap();
            }
        }

        string[] done = RingPeerFixture.Finish(peer);
        Assert.Equal(Text(RequestCount), done[1]);
        Assert.Equal(Text(unchecked(Start + RequestCount)), done[3]); // the front end's rsp_cons
        Assert.Equal(unchecked(Start + RequestCount), back.RequestConsumer);
        Assert.Equal(unchecked(Start + RequestCount), back.ResponseProducerPrivate);
        Assert.Equal(0, back.UnconsumedRequests);
    }

    [Fact]
    public void FrontRing_gets_every_answer_from_a_C_back_end()
    {
        const ulong seed = 22;
        using var file = new SharedPageFile();
        using var page = SharedPage.MapFile(file.Path, SharedPage.PageSize, create: true);
        using (FrontRing<BlkifRequest, BlkifResponse>.Initialize(page.Memory))
        {
        }

        MoveIndices(page.GetSpan(), Start);
        using var front = FrontRing<BlkifRequest, BlkifResponse>.Attach(page.Memory, Start);
        using NativeProcess peer = peers.Start("blkif-back", file.Path, Text(Start), Text(seed), Text(RequestCount));
        Assert.Equal($"ready {front.SlotCount}", peer.ReadLine(RingPeerFixture.Timeout));

        var batches = new Random((int)seed);
        var wait = new PeerWait(peer, "responses");
        uint produced = 0;
        uint answered = 0;
        while (answered < RequestCount)
        {
            int batch = batches.Next(1, front.SlotCount + 1);
            int pushed = 0;
            while (pushed < batch && produced < RequestCount && front.TryProduceRequest(PeerPattern.Request(seed, produced)))
            {
                produced++;
                pushed++;
            }

            if (pushed != 0)
            {
                front.PushRequests();
            }

            int consumed = 0;
            while (front.TryConsumeResponse(out BlkifResponse response))
            {
                BlkifRequest request = PeerPattern.Request(seed, answered);
                Assert.Equal(new BlkifResponse(request.Id, request.Operation, PeerPattern.StatusFor(request)), response);
                answered++;
                consumed++;
            }

            if (pushed != 0 || consumed != 0)
            {
                wait.Progressed();
            }
            else if ((produced == RequestCount || front.IsFull) && !front.FinalCheckForResponses())
            {
                wait.Nap();
            }
        }

        string[] done = RingPeerFixture.Finish(peer);
        Assert.Equal(Text(RequestCount), done[1]);
        Assert.Equal(Text(unchecked(Start + RequestCount)), done[3]); // the back end's req_cons
        Assert.Equal(unchecked(Start + RequestCount), front.ResponseConsumer);
        Assert.Equal(unchecked(Start + RequestCount), front.SharedRequestProducer);
        Assert.Equal(0, front.UnconsumedResponses);
    }

    [Fact]
    public void FrontRing_Initialize_writes_the_same_page_as_SHARED_RING_INIT()
    {
        using var cFile = new SharedPageFile();
        using var ourFile = new SharedPageFile();
        using var cPage = SharedPage.MapFile(cFile.Path, SharedPage.PageSize, create: true);
        using var ourPage = SharedPage.MapFile(ourFile.Path, SharedPage.PageSize, create: true);
        cPage.GetSpan().Fill(0xA5);
        ourPage.GetSpan().Fill(0xA5);

        using (NativeProcess peer = peers.Start("sring-init", cFile.Path))
        {
            Assert.True(peer.WaitForExit(RingPeerFixture.Timeout) == 0, $"sring-init failed. {peer.Describe()}");
        }

        using (FrontRing<BlkifRequest, BlkifResponse>.Initialize(ourPage.Memory))
        {
        }

        Assert.Equal(cPage.GetSpan().ToArray(), ourPage.GetSpan().ToArray());
    }

    /// <summary>
    /// Moves a freshly initialised ring to <paramref name="index"/> as if that many requests had been sent and
    /// answered: both producers at the index, both event indices one past it.
    /// </summary>
    private static void MoveIndices(Span<byte> page, uint index)
    {
        BinaryPrimitives.WriteUInt32LittleEndian(page[SharedRingLayout.ReqProdOffset..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(page[SharedRingLayout.ReqEventOffset..], unchecked(index + 1));
        BinaryPrimitives.WriteUInt32LittleEndian(page[SharedRingLayout.RspProdOffset..], index);
        BinaryPrimitives.WriteUInt32LittleEndian(page[SharedRingLayout.RspEventOffset..], unchecked(index + 1));
    }

    private static string Text(ulong value) => value.ToString(CultureInfo.InvariantCulture);
}
