using System.Runtime.CompilerServices;
using Xen.Rings.Blkif;
using Xen.Rings.Console;
using Xen.Rings.SharedRing;
using Xen.Rings.Vchan;
using Xen.Rings.XenStore;

namespace Xen.Rings.Tests.Native;

/// <summary>
/// Every size, offset and constant Xen.Rings depends on, compared with what gcc makes of Xen's public headers
/// (<c>tests/native/ring_layout.c</c>). One row per value, named as the C program names it, so a failure says which.
/// Struct offsets and sizes are the real managed layout (what <see cref="Unsafe"/> reads and writes in a slot).
/// </summary>
[Trait("Category", "Native")]
public sealed class NativeLayoutTests(RingLayoutFixture c) : IClassFixture<RingLayoutFixture>
{
    private delegate ref TField FieldOf<T, TField>(ref T value);

    /// <summary>Values the C program prints that have no counterpart in Xen.Rings.</summary>
    private static readonly string[] NotCompared =
    [
        // The wire protocol's payload limit belongs to the xenstore message codec (Xen.Store), not to the ring.
        "XENSTORE_PAYLOAD_MAX",
    ];

    public static TheoryData<string, long> Numbers
    {
        get
        {
            var rows = new TheoryData<string, long>();
            AddConsole(rows);
            AddXenStore(rows);
            AddSharedRing(rows);
            AddBlkifNative(rows);
            AddBlkifX86_32(rows);
            AddBlkifConstants(rows);
            AddVchan(rows);
            return rows;
        }
    }

    public static TheoryData<string, string> Strings => new()
    {
        { "XEN_IO_PROTO_ABI_X86_32", BlkifConstants.ProtocolX86_32 },
        { "XEN_IO_PROTO_ABI_X86_64", BlkifConstants.ProtocolX86_64 },
        { "XEN_IO_PROTO_ABI_ARM", BlkifConstants.ProtocolArm },
    };

    /// <summary>
    /// Values newer than the Xen 4.17 headers that Debian 12, and so CI, installs. Xen 4.21 appended the console's
    /// <c>connection</c> byte (at 3088, with XENCONSOLE_CONNECTED 0 and XENCONSOLE_DISCONNECTED 1) and the xenstore
    /// page's <c>evtchn_port</c> (at 2076); later headers added the WATCHDEPTH (4) and DOMID_ANY (8) feature bits.
    /// The installed headers cannot check these, so each is compared with the number the newer headers publish (the
    /// offsets recorded in XEN-FACTS.md), and with the C program as well when the installed headers define it.
    /// </summary>
    public static TheoryData<string, long, long> NewerThanInstalledHeaders => new()
    {
        { "xencons_interface.connection", ConsoleLayout.ConnectionOffset, 3088 },
        { "sizeof(xencons_interface.connection)", sizeof(byte), 1 },
        { "XENCONSOLE_CONNECTED", ConsoleLayout.Connected, 0 },
        { "XENCONSOLE_DISCONNECTED", ConsoleLayout.Disconnected, 1 },
        { "xenstore_domain_interface.evtchn_port", XenStoreRingLayout.EvtchnPortOffset, 2076 },
        { "XENSTORE_SERVER_FEATURE_WATCHDEPTH", (long)XenStoreServerFeatures.WatchDepth, 4 },
        { "XENSTORE_SERVER_FEATURE_DOMID_ANY", (long)XenStoreServerFeatures.DomidAny, 8 },
    };

    [Theory]
    [MemberData(nameof(Numbers))]
    public void Number_matches_the_C_headers(string name, long ours) => Assert.Equal(c.Number(name), ours);

    [Theory]
    [MemberData(nameof(Strings))]
    public void String_matches_the_C_headers(string name, string ours) => Assert.Equal(c.Text(name), ours);

    [Theory]
    [MemberData(nameof(NewerThanInstalledHeaders))]
    public void Value_newer_than_the_installed_headers_matches_the_newer_headers(string name, long ours, long published)
    {
        Assert.Equal(published, ours);
        if (c.Has(name))
        {
            Assert.Equal(c.Number(name), ours);
        }
    }

