using System.Buffers;
using System.Buffers.Binary;
using Xen.Store.Wire;

namespace Xen.Store.Server.LiveUpdate;

/// <summary>
/// Xen's xenstore migration stream (<c>tools/xenstored/xenstore_state.h</c>, <c>docs/designs/xenstore-migration.md</c>),
/// version 2: a 16-byte preamble (<c>"xenstore"</c>, the version big-endian, the endianness flags), then records, each
/// an 8-byte header (type, length) and a body padded to a multiple of 8 bytes, ending with an END record. Integers in
/// records are in the host's byte order (little-endian here, flags 0), as the preamble's flags say.
/// </summary>
/// <remarks>
/// The writer lays records out as the design document draws them; where C xenstored's own dump departs from it (its
/// WATCH_EXT writes only the first 8 bytes of the 12-byte fixed part, so the depth and the path are misplaced) the
/// document wins. The reader checks every length against the record it sits in: a stream that lies about a length is
/// refused with <see cref="InvalidDataException"/>, never read past.
/// </remarks>
internal static class MigrationStream
{
    public const uint Version = 2;

    public const int PreambleLength = 16;

    public const int HeaderLength = 8;

    /// <summary>The record types (<c>XS_STATE_TYPE_*</c>).</summary>
    public enum RecordType : uint
    {
        End = 0,
        Global = 1,
        Connection = 2,
        Watch = 3,
        Transaction = 4,
        Node = 5,
        GlobalQuota = 6,
        Domain = 7,
        WatchExtended = 8,
    }

    /// <summary><c>XS_STATE_CONN_TYPE_*</c>.</summary>
    public const ushort ConnectionRing = 0;

    /// <summary><c>XS_STATE_CONN_TYPE_SOCKET</c>.</summary>
    public const ushort ConnectionSocket = 1;

    /// <summary><c>DOMID_INVALID</c>: a ring connection's tdomid when SET_TARGET gave it none.</summary>
    public const ushort DomidInvalid = 0x7FF4;

    /// <summary>A WATCH_EXT depth of "unlimited" (the document's 0xffff).</summary>
    public const ushort UnlimitedDepth = 0xFFFF;

    /// <summary>The connection record's fixed part: conn-id, conn-type, fields, conn-spec (8), in-data-len, out-resp-len, out-data-len.</summary>
    public const int ConnectionFixedLength = 24;

    /// <summary>The node record's fixed part: conn-id, tx-id, path-len, value-len, access, perm-count.</summary>
    public const int NodeFixedLength = 16;

    private static ReadOnlySpan<byte> Ident => "xenstore"u8;

    /// <summary>The bytes a body of <paramref name="length"/> takes, padded to 8.</summary>
    public static int Padded(int length) => (length + 7) & ~7;

    /// <summary>Builds a stream in memory (a live update's state is a few megabytes at most).</summary>
    public sealed class Writer
    {
        private readonly ArrayBufferWriter<byte> _stream = new();

        public Writer()
        {
            Span<byte> preamble = stackalloc byte[PreambleLength];
            Ident.CopyTo(preamble);
            BinaryPrimitives.WriteUInt32BigEndian(preamble[8..], Version);
            BinaryPrimitives.WriteUInt32LittleEndian(preamble[12..], 0); // little endian
            _stream.Write(preamble);
        }

        /// <summary>GLOBAL: the listening socket's descriptor (-1: none) and the event channel driver's (-1: none kept).</summary>
        public void Global(int socketFd, int eventChannelFd)
        {
            Span<byte> body = stackalloc byte[8];
            BinaryPrimitives.WriteInt32LittleEndian(body, socketFd);
            BinaryPrimitives.WriteInt32LittleEndian(body[4..], eventChannelFd);
            Record(RecordType.Global, body);
        }

        /// <summary>CONN of a domain's ring: <paramref name="port"/> is the event channel port it is reached on.</summary>
        public void RingConnection(uint id, ushort domainId, ushort targetDomainId, uint port, ReadOnlySpan<byte> input, ReadOnlySpan<byte> output)
        {
            Span<byte> spec = stackalloc byte[8];
            BinaryPrimitives.WriteUInt16LittleEndian(spec, domainId);
            BinaryPrimitives.WriteUInt16LittleEndian(spec[2..], targetDomainId);
            BinaryPrimitives.WriteUInt32LittleEndian(spec[4..], port);
            Connection(id, ConnectionRing, spec, input, output);
        }

        /// <summary>CONN of a Unix-socket client: its descriptor, inherited by the new process.</summary>
        public void SocketConnection(uint id, int fd, ReadOnlySpan<byte> input, ReadOnlySpan<byte> output)
        {
            Span<byte> spec = stackalloc byte[8];
            BinaryPrimitives.WriteInt32LittleEndian(spec, fd);
            Connection(id, ConnectionSocket, spec, input, output);
        }

