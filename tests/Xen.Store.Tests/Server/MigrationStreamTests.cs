using System.Buffers.Binary;
using FsCheck;
using FsCheck.Fluent;
using Xen.Store.Server.LiveUpdate;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Server;

/// <summary>
/// <see cref="MigrationStream"/> against Xen's <c>docs/designs/xenstore-migration.md</c> and
/// <c>tools/xenstored/xenstore_state.h</c>: the bytes the writer lays down, checked at offsets computed by hand from
/// the document's drawings; what the reader gives back of them; and the damaged streams it must refuse with
/// <see cref="InvalidDataException"/> rather than read past.
/// </summary>
public sealed class MigrationStreamTests
{
    private const int FirstBody = MigrationStream.PreambleLength + MigrationStream.HeaderLength; // 24

    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static readonly XsPermission[] FourPermissions =
    [
        new(XsAccess.None, 5),
        new(XsAccess.Read, 7),
        new(XsAccess.Write, XsPermission.DomidAny),
        new(XsAccess.Both, 65535),
    ];

    private static readonly (string Name, int Value)[] GlobalQuotas = [("entries-per-domain", 1000), ("watches", 128)];

    private static readonly (string Name, int Value)[] DomainQuotas = [("transactions", 10), ("nodes", 0)];

    // --- 1. Layout ----------------------------------------------------------------------------------------------