    [Fact]
    public void Console_connection_byte_is_appended_right_after_out_prod()
    {
        // Xen 4.21 added `connection` after the last member of the older structure, so it starts where that ends.
        long endOfOutProd = c.Number("xencons_interface.out_prod") + c.Number("sizeof(xencons_interface.out_prod)");
        Assert.Equal(ConsoleLayout.ConnectionOffset, endOfOutProd);
    }

    [Fact]
    public void Xenstore_evtchn_port_is_appended_right_after_error_and_ends_the_interface()
    {
        long endOfError = c.Number("xenstore_domain_interface.error") + c.Number("sizeof(xenstore_domain_interface.error)");
        Assert.Equal(XenStoreRingLayout.EvtchnPortOffset, endOfError);
        Assert.Equal(XenStoreRingLayout.EvtchnPortOffset + sizeof(uint), XenStoreRingLayout.InterfaceSize);
    }

    [Fact]
    public void Every_value_the_C_program_prints_is_compared()
    {
        var compared = new HashSet<string>(StringComparer.Ordinal);
        compared.UnionWith(Numbers.Select(row => (string)row[0]));
        compared.UnionWith(Strings.Select(row => (string)row[0]));
        compared.UnionWith(NewerThanInstalledHeaders.Select(row => (string)row[0]));
        compared.UnionWith(NotCompared);
        Assert.Empty(c.Names.Where(name => !compared.Contains(name)).Order(StringComparer.Ordinal));
    }

    private static void AddConsole(TheoryData<string, long> rows)
    {
        rows.Add("xencons_interface.in", ConsoleLayout.InOffset);
        rows.Add("sizeof(xencons_interface.in)", ConsoleLayout.InSize);
        rows.Add("xencons_interface.out", ConsoleLayout.OutOffset);
        rows.Add("sizeof(xencons_interface.out)", ConsoleLayout.OutSize);
        rows.Add("xencons_interface.in_cons", ConsoleLayout.InConsOffset);
        rows.Add("sizeof(xencons_interface.in_cons)", sizeof(uint));
        rows.Add("xencons_interface.in_prod", ConsoleLayout.InProdOffset);
        rows.Add("sizeof(xencons_interface.in_prod)", sizeof(uint));
        rows.Add("xencons_interface.out_cons", ConsoleLayout.OutConsOffset);
        rows.Add("sizeof(xencons_interface.out_cons)", sizeof(uint));
        rows.Add("xencons_interface.out_prod", ConsoleLayout.OutProdOffset);
        rows.Add("sizeof(xencons_interface.out_prod)", sizeof(uint));
        // The size of the structure before Xen 4.21 appended `connection` (what the installed 4.17 headers declare).
        rows.Add("sizeof(xencons_interface)", ConsoleLayout.InterfaceSizeWithoutConnection);
    }

