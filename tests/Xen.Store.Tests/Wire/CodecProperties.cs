using System.Buffers;
using System.Text.RegularExpressions;
using FsCheck;
using FsCheck.Fluent;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Wire;

public partial class CodecProperties
{
    private static readonly Config Config = Config.QuickThrowOnFailure.WithMaxTest(300);

    private static readonly Gen<string> Segment =
        Gen.Elements("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_@".ToCharArray())
            .ArrayOf().Where(a => a.Length is > 0 and < 12).Select(a => new string(a));

    private static readonly Gen<string> ValidPath =
        from absolute in Gen.Elements(true, false)
        from parts in Segment.ArrayOf().Where(p => p.Length is > 0 and < 8)
        select (absolute ? "/" : string.Empty) + string.Join('/', parts);

    [Fact]
    public void Any_message_written_reads_back_as_the_same_header_arguments_and_tail()
    {
        var gen =
            from type in Gen.Elements(Enum.GetValues<XsMessageType>())
            from reqId in ArbMap.Default.GeneratorFor<uint>()
            from txId in ArbMap.Default.GeneratorFor<uint>()
            from args in ValidPath.ArrayOf().Where(a => a.Length < 6)
            from tail in ArbMap.Default.GeneratorFor<byte[]>().Where(t => t.Length < 300)
            select (type, reqId, txId, args, tail);
        Prop.ForAll(gen.ToArbitrary(), m =>
        {
            var w = new ArrayBufferWriter<byte>();
            XsMessageWriter.Write(w, m.type, m.reqId, m.txId, m.args, m.tail);
            var seq = new ReadOnlySequence<byte>(w.WrittenMemory);
            Assert.Equal(XsFrameStatus.Frame, XsFrameReader.Take(ref seq, out XsHeader h, out ReadOnlySequence<byte> payload));
            Assert.True(seq.IsEmpty);
            Assert.Equal((m.type, m.reqId, m.txId), (h.Type, h.RequestId, h.TransactionId));
            byte[] p = payload.ToArray();
            int at = 0;
            foreach (string arg in m.args)
            {
                int nul = Array.IndexOf(p, (byte)0, at);
                Assert.Equal(arg, System.Text.Encoding.UTF8.GetString(p, at, nul - at));
                at = nul + 1;
            }

            Assert.Equal(m.tail, p[at..]);
            if (m.tail.Length == 0)
            {
                Assert.Equal(m.args, XsPayload.Strings(p));
            }
        }).Check(Config);
    }

    [Fact]
    public void Generated_paths_are_valid_and_each_kind_of_damage_makes_them_invalid()
    {
        var gen =
            from path in ValidPath
            from damage in Gen.Choose(0, 4)
            from at in Gen.Choose(0, 1000)
            from bad in Gen.Elements(' ', '.', '\0', '\n', 'é', '*', '\\', ':')
            select (path, damage, at, bad);
        Prop.ForAll(gen.ToArbitrary(), c =>
        {
            if (c.path[0] == '@')
            {
                return; // special-path rules are tested separately
            }

            Assert.True(XsPath.IsValid(c.path, false, out _));
            int i = c.at % (c.path.Length + 1);
            string broken = c.damage switch
            {
                0 => c.path.Insert(i, c.bad.ToString()),
                1 => c.path.Insert(i, "//"),
                2 => c.path + "/",
                3 => (c.path[0] == '/' ? "/" : string.Empty) + new string('a', 3073),
                _ => string.Empty,
            };
            Assert.False(XsPath.IsValid(broken, false, out string? reason));
            Assert.False(string.IsNullOrEmpty(reason));
        }).Check(Config);
    }

    [Fact]
    public void Permissions_round_trip_and_parse_exactly_the_strict_grammar()
    {
        var perm = from a in Gen.Elements(Enum.GetValues<XsAccess>()) from d in ArbMap.Default.GeneratorFor<ushort>() select new XsPermission(a, d);
        Prop.ForAll(perm.ToArbitrary(), p => Assert.Equal(p, XsPermission.Parse(p.ToString()))).Check(Config);

        var text = Gen.Elements("nrwbxR0123456789 -+".ToCharArray()).ArrayOf().Where(a => a.Length < 9).Select(a => new string(a));
        Prop.ForAll(text.ToArbitrary(), s =>
        {
            bool grammar = StrictPermission().IsMatch(s) && int.Parse(s.AsSpan(1), System.Globalization.CultureInfo.InvariantCulture) <= 65535;
            Assert.Equal(grammar, XsPermission.TryParse(s, out _));
        }).Check(Config);
    }

    [Fact]
    public void Arbitrary_bytes_never_escape_the_frame_reader_and_parsers_except_as_protocol_errors()
    {
        Prop.ForAll(ArbMap.Default.ArbFor<byte[]>(), bytes =>
        {
            var seq = new ReadOnlySequence<byte>(bytes);
            {
                while (XsFrameReader.Take(ref seq, out _, out ReadOnlySequence<byte> payload) == XsFrameStatus.Frame)
                {
                    byte[] p = payload.ToArray();
                    Parse(() => XsPayload.Strings(p));
                    Parse(() => XsPayload.Permissions(p));
                    Parse(() => XsPayload.TransactionId(p));
                    Parse(() => XsPayload.WatchEvent(p));
                    Parse(() => XsPayload.DirectoryPart(p, out _, out _, out _));
                    Parse(() => XsPayload.Boolean(p, XsMessageType.IsDomainIntroduced));
                }
            }
        }).Check(Config);

        static void Parse(Action parse)
        {
            try
            {
                parse();
            }
            catch (XenStoreProtocolException)
            {
            }
        }
    }

    [Fact]
    public async Task Mutated_reply_streams_fail_the_client_only_with_xenstore_errors_and_never_hang()
    {
        var gen =
            from flips in Gen.Choose(0, 255).Two().ArrayOf().Where(f => f.Length is > 0 and < 6)
            from chunk in Gen.Choose(1, 40)
            select (flips, chunk);
        var cases = gen.Sample(150, 40);
        foreach (var (flips, chunk) in cases)
        {
            var daemon = new Client.FakeDaemon { ChunkSize = chunk };
            daemon.OnRequest = (d, h, args, _) =>
            {
                var w = new ArrayBufferWriter<byte>();
                XsMessageWriter.WriteRaw(w, h.Type, h.RequestId, 0, "some value bytes"u8);
                XsMessageWriter.WriteRaw(w, XsMessageType.WatchEvent, 0, 0, "/p\0tok\0"u8);
                byte[] reply = w.WrittenSpan.ToArray();
                foreach (var (pos, value) in flips)
                {
                    reply[pos % reply.Length] = (byte)value;
                }

                d.Raw(reply);
                d.Close();
            };
            await using var client = XenStoreClient.Create(daemon);
            try
            {
                await client.ReadAsync("/x").AsTask().WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (XenStoreException)
            {
                // protocol, connection or daemon error: all are the documented outcomes
            }
        }
    }

    [GeneratedRegex("^[nrwb][0-9]{1,5}$")]
    private static partial Regex StrictPermission();
}