    [Fact]
    public void An_empty_stream_is_the_16_byte_preamble_then_an_8_byte_END_of_zeros()
    {
        byte[] s = new MigrationStream.Writer().End();

        Assert.Equal(24, s.Length);
        Assert.Equal("xenstore"u8.ToArray(), s[..8]);
        Assert.Equal(0x78656e73746f7265UL, BinaryPrimitives.ReadUInt64BigEndian(s));
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32BigEndian(s.AsSpan(8)));
        Assert.Equal(0, s[8]); // big-endian: the version's low byte is last
        Assert.Equal(2, s[11]);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32BigEndian(s.AsSpan(12))); // flags: little-endian records
        AssertZero(s, 16, 24);
    }

    [Fact]
    public void GLOBAL_holds_the_socket_descriptor_then_the_event_channel_descriptor()
    {
        byte[] body = OnlyRecord(Write(w => w.Global(-1, 7)), MigrationStream.RecordType.Global, 8);

        Assert.Equal(1u, (uint)MigrationStream.RecordType.Global);
        Assert.Equal(-1, BinaryPrimitives.ReadInt32LittleEndian(body));
        Assert.Equal(7, BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(4)));
    }

    [Fact]
    public void CONN_of_a_socket_holds_the_descriptor_at_8_the_lengths_at_16_18_20_and_the_data_at_24()
    {
        // 24 fixed + 3 read + 2 to write = 29, padded to 32.
        byte[] body = OnlyRecord(Write(w => w.SocketConnection(5, 42, "abc"u8, "xy"u8)), MigrationStream.RecordType.Connection, 32);

        Assert.Equal(2u, (uint)MigrationStream.RecordType.Connection);
        Assert.Equal(5u, BinaryPrimitives.ReadUInt32LittleEndian(body)); // conn-id
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(4))); // conn-type: socket
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(6))); // fields: no unique-id
        Assert.Equal(42, BinaryPrimitives.ReadInt32LittleEndian(body.AsSpan(8))); // socket-fd
        AssertZero(body, 12, 16); // conn-spec pad
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(16))); // in-data-len
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(18))); // out-resp-len
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(20))); // out-data-len
        Assert.Equal("abc"u8.ToArray(), body[24..27]);
        Assert.Equal("xy"u8.ToArray(), body[27..29]);
        AssertZero(body, 29, 32);
    }

    [Fact]
    public void CONN_of_a_ring_holds_domid_at_8_tdomid_at_10_and_the_event_channel_at_12()
    {
        // 24 fixed + 1 read + 3 to write = 28, padded to 32.
        byte[] body = OnlyRecord(
            Write(w => w.RingConnection(9, 3, MigrationStream.DomidInvalid, 0x01020304, "i"u8, "out"u8)),
            MigrationStream.RecordType.Connection,
            32);

        Assert.Equal(9u, BinaryPrimitives.ReadUInt32LittleEndian(body));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(4))); // conn-type: shared ring
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(6)));
        Assert.Equal(3, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(8))); // domid
        Assert.Equal(0x7FF4, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(10))); // tdomid: DOMID_INVALID
        Assert.Equal(0x01020304u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(12))); // evtchn
        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(16)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(18)));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(20)));
        Assert.Equal("iout"u8.ToArray(), body[24..28]);
        AssertZero(body, 28, 32);
    }

    [Fact]
    public void WATCH_holds_the_lengths_with_their_NULs_then_the_path_at_8_then_the_token()
    {
        // 8 fixed + 16 ("/local/domain/1" and NUL) + 4 ("tok" and NUL) = 28, padded to 32.
        byte[] body = OnlyRecord(Write(w => w.Watch(4, "/local/domain/1", "tok", null)), MigrationStream.RecordType.Watch, 32);

        Assert.Equal(3u, (uint)MigrationStream.RecordType.Watch);
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(body));
        Assert.Equal(16, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(4)));
        Assert.Equal(4, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(6)));
        Assert.Equal("/local/domain/1\0"u8.ToArray(), body[8..24]);
        Assert.Equal("tok\0"u8.ToArray(), body[24..28]);
        AssertZero(body, 28, 32);
    }

    [Fact]
    public void WATCH_EXT_holds_the_depth_at_8_and_the_path_at_12_as_the_document_draws_it()
    {
        // 12 fixed + 5 ("data" and NUL) + 2 ("t" and NUL) = 19, padded to 24.
        byte[] body = OnlyRecord(Write(w => w.Watch(4, "data", "t", 2)), MigrationStream.RecordType.WatchExtended, 24);

        Assert.Equal(8u, (uint)MigrationStream.RecordType.WatchExtended);
        Assert.Equal(4u, BinaryPrimitives.ReadUInt32LittleEndian(body));
        Assert.Equal(5, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(4)));
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(6)));
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(8))); // depth
        AssertZero(body, 10, 12); // pad
        Assert.Equal("data\0"u8.ToArray(), body[12..17]);
        Assert.Equal("t\0"u8.ToArray(), body[17..19]);
        AssertZero(body, 19, 24);
    }

    [Fact]
    public void WATCH_EXT_with_a_depth_too_large_for_16_bits_is_written_as_65534_never_as_the_unlimited_65535()
    {
        byte[] body = OnlyRecord(Write(w => w.Watch(1, "/a", "t", 70000)), MigrationStream.RecordType.WatchExtended, 24);

        Assert.Equal(0xFFFE, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(8)));
        Assert.Equal(0xFFFE, MigrationStream.ParseWatch(MigrationStream.RecordType.WatchExtended, body).Depth);
    }

    [Fact]
    public void TA_holds_the_connection_then_the_transaction_id()
    {
        byte[] body = OnlyRecord(Write(w => w.Transaction(3, 0xDEADBEEF)), MigrationStream.RecordType.Transaction, 8);

        Assert.Equal(4u, (uint)MigrationStream.RecordType.Transaction);
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(body));
        Assert.Equal(0xDEADBEEFu, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(4)));
    }

    [Fact]
    public void NODE_holds_the_lengths_at_8_and_10_the_permissions_at_16_then_the_path_with_its_NUL_then_the_value()
    {
        // 16 fixed + 4 permissions * 4 = 32; path "/a/b" and NUL 32..37; value 37..42; padded to 48.
        byte[] value = [0x00, 0x41, 0xFF, 0x00, 0x80];
        byte[] body = OnlyRecord(Write(w => w.Node("/a/b", value, FourPermissions)), MigrationStream.RecordType.Node, 48);

        Assert.Equal(5u, (uint)MigrationStream.RecordType.Node);
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(body)); // conn-id: committed
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(4))); // tx-id
        Assert.Equal(5, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(8))); // path-len with the NUL
        Assert.Equal(5, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(10))); // value-len
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(12))); // access
        Assert.Equal(4, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(14))); // perm-count

        (byte Letter, ushort Domain)[] expected = [((byte)'n', 5), ((byte)'r', 7), ((byte)'w', 0x7FF5), ((byte)'b', 65535)];
        for (int i = 0; i < expected.Length; i++)
        {
            int at = 16 + (i * 4);
            Assert.Equal(expected[i].Letter, body[at]);
            Assert.Equal(0, body[at + 1]); // flags
            Assert.Equal(expected[i].Domain, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(at + 2)));
        }

        Assert.Equal("/a/b\0"u8.ToArray(), body[32..37]);
        Assert.Equal(value, body[37..42]);
        AssertZero(body, 42, 48);
    }

    [Fact]
    public void NODE_with_an_empty_value_and_no_permissions_is_the_fixed_part_and_the_path()
    {
        // 16 fixed + "/" and NUL = 18, padded to 24.
        byte[] body = OnlyRecord(Write(w => w.Node("/", [], [])), MigrationStream.RecordType.Node, 24);

        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(8)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(10)));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(14)));
        Assert.Equal("/\0"u8.ToArray(), body[16..18]);
        AssertZero(body, 18, 24);
    }

    [Fact]
    public void GLB_QUOTA_holds_the_per_domain_count_no_global_ones_the_values_then_the_names_NUL_separated()
    {
        // 4 fixed + 2 values * 4 = 12; "entries-per-domain\0" 12..31; "watches\0" 31..39; padded to 40.
        byte[] body = OnlyRecord(Write(w => w.GlobalQuota(GlobalQuotas)), MigrationStream.RecordType.GlobalQuota, 40);

        Assert.Equal(6u, (uint)MigrationStream.RecordType.GlobalQuota);
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(body)); // n-dom-quota
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(2))); // n-glob-quota
        Assert.Equal(1000u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(4)));
        Assert.Equal(128u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(8)));
        Assert.Equal("entries-per-domain\0watches\0"u8.ToArray(), body[12..39]);
        AssertZero(body, 39, 40);
    }

    [Fact]
    public void DOMAIN_holds_the_domid_the_quota_count_the_features_the_values_then_the_names()
    {
        // 8 fixed + 2 values * 4 = 16; "transactions\0" 16..29; "nodes\0" 29..35; padded to 40.
        byte[] body = OnlyRecord(Write(w => w.Domain(7, 0x80000001, DomainQuotas)), MigrationStream.RecordType.Domain, 40);

        Assert.Equal(7u, (uint)MigrationStream.RecordType.Domain);
        Assert.Equal(7, BinaryPrimitives.ReadUInt16LittleEndian(body)); // domain-id
        Assert.Equal(2, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(2))); // n-quota
        Assert.Equal(0x80000001u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(4))); // features
        Assert.Equal(10u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(8)));
        Assert.Equal(0u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(12)));
        Assert.Equal("transactions\0nodes\0"u8.ToArray(), body[16..35]);
        AssertZero(body, 35, 40);
    }

    [Fact]
    public void DOMAIN_without_quotas_is_its_8_byte_fixed_part()
    {
        byte[] body = OnlyRecord(Write(w => w.Domain(1, 1, [])), MigrationStream.RecordType.Domain, 8);

        Assert.Equal(1, BinaryPrimitives.ReadUInt16LittleEndian(body));
        Assert.Equal(0, BinaryPrimitives.ReadUInt16LittleEndian(body.AsSpan(2)));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(4)));
    }

    [Fact]
    public void Every_record_of_a_full_stream_is_a_multiple_of_8_long_and_the_END_comes_last()
    {
        byte[] s = FullStream();
        var types = new List<uint>();
        int at = MigrationStream.PreambleLength;
        while (true)
        {
            uint type = BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(at));
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(at + 4));
            Assert.Equal(0u, length % 8);
            Assert.Equal(0, at % 8);
            types.Add(type);
            at += 8 + (int)length;
            if (type == 0)
            {
                Assert.Equal(0u, length);
                break;
            }
        }

        Assert.Equal(s.Length, at);
        uint[] expected = [1, 2, 2, 3, 8, 3, 8, 4, 5, 5, 5, 6, 7, 7, 0];
        Assert.Equal(expected, types);
    }

    // --- 2. Round trips -------------------------------------------------------------------------------------------

    private static readonly byte[] AwkwardValue = [0x00, 0x7F, 0x80, 0xFF, 0x00, (byte)'x', 0xE9, 0x00];

    private static readonly byte[] RingIn = [0x01, 0x00, 0x00, 0x00, 0xFF];

    private static readonly byte[] RingOut = [0x10, 0x00, 0x80, 0x90, 0xA0, 0xB0, 0xC0];

    private static readonly byte[] SocketIn = [0xFF, 0xFE, 0x00];

    private static readonly byte[] SocketOut = [0x61, 0x00, 0x62, 0x00, 0x63, 0x00, 0x64, 0x00, 0x65, 0x00, 0x66];

    private static byte[] FullStream()
    {
        var w = new MigrationStream.Writer();
        w.Global(3, -1);
        w.RingConnection(1, 5, 7, 33, RingIn, RingOut);
        w.SocketConnection(2, 12, SocketIn, SocketOut);
        w.Watch(1, "device/vbd", "tok0", null);
        w.Watch(1, "data", "deep", 0);
        w.Watch(2, "@introduceDomain", "", null);
        w.Watch(2, "/local/domain", "t\u00e9", 3);
        w.Transaction(2, 77);
        w.Node("/", [], [new XsPermission(XsAccess.None, 0)]);
        w.Node("/local", AwkwardValue, FourPermissions);
        w.Node("/local/\u00ffx", "v"u8, [new XsPermission(XsAccess.Read, 9)]);
        w.GlobalQuota(GlobalQuotas);
        w.Domain(5, 1, DomainQuotas);
        w.Domain(6, 0, []);
        return w.End();
    }

    [Fact]
    public void A_full_stream_reads_back_as_its_records_in_order_with_their_types_and_padded_bodies()
    {
        byte[] s = FullStream();

        List<MigrationStream.Record> records = MigrationStream.Read(s, out uint version);

        Assert.Equal(2u, version);
        MigrationStream.RecordType[] expected =
        [
            MigrationStream.RecordType.Global,
            MigrationStream.RecordType.Connection,
            MigrationStream.RecordType.Connection,
            MigrationStream.RecordType.Watch,
            MigrationStream.RecordType.WatchExtended,
            MigrationStream.RecordType.Watch,
            MigrationStream.RecordType.WatchExtended,
            MigrationStream.RecordType.Transaction,
            MigrationStream.RecordType.Node,
            MigrationStream.RecordType.Node,
            MigrationStream.RecordType.Node,
            MigrationStream.RecordType.GlobalQuota,
            MigrationStream.RecordType.Domain,
            MigrationStream.RecordType.Domain,
        ];
        Assert.Equal(expected, records.Select(r => r.Type));
        Assert.All(records, r => Assert.Equal(0, r.Body.Length % 8));

        ReadOnlySpan<byte> global = records[0].Body.Span;
        Assert.Equal(3, BinaryPrimitives.ReadInt32LittleEndian(global));
        Assert.Equal(-1, BinaryPrimitives.ReadInt32LittleEndian(global[4..]));
        ReadOnlySpan<byte> ta = records[7].Body.Span;
        Assert.Equal(2u, BinaryPrimitives.ReadUInt32LittleEndian(ta));
        Assert.Equal(77u, BinaryPrimitives.ReadUInt32LittleEndian(ta[4..]));
    }

    [Fact]
    public void A_ring_connection_parses_back_with_its_domain_target_port_and_pending_data()
    {
        List<MigrationStream.Record> records = MigrationStream.Read(FullStream(), out _);

        MigrationStream.ConnectionRecord c = MigrationStream.ParseConnection(records[1].Body);

        Assert.Equal(1u, c.Id);
        Assert.Equal(MigrationStream.ConnectionRing, c.Type);
        Assert.Equal(5, c.DomainId);
        Assert.Equal(7, c.TargetDomainId);
        Assert.Equal(33u, c.Port);
        Assert.Equal(RingIn, c.Input.ToArray());
        Assert.Equal(RingOut, c.Output.ToArray());
    }

    [Fact]
    public void A_socket_connection_parses_back_with_its_descriptor_and_pending_data()
    {
        List<MigrationStream.Record> records = MigrationStream.Read(FullStream(), out _);

        MigrationStream.ConnectionRecord c = MigrationStream.ParseConnection(records[2].Body);

        Assert.Equal(2u, c.Id);
        Assert.Equal(MigrationStream.ConnectionSocket, c.Type);
        Assert.Equal(12, c.SocketFd);
        Assert.Equal(SocketIn, c.Input.ToArray());
        Assert.Equal(SocketOut, c.Output.ToArray());
    }

    [Fact]
    public void A_connection_without_pending_data_parses_back_with_empty_input_and_output()
    {
        byte[] s = Write(w => w.RingConnection(4, 1, MigrationStream.DomidInvalid, 2, [], []));

        MigrationStream.ConnectionRecord c = MigrationStream.ParseConnection(Assert.Single(MigrationStream.Read(s, out _)).Body);

        Assert.Equal((4u, (ushort)1, MigrationStream.DomidInvalid, 2u), (c.Id, c.DomainId, c.TargetDomainId, c.Port));
        Assert.True(c.Input.IsEmpty);
        Assert.True(c.Output.IsEmpty);
    }

    [Fact]
    public void Watches_parse_back_with_their_relative_or_absolute_path_token_and_depth()
    {
        List<MigrationStream.Record> records = MigrationStream.Read(FullStream(), out _);

        var watches = records.Skip(3).Take(4).Select(r => MigrationStream.ParseWatch(r.Type, r.Body.Span)).ToArray();

        Assert.Equal((1u, "device/vbd", "tok0", (int?)null), watches[0]);
        Assert.Equal((1u, "data", "deep", (int?)0), watches[1]);
        Assert.Equal((2u, "@introduceDomain", "", (int?)null), watches[2]);
        Assert.Equal((2u, "/local/domain", "t\u00e9", (int?)3), watches[3]);
    }

    [Fact]
    public void A_WATCH_EXT_of_depth_65535_is_read_as_unlimited()
    {
        byte[] body = new byte[16];
        BinaryPrimitives.WriteUInt32LittleEndian(body, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(4), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(6), 2);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(8), 0xFFFF);
        "/\0t\0"u8.CopyTo(body.AsSpan(12));

        Assert.Equal((1u, "/", "t", (int?)null), MigrationStream.ParseWatch(MigrationStream.RecordType.WatchExtended, body));
    }

    [Fact]
    public void Nodes_parse_back_with_their_path_value_and_permissions_including_NUL_and_high_bytes()
    {
        List<MigrationStream.Record> records = MigrationStream.Read(FullStream(), out _);

        var root = MigrationStream.ParseNode(records[8].Body.Span);
        var local = MigrationStream.ParseNode(records[9].Body.Span);
        var high = MigrationStream.ParseNode(records[10].Body.Span);

        Assert.Equal(0u, root.ConnectionId);
        Assert.Equal("/", root.Path);
        Assert.Empty(root.Value);
        Assert.Equal([new XsPermission(XsAccess.None, 0)], root.Permissions);
        Assert.Equal("/local", local.Path);
        Assert.Equal(AwkwardValue, local.Value);
        Assert.Equal(FourPermissions, local.Permissions);
        Assert.Equal("/local/\u00ffx", high.Path);
        Assert.Equal("v"u8.ToArray(), high.Value);
        Assert.Equal([new XsPermission(XsAccess.Read, 9)], high.Permissions);
    }

    [Fact]
    public void Quotas_parse_back_by_name_for_the_global_record_and_a_domain_record()
    {
        List<MigrationStream.Record> records = MigrationStream.Read(FullStream(), out _);
        ReadOnlySpan<byte> global = records[11].Body.Span;
        ReadOnlySpan<byte> domain = records[12].Body.Span;

        List<(string Name, uint Value)> globals = MigrationStream.ParseQuotas(global, 4, BinaryPrimitives.ReadUInt16LittleEndian(global));
        List<(string Name, uint Value)> domains = MigrationStream.ParseQuotas(domain, 8, BinaryPrimitives.ReadUInt16LittleEndian(domain[2..]));

        Assert.Equal([("entries-per-domain", 1000u), ("watches", 128u)], globals);
        Assert.Equal(5, BinaryPrimitives.ReadUInt16LittleEndian(domain));
        Assert.Equal(1u, BinaryPrimitives.ReadUInt32LittleEndian(domain[4..]));
        Assert.Equal([("transactions", 10u), ("nodes", 0u)], domains);
        Assert.Empty(MigrationStream.ParseQuotas(records[13].Body.Span, 8, 0));
    }

    [Fact]
    public void Any_node_written_reads_back_with_the_same_path_value_and_permissions()
    {
        Gen<string> segment =
            from n in Gen.Choose(1, 12)
            from chars in Gen.Choose(1, 255).Where(c => c != '/').Select(c => (char)c).ArrayOf(n)
            select new string(chars);
        Gen<string> path =
            from n in Gen.Choose(0, 5)
            from parts in segment.ArrayOf(n)
            select "/" + string.Join('/', parts);
        Gen<XsPermission> permission =
            from a in Gen.Elements(Enum.GetValues<XsAccess>())
            from d in ArbMap.Default.GeneratorFor<ushort>()
            select new XsPermission(a, d);
        var gen =
            from p in path
            from value in ArbMap.Default.GeneratorFor<byte[]>().Where(v => v.Length < 2048)
            from n in Gen.Choose(0, 6)
            from perms in permission.ArrayOf(n)
            select (p, value, perms);

        Prop.ForAll(gen.ToArbitrary(), node =>
        {
            var w = new MigrationStream.Writer();
            w.Node(node.p, node.value, node.perms);
            byte[] s = w.End();

            MigrationStream.Record record = Assert.Single(MigrationStream.Read(s, out uint version));
            var (connectionId, readPath, readValue, readPerms) = MigrationStream.ParseNode(record.Body.Span);

            Assert.Equal(2u, version);
            Assert.Equal(MigrationStream.RecordType.Node, record.Type);
            Assert.Equal(MigrationStream.Padded(16 + (node.perms.Length * 4) + XsText.Latin1.GetByteCount(node.p) + 1 + node.value.Length), record.Body.Length);
            Assert.Equal(0u, connectionId);
            Assert.Equal(node.p, readPath);
            Assert.Equal(node.value, readValue);
            Assert.Equal(node.perms, readPerms);
        }).Check(Config);
    }

    // --- 3. Hostile input -----------------------------------------------------------------------------------------

    [Theory]
    [InlineData(0)]
    [InlineData(7)]
    [InlineData(15)]
    public void A_stream_shorter_than_the_preamble_is_refused(int length)
    {
        byte[] s = new MigrationStream.Writer().End()[..length];

        Assert.Throws<InvalidDataException>(() => MigrationStream.Read(s, out _));
    }

    [Theory]
    [InlineData("xenstorf")]
    [InlineData("XENSTORE")]
    [InlineData("\0\0\0\0\0\0\0\0")]
    public void A_stream_without_the_xenstore_ident_is_refused(string ident)
    {
        byte[] s = new MigrationStream.Writer().End();
        XsText.Latin1.GetBytes(ident, s);

        Assert.Throws<InvalidDataException>(() => MigrationStream.Read(s, out _));
    }

    [Theory]
    [InlineData(0u)]
    [InlineData(3u)]
    [InlineData(0x02000000u)] // version 2 written little-endian
    [InlineData(0xFFFFFFFFu)]
    public void A_stream_of_an_unknown_version_is_refused(uint version)
    {
        byte[] s = new MigrationStream.Writer().End();
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(8), version);

        Assert.Throws<InvalidDataException>(() => MigrationStream.Read(s, out _));
    }

    [Theory]
    [InlineData(1u)] // big-endian records, as the header (big-endian itself) says
    [InlineData(0x01000000u)] // the same bit read little-endian
    [InlineData(2u)] // a reserved bit
    public void A_stream_whose_flags_are_not_0_is_refused(uint flags)
    {
        byte[] s = Write(w => w.Global(1, 2));
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(12), flags);

        Assert.Throws<InvalidDataException>(() => MigrationStream.Read(s, out _));
    }

    [Fact]
    public void A_stream_cut_at_any_byte_before_its_end_is_refused()
    {
        byte[] s = FullStream();
        Assert.Equal(14, MigrationStream.Read(s, out _).Count);

        for (int length = 0; length < s.Length; length++)
        {
            byte[] cut = s[..length];
            var e = Record.Exception(() => MigrationStream.Read(cut, out _));
            Assert.True(e is InvalidDataException, $"A stream cut to {length} of {s.Length} bytes gave {e?.GetType().Name ?? "no exception"}.");
        }
    }

    [Theory]
    [InlineData(24u)] // the 8 bytes there and the END's 8, and 8 more
    [InlineData(17u)]
    [InlineData(0x80000000u)] // negative as an int
    [InlineData(0xFFFFFFF8u)]
    public void A_record_longer_than_what_is_left_of_the_stream_is_refused(uint length)
    {
        byte[] s = Write(w => w.Transaction(1, 2)); // preamble, TA (8 + 8), END (8)
        Assert.Single(MigrationStream.Read(s, out _));
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(20), length);

        Assert.Throws<InvalidDataException>(() => MigrationStream.Read(s, out _));
    }

    [Fact]
    public void A_CONN_whose_out_data_len_claims_more_than_the_record_holds_is_refused()
    {
        byte[] body = ConnBody(32, inLength: 3, outLength: 6); // 24 + 3 + 6 = 33 > 32
        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseConnection(body));

        body = ConnBody(32, inLength: 0, outLength: uint.MaxValue);
        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseConnection(body));

        body = ConnBody(32, inLength: 3, outLength: 5); // exactly full: accepted
        Assert.Equal(5, MigrationStream.ParseConnection(body).Output.Length);
    }

    [Theory]
    [InlineData(9, 0u)]
    [InlineData(100, 0u)]
    [InlineData(65535, 0u)]
    [InlineData(20, 1u)]
    public void A_CONN_whose_in_data_len_claims_more_than_the_record_holds_is_refused(int inLength, uint outLength)
    {
        byte[] body = ConnBody(32, (ushort)inLength, outLength);

        var e = Record.Exception(() => MigrationStream.ParseConnection(body));

        Assert.IsType<InvalidDataException>(e);
    }

    [Fact]
    public void A_CONN_shorter_than_its_fixed_part_is_refused()
    {
        byte[] body = ConnBody(32, 0, 0)[..16];

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseConnection(body));
    }

    [Theory]
    [InlineData(3, 6)] // 16 + 3 + 6 = 25 > 24
    [InlineData(100, 0)]
    [InlineData(3, 65535)]
    [InlineData(65535, 65535)]
    public void A_NODE_whose_path_and_value_lengths_exceed_the_record_is_refused(int pathLength, int valueLength)
    {
        byte[] body = NodeBody(24, (ushort)pathLength, (ushort)valueLength, 0, "/a\0"u8);

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseNode(body));
    }

    [Fact]
    public void A_NODE_whose_permissions_run_past_the_record_is_refused()
    {
        byte[] body = NodeBody(24, 2, 0, 3, "n\0\0\0"u8); // 16 + 3 * 4 = 28 > 24

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseNode(body));
        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseNode(NodeBody(24, 2, 0, 65535, "n\0\0\0"u8)));
    }

    [Fact]
    public void A_NODE_whose_path_lacks_its_NUL_is_refused()
    {
        byte[] body = NodeBody(24, 8, 0, 0, "/abcdefg"u8); // path-len 8, and the 8th byte is 'g'

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseNode(body));
        Assert.Equal("/abcdef", MigrationStream.ParseNode(NodeBody(24, 8, 0, 0, "/abcdef\0"u8)).Path);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public void A_NODE_whose_path_is_empty_or_absent_is_refused(int pathLength)
    {
        byte[] body = NodeBody(24, (ushort)pathLength, 0, 0, "\0"u8);

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseNode(body));
    }

    [Theory]
    [InlineData((byte)'x')]
    [InlineData((byte)'R')]
    [InlineData((byte)0)]
    [InlineData((byte)'5')]
    public void A_NODE_with_an_unknown_permission_letter_is_refused(byte letter)
    {
        byte[] body = NodeBody(24, 2, 0, 1, [letter, 0, 1, 0, (byte)'/', 0]);

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseNode(body));
    }

    [Fact]
    public void A_NODE_shorter_than_its_fixed_part_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseNode(new byte[15]));
    }

    [Theory]
    [InlineData(6, 4)] // 6 + 4 = 10 > 8 after the fixed part
    [InlineData(2, 7)]
    [InlineData(9, 1)]
    [InlineData(65535, 65535)]
    public void A_WATCH_whose_lengths_exceed_the_record_is_refused(int pathLength, int tokenLength)
    {
        byte[] body = WatchBody(16, 8, (ushort)pathLength, (ushort)tokenLength, "/a\0t\0\0\0\0"u8);

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseWatch(MigrationStream.RecordType.Watch, body));
    }

    [Theory]
    [InlineData(6, 4)] // 12 + 10 > 16
    [InlineData(4, 1)] // 12 + 5 > 16
    public void A_WATCH_EXT_whose_lengths_exceed_the_record_is_refused(int pathLength, int tokenLength)
    {
        byte[] body = WatchBody(16, 12, (ushort)pathLength, (ushort)tokenLength, "/a\0\0"u8);

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseWatch(MigrationStream.RecordType.WatchExtended, body));
    }

    [Theory]
    [InlineData(0, 2)]
    [InlineData(1, 2)]
    [InlineData(3, 0)]
    public void A_WATCH_with_an_empty_or_absent_path_or_an_absent_token_is_refused(int pathLength, int tokenLength)
    {
        byte[] body = WatchBody(16, 8, (ushort)pathLength, (ushort)tokenLength, "/a\0t\0\0\0\0"u8);

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseWatch(MigrationStream.RecordType.Watch, body));
    }

    [Fact]
    public void A_WATCH_whose_path_or_token_lacks_its_NUL_is_refused()
    {
        byte[] noPathNul = WatchBody(16, 8, 2, 2, "/at\0\0\0\0\0"u8);
        byte[] noTokenNul = WatchBody(16, 8, 3, 2, "/a\0tt\0\0\0"u8);

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseWatch(MigrationStream.RecordType.Watch, noPathNul));
        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseWatch(MigrationStream.RecordType.Watch, noTokenNul));
        Assert.Equal("t", MigrationStream.ParseWatch(MigrationStream.RecordType.Watch, WatchBody(16, 8, 3, 2, "/a\0t\0\0\0\0"u8)).Token);
    }

    [Fact]
    public void A_WATCH_or_WATCH_EXT_shorter_than_its_fixed_part_is_refused()
    {
        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseWatch(MigrationStream.RecordType.Watch, new byte[7]));
        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseWatch(MigrationStream.RecordType.WatchExtended, new byte[8]));
    }

    [Fact]
    public void A_quota_record_with_fewer_names_than_values_is_refused()
    {
        // A GLB_QUOTA of 2 values and one name, 16 bytes with no padding: n-dom-quota 2, two values, "abc\0".
        byte[] body = new byte[16];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 2);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), 1);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(8), 2);
        "abc\0"u8.CopyTo(body.AsSpan(12));
        MigrationStream.Record record = Assert.Single(MigrationStream.Read(StreamOf(MigrationStream.RecordType.GlobalQuota, body), out _));

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseQuotas(record.Body.Span, 4, 2));
    }

    [Fact]
    public void A_quota_record_whose_names_lack_a_final_NUL_is_refused()
    {
        byte[] body = new byte[16];
        BinaryPrimitives.WriteUInt16LittleEndian(body, 1);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), 1);
        "abcdefgh"u8.CopyTo(body.AsSpan(8));

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseQuotas(body, 4, 1));
    }

    [Theory]
    [InlineData(4, 2)] // 4 + 8 > 8
    [InlineData(8, 1)] // 8 + 4 > 8
    [InlineData(4, 65535)]
    public void A_quota_record_whose_values_run_past_the_record_is_refused(int fixedLength, int count)
    {
        byte[] body = new byte[8];

        Assert.Throws<InvalidDataException>(() => MigrationStream.ParseQuotas(body, fixedLength, count));
    }

    // --- 4. Version 1 ---------------------------------------------------------------------------------------------

    [Fact]
    public void A_version_1_stream_is_read_and_its_version_reported()
    {
        byte[] s = Write(w =>
        {
            w.SocketConnection(1, 4, [], []);
            w.Watch(1, "/a", "t", null);
            w.Node("/", "x"u8, [new XsPermission(XsAccess.None, 0)]);
        });
        BinaryPrimitives.WriteUInt32BigEndian(s.AsSpan(8), 1);

        List<MigrationStream.Record> records = MigrationStream.Read(s, out uint version);

        Assert.Equal(1u, version);
        MigrationStream.RecordType[] expected = [MigrationStream.RecordType.Connection, MigrationStream.RecordType.Watch, MigrationStream.RecordType.Node];
        Assert.Equal(expected, records.Select(r => r.Type));
        Assert.Equal((1u, "/a", "t", (int?)null), MigrationStream.ParseWatch(records[1].Type, records[1].Body.Span));
        Assert.Equal("x"u8.ToArray(), MigrationStream.ParseNode(records[2].Body.Span).Value);
    }

    [Fact]
    public void A_hand_made_version_1_stream_of_a_single_TA_is_read()
    {
        byte[] s = new byte[16 + 16 + 8];
        "xenstore"u8.CopyTo(s);
        s[11] = 1; // version 1, big-endian; flags 0
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(16), 4);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(20), 8);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(24), 3);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(28), 9);

        MigrationStream.Record record = Assert.Single(MigrationStream.Read(s, out uint version));

        Assert.Equal(1u, version);
        Assert.Equal(MigrationStream.RecordType.Transaction, record.Type);
        Assert.Equal(9u, BinaryPrimitives.ReadUInt32LittleEndian(record.Body.Span[4..]));
    }

    // --- Helpers --------------------------------------------------------------------------------------------------

    private static byte[] Write(Action<MigrationStream.Writer> write)
    {
        var w = new MigrationStream.Writer();
        write(w);
        return w.End();
    }

    /// <summary>
    /// The body of the one record <paramref name="s"/> holds, after checking the preamble, that record's header (its
    /// type and the <paramref name="length"/> computed by hand) and the END after it.
    /// </summary>
    private static byte[] OnlyRecord(byte[] s, MigrationStream.RecordType type, int length)
    {
        Assert.Equal("xenstore"u8.ToArray(), s[..8]);
        Assert.Equal(0, length % 8);
        Assert.Equal(FirstBody + length + 8, s.Length);
        Assert.Equal((uint)type, BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(16)));
        Assert.Equal((uint)length, BinaryPrimitives.ReadUInt32LittleEndian(s.AsSpan(20)));
        AssertZero(s, s.Length - 8, s.Length);
        return s[FirstBody..(FirstBody + length)];
    }

    private static void AssertZero(byte[] bytes, int from, int to)
    {
        for (int i = from; i < to; i++)
        {
            Assert.True(bytes[i] == 0, $"Byte {i} is 0x{bytes[i]:x2}, not 0.");
        }
    }

    /// <summary>A version 2 stream of one record with <paramref name="body"/> (a multiple of 8 long), then END.</summary>
    private static byte[] StreamOf(MigrationStream.RecordType type, byte[] body)
    {
        byte[] s = new byte[FirstBody + body.Length + 8];
        new MigrationStream.Writer().End().AsSpan(0, 16).CopyTo(s);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(16), (uint)type);
        BinaryPrimitives.WriteUInt32LittleEndian(s.AsSpan(20), (uint)body.Length);
        body.CopyTo(s, FirstBody);
        return s;
    }

    private static byte[] ConnBody(int length, ushort inLength, uint outLength)
    {
        byte[] body = new byte[length];
        BinaryPrimitives.WriteUInt32LittleEndian(body, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(4), MigrationStream.ConnectionSocket);
        BinaryPrimitives.WriteInt32LittleEndian(body.AsSpan(8), 4);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(16), inLength);
        BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(20), outLength);
        body.AsSpan(24).Fill(0xAA);
        return body;
    }

    private static byte[] NodeBody(int length, ushort pathLength, ushort valueLength, ushort permCount, ReadOnlySpan<byte> rest)
    {
        byte[] body = new byte[length];
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(8), pathLength);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(10), valueLength);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(14), permCount);
        rest.CopyTo(body.AsSpan(16));
        return body;
    }

    private static byte[] WatchBody(int length, int fixedLength, ushort pathLength, ushort tokenLength, ReadOnlySpan<byte> strings)
    {
        byte[] body = new byte[length];
        BinaryPrimitives.WriteUInt32LittleEndian(body, 1);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(4), pathLength);
        BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(6), tokenLength);
        strings.CopyTo(body.AsSpan(fixedLength));
        return body;
    }
}