    private static void AddXenStore(TheoryData<string, long> rows)
    {
        rows.Add("xenstore_domain_interface.req", XenStoreRingLayout.RequestOffset);
        rows.Add("sizeof(xenstore_domain_interface.req)", XenStoreRingLayout.RingSize);
        rows.Add("xenstore_domain_interface.rsp", XenStoreRingLayout.ResponseOffset);
        rows.Add("sizeof(xenstore_domain_interface.rsp)", XenStoreRingLayout.RingSize);
        rows.Add("xenstore_domain_interface.req_cons", XenStoreRingLayout.ReqConsOffset);
        rows.Add("sizeof(xenstore_domain_interface.req_cons)", sizeof(uint));
        rows.Add("xenstore_domain_interface.req_prod", XenStoreRingLayout.ReqProdOffset);
        rows.Add("sizeof(xenstore_domain_interface.req_prod)", sizeof(uint));
        rows.Add("xenstore_domain_interface.rsp_cons", XenStoreRingLayout.RspConsOffset);
        rows.Add("sizeof(xenstore_domain_interface.rsp_cons)", sizeof(uint));
        rows.Add("xenstore_domain_interface.rsp_prod", XenStoreRingLayout.RspProdOffset);
        rows.Add("sizeof(xenstore_domain_interface.rsp_prod)", sizeof(uint));
        rows.Add("xenstore_domain_interface.server_features", XenStoreRingLayout.ServerFeaturesOffset);
        rows.Add("sizeof(xenstore_domain_interface.server_features)", Unsafe.SizeOf<XenStoreServerFeatures>());
        rows.Add("xenstore_domain_interface.connection", XenStoreRingLayout.ConnectionOffset);
        rows.Add("sizeof(xenstore_domain_interface.connection)", Unsafe.SizeOf<XenStoreConnectionState>());
        rows.Add("xenstore_domain_interface.error", XenStoreRingLayout.ErrorOffset);
        rows.Add("sizeof(xenstore_domain_interface.error)", Unsafe.SizeOf<XenStoreRingError>());
        // The size of the structure before Xen 4.21 appended evtchn_port (what the installed 4.17 headers declare).
        rows.Add("sizeof(xenstore_domain_interface)", XenStoreRingLayout.EvtchnPortOffset);
        rows.Add("XENSTORE_RING_SIZE", XenStoreRingLayout.RingSize);
        rows.Add("XENSTORE_SERVER_FEATURE_RECONNECTION", (long)XenStoreServerFeatures.Reconnection);
        rows.Add("XENSTORE_SERVER_FEATURE_ERROR", (long)XenStoreServerFeatures.Error);
        rows.Add("XENSTORE_CONNECTED", (long)XenStoreConnectionState.Connected);
        rows.Add("XENSTORE_RECONNECT", (long)XenStoreConnectionState.Reconnect);
        rows.Add("XENSTORE_ERROR_NONE", (long)XenStoreRingError.None);
        rows.Add("XENSTORE_ERROR_COMM", (long)XenStoreRingError.Communication);
        rows.Add("XENSTORE_ERROR_RINGIDX", (long)XenStoreRingError.RingIndex);
        rows.Add("XENSTORE_ERROR_PROTO", (long)XenStoreRingError.Protocol);
    }

    private static void AddSharedRing(TheoryData<string, long> rows)
    {
        rows.Add("blkif_sring.req_prod", SharedRingLayout.ReqProdOffset);
        rows.Add("sizeof(blkif_sring.req_prod)", sizeof(uint));
        rows.Add("blkif_sring.req_event", SharedRingLayout.ReqEventOffset);
        rows.Add("sizeof(blkif_sring.req_event)", sizeof(uint));
        rows.Add("blkif_sring.rsp_prod", SharedRingLayout.RspProdOffset);
        rows.Add("sizeof(blkif_sring.rsp_prod)", sizeof(uint));
        rows.Add("blkif_sring.rsp_event", SharedRingLayout.RspEventOffset);
        rows.Add("sizeof(blkif_sring.rsp_event)", sizeof(uint));
        rows.Add("blkif_sring.pvt", SharedRingLayout.PvtOffset);
        rows.Add("blkif_sring.ring", SharedRingLayout.HeaderSize);
        rows.Add("blkif_x86_32_sring.ring", SharedRingLayout.HeaderSize);

        // Entry size and slot count as the ring types compute them for real memory of each size.
        rows.Add("sizeof(blkif_sring_entry)", Shape<BlkifRequest, BlkifResponse>(4096).EntrySize);
        rows.Add("sizeof(blkif_x86_32_sring_entry)", Shape<BlkifRequestX86_32, BlkifResponseX86_32>(4096).EntrySize);
        foreach (int bytes in new[] { 4096, 8192, 16384 })
        {
            rows.Add($"RING_SIZE(blkif,{bytes})", Shape<BlkifRequest, BlkifResponse>(bytes).SlotCount);
            rows.Add($"RING_SIZE(blkif_x86_32,{bytes})", Shape<BlkifRequestX86_32, BlkifResponseX86_32>(bytes).SlotCount);
        }
    }

