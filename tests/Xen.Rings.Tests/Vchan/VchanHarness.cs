using System.Buffers.Binary;
using Xen.Rings.Events;
using Xen.Rings.Vchan;

namespace Xen.Rings.Tests.Vchan;

/// <summary>
/// The memory of one vchan in this process, as a server would set it up: the shared page (its header written by
/// <see cref="VchanInterface.InitializeServer"/>), separate memory for each ring of order 12 or more, and an
/// in-process event channel pair whose ends count their notifications. Both streams are opened on demand over the
/// same memory, so each end sees every byte the other writes.
/// </summary>
internal sealed class VchanHarness : IDisposable
{
    private readonly InProcessEventChannel _serverEnd;
    private readonly InProcessEventChannel _clientEnd;
    private VchanStream? _server;
    private VchanStream? _client;

    private VchanHarness(int leftOrder, int rightOrder)
    {
        LeftOrder = leftOrder;
        RightOrder = rightOrder;
        new VchanInterface(Page, VchanRole.Server).InitializeServer(leftOrder, rightOrder);
        LeftRing = VchanLayout.PageCount(leftOrder) == 0 ? [] : new byte[1 << leftOrder];
        RightRing = VchanLayout.PageCount(rightOrder) == 0 ? [] : new byte[1 << rightOrder];
        (_serverEnd, _clientEnd) = InProcessEventChannel.CreatePair();
        ServerEvents = new CountingEventChannel(_serverEnd);
        ClientEvents = new CountingEventChannel(_clientEnd);
    }

    public int LeftOrder { get; }

    public int RightOrder { get; }

    public byte[] Page { get; } = new byte[VchanLayout.PageSize];

    /// <summary>The left ring's own pages; empty for an in-page ring.</summary>
    public byte[] LeftRing { get; }

    /// <summary>The right ring's own pages; empty for an in-page ring.</summary>
    public byte[] RightRing { get; }

    /// <summary>The server's end of the event channel (its Notify wakes the client).</summary>
    public CountingEventChannel ServerEvents { get; }

    /// <summary>The client's end of the event channel (its Notify wakes the server).</summary>
    public CountingEventChannel ClientEvents { get; }

    public VchanStream Server => _server ?? throw new InvalidOperationException("The server's stream is not open.");

    public VchanStream Client => _client ?? throw new InvalidOperationException("The client's stream is not open.");

    /// <summary>The memory a server has shared, with no stream open yet.</summary>
    public static VchanHarness Shared(int leftOrder, int rightOrder) => new(leftOrder, rightOrder);

    /// <summary>Both ends open and the client marked connected (as <c>libxenvchan_client_init</c> leaves it).</summary>
    public static VchanHarness Connected(int leftOrder, int rightOrder, IAsyncDisposable? serverOwner = null, IAsyncDisposable? clientOwner = null)
    {
        var harness = new VchanHarness(leftOrder, rightOrder);
        harness.OpenServer(serverOwner);
        harness.OpenClient(clientOwner);
        return harness;
    }

    public VchanStream OpenServer(IAsyncDisposable? owner = null) =>
        _server = VchanStream.Create(VchanRole.Server, Page, LeftRing, RightRing, ServerEvents, owner);

    /// <summary>
    /// Opens the client's stream, marks it connected and wakes the server, as VchanEndpoint.OpenStream does; with
    /// <paramref name="wakeServer"/> false, without the event, so that the server's first wake-up is the one a test
    /// is about.
    /// </summary>
    public VchanStream OpenClient(IAsyncDisposable? owner = null, bool wakeServer = true)
    {
        _client = VchanStream.Create(VchanRole.Client, Page, LeftRing, RightRing, ClientEvents, owner);
        ConnectClient(wakeServer);
        return _client;
    }

    /// <summary>What the client does to connect: <c>cli_live</c> 1, <c>srv_notify</c> WRITE, an event to the server.</summary>
    public void ConnectClient(bool wakeServer = true)
    {
        new VchanInterface(Page, VchanRole.Client).MarkClientConnected();
        if (wakeServer)
        {
            ClientEvents.Notify();
        }
    }

    public uint Index(int offset) => BinaryPrimitives.ReadUInt32LittleEndian(Page.AsSpan(offset));

    public void SetIndex(int offset, uint value) => BinaryPrimitives.WriteUInt32LittleEndian(Page.AsSpan(offset), value);

    /// <summary>Sets both indices of the left ring to <paramref name="left"/> and of the right ring to <paramref name="right"/> (empty rings).</summary>
    public void StartIndicesAt(uint left, uint right)
    {
        SetIndex(VchanLayout.LeftConsOffset, left);
        SetIndex(VchanLayout.LeftProdOffset, left);
        SetIndex(VchanLayout.RightConsOffset, right);
        SetIndex(VchanLayout.RightProdOffset, right);
    }

    public VchanNotify CliNotify
    {
        get => (VchanNotify)Page[VchanLayout.CliNotifyOffset];
        set => Page[VchanLayout.CliNotifyOffset] = (byte)value;
    }

    public VchanNotify SrvNotify
    {
        get => (VchanNotify)Page[VchanLayout.SrvNotifyOffset];
        set => Page[VchanLayout.SrvNotifyOffset] = (byte)value;
    }

    /// <summary>The memory the left ring's bytes live in: the page at its in-page offset, or its own pages.</summary>
    public Memory<byte> LeftBuffer => RingMemory(LeftOrder, LeftRing);

    /// <summary>The memory the right ring's bytes live in.</summary>
    public Memory<byte> RightBuffer => RingMemory(RightOrder, RightRing);

    public void Dispose()
    {
        _server?.Dispose();
        _client?.Dispose();
        _serverEnd.Dispose();
        _clientEnd.Dispose();
    }

    private Memory<byte> RingMemory(int order, byte[] ownPages) =>
        VchanLayout.InPageOffset(order) is int offset and >= 0 ? Page.AsMemory(offset, 1 << order) : ownPages;
}