        /// <summary>WATCH (no depth) or WATCH_EXT: the path as the WATCH gave it, and the token.</summary>
        public void Watch(uint connectionId, string path, string token, int? depth)
        {
            int pathLength = XsText.Latin1.GetByteCount(path) + 1;
            int tokenLength = XsText.Latin1.GetByteCount(token) + 1;
            int fixedLength = depth is null ? 8 : 12;
            byte[] body = new byte[Padded(fixedLength + pathLength + tokenLength)];
            BinaryPrimitives.WriteUInt32LittleEndian(body, connectionId);
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(4), checked((ushort)pathLength));
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(6), checked((ushort)tokenLength));
            if (depth is int d)
            {
                BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(8), (ushort)Math.Min(d, UnlimitedDepth - 1));
            }

            XsText.Latin1.GetBytes(path, body.AsSpan(fixedLength));
            XsText.Latin1.GetBytes(token, body.AsSpan(fixedLength + pathLength));
            Record(depth is null ? RecordType.Watch : RecordType.WatchExtended, body);
        }

        /// <summary>TA: a transaction open on a connection.</summary>
        public void Transaction(uint connectionId, uint transactionId)
        {
            Span<byte> body = stackalloc byte[8];
            BinaryPrimitives.WriteUInt32LittleEndian(body, connectionId);
            BinaryPrimitives.WriteUInt32LittleEndian(body[4..], transactionId);
            Record(RecordType.Transaction, body);
        }

        /// <summary>NODE of the committed tree (conn-id and tx-id 0): its absolute path, value and permissions.</summary>
        public void Node(string path, ReadOnlySpan<byte> value, ReadOnlySpan<XsPermission> permissions)
        {
            int pathLength = XsText.Latin1.GetByteCount(path) + 1;
            int permsLength = permissions.Length * 4;
            byte[] body = new byte[Padded(NodeFixedLength + permsLength + pathLength + value.Length)];
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(8), checked((ushort)pathLength));
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(10), checked((ushort)value.Length));
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(14), checked((ushort)permissions.Length));
            for (int i = 0; i < permissions.Length; i++)
            {
                Span<byte> perm = body.AsSpan(NodeFixedLength + (i * 4), 4);
                perm[0] = (byte)XsPermission.Letter(permissions[i].Access);
                BinaryPrimitives.WriteUInt16LittleEndian(perm[2..], permissions[i].DomainId);
            }

            int at = NodeFixedLength + permsLength;
            XsText.Latin1.GetBytes(path, body.AsSpan(at));
            value.CopyTo(body.AsSpan(at + pathLength));
            Record(RecordType.Node, body);
        }

        /// <summary>GLB_QUOTA: the default per-domain quotas by name (no global-only ones).</summary>
        public void GlobalQuota(IReadOnlyList<(string Name, int Value)> quotas)
        {
            byte[] body = QuotaBody(4, quotas);
            BinaryPrimitives.WriteUInt16LittleEndian(body, (ushort)quotas.Count); // n-glob-quota 0: every quota here is per domain
            Record(RecordType.GlobalQuota, body);
        }

        /// <summary>DOMAIN: a domain's features and its own quotas by name (none: it uses the defaults).</summary>
        public void Domain(ushort domainId, uint features, IReadOnlyList<(string Name, int Value)> quotas)
        {
            byte[] body = QuotaBody(8, quotas);
            BinaryPrimitives.WriteUInt16LittleEndian(body, domainId);
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(2), (ushort)quotas.Count);
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(4), features);
            Record(RecordType.Domain, body);
        }

        /// <summary>Ends the stream and returns it whole.</summary>
        public byte[] End()
        {
            Record(RecordType.End, []);
            return _stream.WrittenSpan.ToArray();
        }

        private static byte[] QuotaBody(int fixedLength, IReadOnlyList<(string Name, int Value)> quotas)
        {
            int names = 0;
            foreach (var (name, _) in quotas)
            {
                names += XsText.Latin1.GetByteCount(name) + 1;
            }

            byte[] body = new byte[Padded(fixedLength + (quotas.Count * 4) + names)];
            int at = fixedLength + (quotas.Count * 4);
            for (int i = 0; i < quotas.Count; i++)
            {
                BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(fixedLength + (i * 4)), (uint)Math.Max(0, quotas[i].Value));
                at += XsText.Latin1.GetBytes(quotas[i].Name, body.AsSpan(at)) + 1;
            }

            return body;
        }

        private void Connection(uint id, ushort type, ReadOnlySpan<byte> spec, ReadOnlySpan<byte> input, ReadOnlySpan<byte> output)
        {
            byte[] body = new byte[Padded(ConnectionFixedLength + input.Length + output.Length)];
            BinaryPrimitives.WriteUInt32LittleEndian(body, id);
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(4), type);
            spec.CopyTo(body.AsSpan(8));
            BinaryPrimitives.WriteUInt16LittleEndian(body.AsSpan(16), checked((ushort)input.Length));
            BinaryPrimitives.WriteUInt32LittleEndian(body.AsSpan(20), (uint)output.Length); // out-resp-len 0: no partial response is built
            input.CopyTo(body.AsSpan(ConnectionFixedLength));
            output.CopyTo(body.AsSpan(ConnectionFixedLength + input.Length));
            Record(RecordType.Connection, body);
        }

        private void Record(RecordType type, ReadOnlySpan<byte> body)
        {
            Span<byte> header = stackalloc byte[HeaderLength];
            BinaryPrimitives.WriteUInt32LittleEndian(header, (uint)type);
            BinaryPrimitives.WriteUInt32LittleEndian(header[4..], (uint)Padded(body.Length));
            _stream.Write(header);
            _stream.Write(body);
            _stream.Write(new byte[Padded(body.Length) - body.Length].AsSpan());
        }
    }

    /// <summary>One record: its type and body (padding included).</summary>
    public readonly record struct Record(RecordType Type, ReadOnlyMemory<byte> Body);

    /// <summary>
    /// The records of <paramref name="stream"/> up to its END, checked for a known preamble and records that fit.
    /// </summary>
    /// <exception cref="InvalidDataException">The preamble is not a little-endian version 1 or 2 stream, a record runs past the end, or there is no END.</exception>
    public static List<Record> Read(ReadOnlyMemory<byte> stream, out uint version)
    {
        ReadOnlySpan<byte> s = stream.Span;
        if (s.Length < PreambleLength || !s[..8].SequenceEqual(Ident))
        {
            throw new InvalidDataException("Not a xenstore migration stream (no \"xenstore\" preamble).");
        }

        version = BinaryPrimitives.ReadUInt32BigEndian(s[8..]);
        if (version is 0 or > Version || BinaryPrimitives.ReadUInt32LittleEndian(s[12..]) != 0)
        {
            throw new InvalidDataException($"A xenstore migration stream of version {version}, flags {BinaryPrimitives.ReadUInt32LittleEndian(s[12..])}: only little-endian versions 1 and 2 are read.");
        }

        var records = new List<Record>();
        int at = PreambleLength;
        while (true)
        {
            if (s.Length - at < HeaderLength)
            {
                throw new InvalidDataException($"The migration stream ends at byte {s.Length} without an END record.");
            }

            var type = (RecordType)BinaryPrimitives.ReadUInt32LittleEndian(s[at..]);
            uint length = BinaryPrimitives.ReadUInt32LittleEndian(s[(at + 4)..]);
            at += HeaderLength;
            if (type == RecordType.End)
            {
                return records;
            }

            if (length > (uint)(s.Length - at))
            {
                throw new InvalidDataException($"A record of type {(uint)type} at byte {at - HeaderLength} claims {length} bytes; {s.Length - at} are left.");
            }

            records.Add(new Record(type, stream.Slice(at, (int)length)));
            at += (int)length;
        }
    }

    /// <summary>A CONN record's fields.</summary>
    public readonly record struct ConnectionRecord(
        uint Id, ushort Type, ushort DomainId, ushort TargetDomainId, uint Port, int SocketFd, ReadOnlyMemory<byte> Input, ReadOnlyMemory<byte> Output);

    /// <exception cref="InvalidDataException">The lengths do not fit the record.</exception>
    public static ConnectionRecord ParseConnection(ReadOnlyMemory<byte> body)
    {
        ReadOnlySpan<byte> b = Need(body.Span, ConnectionFixedLength, "CONN");
        ushort type = BinaryPrimitives.ReadUInt16LittleEndian(b[4..]);
        int input = BinaryPrimitives.ReadUInt16LittleEndian(b[16..]);
        uint output = BinaryPrimitives.ReadUInt32LittleEndian(b[20..]);
        if ((long)input + output > b.Length - ConnectionFixedLength)
        {
            throw new InvalidDataException($"A CONN record of {b.Length} bytes claims {input} bytes read and {output} to write.");
        }

        return new ConnectionRecord(
            BinaryPrimitives.ReadUInt32LittleEndian(b),
            type,
            BinaryPrimitives.ReadUInt16LittleEndian(b[8..]),
            BinaryPrimitives.ReadUInt16LittleEndian(b[10..]),
            BinaryPrimitives.ReadUInt32LittleEndian(b[12..]),
            BinaryPrimitives.ReadInt32LittleEndian(b[8..]),
            body.Slice(ConnectionFixedLength, input),
            body.Slice(ConnectionFixedLength + input, (int)output));
    }

    /// <summary>A WATCH or WATCH_EXT record's fields (depth null: the whole subtree).</summary>
    public static (uint ConnectionId, string Path, string Token, int? Depth) ParseWatch(RecordType type, ReadOnlySpan<byte> body)
    {
        int fixedLength = type == RecordType.WatchExtended ? 12 : 8;
        ReadOnlySpan<byte> b = Need(body, fixedLength, "WATCH");
        int pathLength = BinaryPrimitives.ReadUInt16LittleEndian(b[4..]);
        int tokenLength = BinaryPrimitives.ReadUInt16LittleEndian(b[6..]);
        ushort depth = type == RecordType.WatchExtended ? BinaryPrimitives.ReadUInt16LittleEndian(b[8..]) : UnlimitedDepth;
        ReadOnlySpan<byte> strings = b[fixedLength..];
        if (pathLength < 2 || tokenLength < 1 || pathLength + tokenLength > strings.Length)
        {
            throw new InvalidDataException($"A watch record of {b.Length} bytes claims a {pathLength}-byte path and a {tokenLength}-byte token.");
        }

        return (BinaryPrimitives.ReadUInt32LittleEndian(b), CString(strings[..pathLength]), CString(strings.Slice(pathLength, tokenLength)),
            depth == UnlimitedDepth ? null : depth);
    }

    /// <summary>A NODE record's fields: conn-id and tx-id (non-zero: a transaction's pending node), path, value, permissions.</summary>
    public static (uint ConnectionId, string Path, byte[] Value, XsPermission[] Permissions) ParseNode(ReadOnlySpan<byte> body)
    {
        ReadOnlySpan<byte> b = Need(body, NodeFixedLength, "NODE");
        int pathLength = BinaryPrimitives.ReadUInt16LittleEndian(b[8..]);
        int valueLength = BinaryPrimitives.ReadUInt16LittleEndian(b[10..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(b[14..]);
        int at = NodeFixedLength + (count * 4);
        if (pathLength < 2 || at + pathLength + valueLength > b.Length)
        {
            throw new InvalidDataException($"A NODE record of {b.Length} bytes claims {count} permissions, a {pathLength}-byte path and a {valueLength}-byte value.");
        }

        var permissions = new XsPermission[count];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> p = b.Slice(NodeFixedLength + (i * 4), 4);
            if (!XsPermission.TryParse($"{(char)p[0]}{BinaryPrimitives.ReadUInt16LittleEndian(p[2..])}", out permissions[i]))
            {
                throw new InvalidDataException($"A NODE record has the permission letter 0x{p[0]:x2}.");
            }
        }

        return (BinaryPrimitives.ReadUInt32LittleEndian(b), CString(b.Slice(at, pathLength)), b.Slice(at + pathLength, valueLength).ToArray(), permissions);
    }

    /// <summary>A GLB_QUOTA record's (or a DOMAIN record's, after its fixed part) quota values by name.</summary>
    public static List<(string Name, uint Value)> ParseQuotas(ReadOnlySpan<byte> body, int fixedLength, int count)
    {
        ReadOnlySpan<byte> b = Need(body, fixedLength + (count * 4), "quota");
        var quotas = new List<(string, uint)>(count);
        ReadOnlySpan<byte> names = b[(fixedLength + (count * 4))..];
        for (int i = 0; i < count; i++)
        {
            int end = names.IndexOf((byte)0);
            if (end <= 0) // none, or an empty name (the padding after fewer names than values)
            {
                throw new InvalidDataException($"A quota record names {i} of its {count} values.");
            }

            quotas.Add((XsText.Latin1.GetString(names[..end]), BinaryPrimitives.ReadUInt32LittleEndian(b[(fixedLength + (i * 4))..])));
            names = names[(end + 1)..];
        }

        return quotas;
    }

    private static ReadOnlySpan<byte> Need(ReadOnlySpan<byte> body, int length, string what) =>
        body.Length >= length ? body : throw new InvalidDataException($"A {what} record of {body.Length} bytes is shorter than its fixed {length}.");

    /// <summary>A string stored with its NUL (the NUL must be there).</summary>
    private static string CString(ReadOnlySpan<byte> withNul) =>
        withNul[^1] == 0 ? XsText.Latin1.GetString(withNul[..^1]) : throw new InvalidDataException("A string in a record lacks its NUL.");
}