    private static void AddBlkifNative(TheoryData<string, long> rows)
    {
        Field(rows, "blkif_request_segment.gref", (ref BlkifRequestSegment s) => ref s.GrantRef);
        Field(rows, "blkif_request_segment.first_sect", (ref BlkifRequestSegment s) => ref s.FirstSector);
        Field(rows, "blkif_request_segment.last_sect", (ref BlkifRequestSegment s) => ref s.LastSector);
        rows.Add("sizeof(blkif_request_segment)", Unsafe.SizeOf<BlkifRequestSegment>());

        Field(rows, "blkif_request.operation", (ref BlkifRequest r) => ref r.Operation);
        Field(rows, "blkif_request.nr_segments", (ref BlkifRequest r) => ref r.SegmentCount);
        Field(rows, "blkif_request.handle", (ref BlkifRequest r) => ref r.Handle);
        Field(rows, "blkif_request.id", (ref BlkifRequest r) => ref r.Id);
        Field(rows, "blkif_request.sector_number", (ref BlkifRequest r) => ref r.SectorNumber);
        Field(rows, "blkif_request.seg", (ref BlkifRequest r) => ref r.Segments);
        rows.Add("sizeof(blkif_request)", Unsafe.SizeOf<BlkifRequest>());

        Field(rows, "blkif_request_discard.operation", (ref BlkifDiscardRequest r) => ref r.Operation);
        Field(rows, "blkif_request_discard.flag", (ref BlkifDiscardRequest r) => ref r.Flag);
        Field(rows, "blkif_request_discard.handle", (ref BlkifDiscardRequest r) => ref r.Handle);
        Field(rows, "blkif_request_discard.id", (ref BlkifDiscardRequest r) => ref r.Id);
        Field(rows, "blkif_request_discard.sector_number", (ref BlkifDiscardRequest r) => ref r.SectorNumber);
        Field(rows, "blkif_request_discard.nr_sectors", (ref BlkifDiscardRequest r) => ref r.SectorCount);
        rows.Add("sizeof(blkif_request_discard)", Unsafe.SizeOf<BlkifDiscardRequest>());

        Field(rows, "blkif_request_indirect.operation", (ref BlkifIndirectRequest r) => ref r.Operation);
        Field(rows, "blkif_request_indirect.indirect_op", (ref BlkifIndirectRequest r) => ref r.IndirectOperation);
        Field(rows, "blkif_request_indirect.nr_segments", (ref BlkifIndirectRequest r) => ref r.SegmentCount);
        Field(rows, "blkif_request_indirect.id", (ref BlkifIndirectRequest r) => ref r.Id);
        Field(rows, "blkif_request_indirect.sector_number", (ref BlkifIndirectRequest r) => ref r.SectorNumber);
        Field(rows, "blkif_request_indirect.handle", (ref BlkifIndirectRequest r) => ref r.Handle);
        Field(rows, "blkif_request_indirect.indirect_grefs", (ref BlkifIndirectRequest r) => ref r.IndirectGrefs);
        rows.Add("sizeof(blkif_request_indirect)", Unsafe.SizeOf<BlkifIndirectRequest>());

        Field(rows, "blkif_response.id", (ref BlkifResponse r) => ref r.Id);
        Field(rows, "blkif_response.operation", (ref BlkifResponse r) => ref r.Operation);
        Field(rows, "blkif_response.status", (ref BlkifResponse r) => ref r.Status);
        rows.Add("sizeof(blkif_response)", Unsafe.SizeOf<BlkifResponse>());
    }

    private static void AddBlkifX86_32(TheoryData<string, long> rows)
    {
        Field(rows, "blkif_x86_32_request.operation", (ref BlkifRequestX86_32 r) => ref r.Operation);
        Field(rows, "blkif_x86_32_request.nr_segments", (ref BlkifRequestX86_32 r) => ref r.SegmentCount);
        Field(rows, "blkif_x86_32_request.handle", (ref BlkifRequestX86_32 r) => ref r.Handle);
        Field(rows, "blkif_x86_32_request.id", (ref BlkifRequestX86_32 r) => ref r.Id);
        Field(rows, "blkif_x86_32_request.sector_number", (ref BlkifRequestX86_32 r) => ref r.SectorNumber);
        Field(rows, "blkif_x86_32_request.seg", (ref BlkifRequestX86_32 r) => ref r.Segments);
        rows.Add("sizeof(blkif_x86_32_request)", Unsafe.SizeOf<BlkifRequestX86_32>());

        Field(rows, "blkif_x86_32_request_discard.operation", (ref BlkifDiscardRequestX86_32 r) => ref r.Operation);
        Field(rows, "blkif_x86_32_request_discard.flag", (ref BlkifDiscardRequestX86_32 r) => ref r.Flag);
        Field(rows, "blkif_x86_32_request_discard.handle", (ref BlkifDiscardRequestX86_32 r) => ref r.Handle);
        Field(rows, "blkif_x86_32_request_discard.id", (ref BlkifDiscardRequestX86_32 r) => ref r.Id);
        Field(rows, "blkif_x86_32_request_discard.sector_number", (ref BlkifDiscardRequestX86_32 r) => ref r.SectorNumber);
        Field(rows, "blkif_x86_32_request_discard.nr_sectors", (ref BlkifDiscardRequestX86_32 r) => ref r.SectorCount);
        rows.Add("sizeof(blkif_x86_32_request_discard)", Unsafe.SizeOf<BlkifDiscardRequestX86_32>());

        Field(rows, "blkif_x86_32_request_indirect.operation", (ref BlkifIndirectRequestX86_32 r) => ref r.Operation);
        Field(rows, "blkif_x86_32_request_indirect.indirect_op", (ref BlkifIndirectRequestX86_32 r) => ref r.IndirectOperation);
        Field(rows, "blkif_x86_32_request_indirect.nr_segments", (ref BlkifIndirectRequestX86_32 r) => ref r.SegmentCount);
        Field(rows, "blkif_x86_32_request_indirect.id", (ref BlkifIndirectRequestX86_32 r) => ref r.Id);
        Field(rows, "blkif_x86_32_request_indirect.sector_number", (ref BlkifIndirectRequestX86_32 r) => ref r.SectorNumber);
        Field(rows, "blkif_x86_32_request_indirect.handle", (ref BlkifIndirectRequestX86_32 r) => ref r.Handle);
        Field(rows, "blkif_x86_32_request_indirect.indirect_grefs", (ref BlkifIndirectRequestX86_32 r) => ref r.IndirectGrefs);
        // The i386 pad has no C# field: it is the struct's tail after indirect_grefs.
        int endOfGrefs = OffsetOf((ref BlkifIndirectRequestX86_32 r) => ref r.IndirectGrefs) + Unsafe.SizeOf<BlkifIndirectGrefs>();
        rows.Add("blkif_x86_32_request_indirect.pad", endOfGrefs);
        rows.Add("sizeof(blkif_x86_32_request_indirect.pad)", Unsafe.SizeOf<BlkifIndirectRequestX86_32>() - endOfGrefs);
        rows.Add("sizeof(blkif_x86_32_request_indirect)", Unsafe.SizeOf<BlkifIndirectRequestX86_32>());

        Field(rows, "blkif_x86_32_response.id", (ref BlkifResponseX86_32 r) => ref r.Id);
        Field(rows, "blkif_x86_32_response.operation", (ref BlkifResponseX86_32 r) => ref r.Operation);
        Field(rows, "blkif_x86_32_response.status", (ref BlkifResponseX86_32 r) => ref r.Status);
        rows.Add("sizeof(blkif_x86_32_response)", Unsafe.SizeOf<BlkifResponseX86_32>());
    }

    private static void AddBlkifConstants(TheoryData<string, long> rows)
    {
        rows.Add("BLKIF_OP_READ", (long)BlkifOperation.Read);
        rows.Add("BLKIF_OP_WRITE", (long)BlkifOperation.Write);
        rows.Add("BLKIF_OP_WRITE_BARRIER", (long)BlkifOperation.WriteBarrier);
        rows.Add("BLKIF_OP_FLUSH_DISKCACHE", (long)BlkifOperation.FlushDiskCache);
        rows.Add("BLKIF_OP_RESERVED_1", (long)BlkifOperation.Reserved1);
        rows.Add("BLKIF_OP_DISCARD", (long)BlkifOperation.Discard);
        rows.Add("BLKIF_OP_INDIRECT", (long)BlkifOperation.Indirect);
        rows.Add("BLKIF_RSP_EOPNOTSUPP", (long)BlkifStatus.NotSupported);
        rows.Add("BLKIF_RSP_ERROR", (long)BlkifStatus.Error);
        rows.Add("BLKIF_RSP_OKAY", (long)BlkifStatus.Okay);
        rows.Add("BLKIF_MAX_SEGMENTS_PER_REQUEST", BlkifConstants.MaxSegmentsPerRequest);
        rows.Add("BLKIF_MAX_INDIRECT_PAGES_PER_REQUEST", BlkifConstants.MaxIndirectPagesPerRequest);
        rows.Add("BLKIF_DISCARD_SECURE", BlkifConstants.DiscardSecure);
        rows.Add("VDISK_CDROM", BlkifConstants.VdiskCdrom);
        rows.Add("VDISK_REMOVABLE", BlkifConstants.VdiskRemovable);
        rows.Add("VDISK_READONLY", BlkifConstants.VdiskReadOnly);
    }

    private static void AddVchan(TheoryData<string, long> rows)
    {
        rows.Add("vchan_interface.left.cons", VchanLayout.LeftConsOffset);
        rows.Add("sizeof(vchan_interface.left.cons)", sizeof(uint));
        rows.Add("vchan_interface.left.prod", VchanLayout.LeftProdOffset);
        rows.Add("sizeof(vchan_interface.left.prod)", sizeof(uint));
        rows.Add("vchan_interface.right.cons", VchanLayout.RightConsOffset);
        rows.Add("sizeof(vchan_interface.right.cons)", sizeof(uint));
        rows.Add("vchan_interface.right.prod", VchanLayout.RightProdOffset);
        rows.Add("sizeof(vchan_interface.right.prod)", sizeof(uint));
        // VchanInterface reads the orders as 16-bit values and the live and notify bytes through their enums.
        rows.Add("vchan_interface.left_order", VchanLayout.LeftOrderOffset);
        rows.Add("sizeof(vchan_interface.left_order)", sizeof(ushort));
        rows.Add("vchan_interface.right_order", VchanLayout.RightOrderOffset);
        rows.Add("sizeof(vchan_interface.right_order)", sizeof(ushort));
        rows.Add("vchan_interface.cli_live", VchanLayout.CliLiveOffset);
        rows.Add("sizeof(vchan_interface.cli_live)", Unsafe.SizeOf<VchanLiveState>());
        rows.Add("vchan_interface.srv_live", VchanLayout.SrvLiveOffset);
        rows.Add("sizeof(vchan_interface.srv_live)", Unsafe.SizeOf<VchanLiveState>());
        rows.Add("vchan_interface.cli_notify", VchanLayout.CliNotifyOffset);
        rows.Add("sizeof(vchan_interface.cli_notify)", Unsafe.SizeOf<VchanNotify>());
        rows.Add("vchan_interface.srv_notify", VchanLayout.SrvNotifyOffset);
        rows.Add("sizeof(vchan_interface.srv_notify)", Unsafe.SizeOf<VchanNotify>());
        rows.Add("vchan_interface.grants", VchanLayout.GrantsOffset);
        rows.Add("sizeof(vchan_interface.grants[0])", sizeof(uint)); // VchanInterface.Grants is a Span<uint>
        // grants[] is a flexible array: the structure's size is the header before it.
        rows.Add("sizeof(vchan_interface)", VchanLayout.GrantsOffset);
        rows.Add("VCHAN_NOTIFY_WRITE", (long)VchanNotify.Write);
        rows.Add("VCHAN_NOTIFY_READ", (long)VchanNotify.Read);
    }

    /// <summary>Adds the offset (<c>name</c>) and size (<c>sizeof(name)</c>) of one struct field.</summary>
    private static void Field<T, TField>(TheoryData<string, long> rows, string name, FieldOf<T, TField> field)
        where T : unmanaged
        where TField : unmanaged
    {
        rows.Add(name, OffsetOf(field));
        rows.Add($"sizeof({name})", Unsafe.SizeOf<TField>());
    }

    private static int OffsetOf<T, TField>(FieldOf<T, TField> field)
        where T : unmanaged
    {
        T value = default;
        return (int)Unsafe.ByteOffset(ref Unsafe.As<T, byte>(ref value), ref Unsafe.As<TField, byte>(ref field(ref value)));
    }

    private static (int EntrySize, int SlotCount) Shape<TRequest, TResponse>(int byteCount)
        where TRequest : unmanaged
        where TResponse : unmanaged
    {
        using var ring = FrontRing<TRequest, TResponse>.Initialize(new byte[byteCount]);
        return (ring.EntrySize, ring.SlotCount);
    }
}
