using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Xen.Store.Client;
using Xen.Store.Wire;

namespace Xen.Store.Tests.Server;

/// <summary>
/// Random operation sequences from dom0 and two guests, run against the server and against a small model of the
/// tree and its permission rules; every reply must match.
/// </summary>
public class ServerModelTests
{
    private static readonly uint[] Domains = [0, 5, 6];
    private static readonly string[] Paths = ["/a", "/a/b", "/a/b/c", "/a/d", "/e", "/e/f", "x", "x/y", "/local/domain/5/s", "/local/domain/6"];

    public enum Kind
    {
        Write,
        Mkdir,
        Rm,
        Read,
        Directory,
        GetPerms,
        SetPerms,
    }

    public sealed record Op(Kind Kind, uint Domain, string Path, string Value, XsPermission[] Perms)
    {
        public override string ToString() => Kind switch
        {
            Kind.Write => $"dom{Domain} WRITE {Path}={Value}",
            Kind.SetPerms => $"dom{Domain} SET_PERMS {Path} {string.Join(' ', Perms)}",
            _ => $"dom{Domain} {Kind} {Path}",
        };
    }

    private static Gen<Op> OpGen()
    {
        Gen<XsPermission> perm = from letter in Gen.Elements(XsAccess.None, XsAccess.Read, XsAccess.Write, XsAccess.Both)
                                 from dom in Gen.Elements<uint>(Domains)
                                 select new XsPermission(letter, (ushort)dom);
        Gen<XsPermission[]> perms = from n in Gen.Choose(1, 3)
                                    from list in perm.ArrayOf(n)
                                    select list;
        return from kind in Gen.Elements(Enum.GetValues<Kind>())
               from dom in Gen.Elements<uint>(Domains)
               from path in Gen.Elements(Paths)
               from value in Gen.Elements("", "v1", "v2")
               from p in perms
               select new Op(kind, dom, path, value, p);
    }

    [Fact]
    public void Random_operations_from_several_connections_match_the_model()
    {
        Arbitrary<Op[]> ops = OpGen().ArrayOf().ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(150), Prop.ForAll(ops, Sync.Run<Op[]>(RunAgainstModel)));
    }

    [Fact]
    public void Transactional_increments_from_N_connections_end_at_N_times_M()
    {
        Arbitrary<(int, int)> sizes = (from n in Gen.Choose(2, 6) from m in Gen.Choose(1, 8) select (n, m)).ToArbitrary();
        Check.One(Config.QuickThrowOnFailure.WithMaxTest(12), Prop.ForAll(sizes, Sync.Run<(int, int)>(CountAsync)));
    }

    private static async Task CountAsync((int Connections, int Increments) size)
    {
        await using var h = new ServerHarness();
        var first = h.Client();
        var policy = new TransactionRetryPolicy { MaxAttempts = 10_000, MaxDelay = TimeSpan.FromMilliseconds(1) };
        var clients = Enumerable.Range(0, size.Connections).Select(_ => h.Client()).ToArray();
        await Task.WhenAll(clients.Select(c => Task.Run(async () =>
        {
            for (int i = 0; i < size.Increments; i++)
            {
                await c.RunTransactionAsync(async (tx, ct) =>
                {
                    string? text = await tx.TryReadStringAsync("/count", ct);
                    int v = text is null ? 0 : int.Parse(text, CultureInfo.InvariantCulture);
                    await tx.WriteAsync("/count", (v + 1).ToString(CultureInfo.InvariantCulture), ct);
                    return v;
                }, policy);
            }
        })));
        string total = await first.ReadStringAsync("/count");
        if (total != (size.Connections * size.Increments).ToString(CultureInfo.InvariantCulture))
        {
            throw new InvalidOperationException($"{size.Connections} x {size.Increments} increments ended at {total}");
        }
    }

    private static async Task RunAgainstModel(Op[] ops)
    {
        await using var h = new ServerHarness();
        var clients = Domains.ToDictionary(d => d, d => h.Client(d));
        var model = new Model();
        foreach (uint d in new uint[] { 5, 6 })
        {
            string home = XsPath.DomainPath(d);
            await clients[0].MkdirAsync(home);
            await clients[0].SetPermissionsAsync(home, [new XsPermission(XsAccess.None, (ushort)d)]);
            model.Apply(new Op(Kind.Mkdir, 0, home, "", []));
            model.Apply(new Op(Kind.SetPerms, 0, home, "", [new XsPermission(XsAccess.None, (ushort)d)]));
        }

        var log = new StringBuilder();
        foreach (Op op in ops)
        {
            string actual = await Execute(clients[op.Domain], op);
            string expected = model.Apply(op);
            log.AppendLine(CultureInfo.InvariantCulture, $"{op} -> {actual}");
            if (actual != expected)
            {
                throw new InvalidOperationException($"{op}: server answered '{actual}', the model '{expected}'. Sequence:\n{log}");
            }
        }

        if (!h.Server.CheckConsistency())
        {
            throw new InvalidOperationException("The tree is inconsistent after:\n" + log);
        }
    }

    private static async Task<string> Execute(XenStoreClient c, Op op)
    {
        try
        {
            switch (op.Kind)
            {
                case Kind.Write:
                    await c.WriteAsync(op.Path, op.Value);
                    return "OK";
                case Kind.Mkdir:
                    await c.MkdirAsync(op.Path);
                    return "OK";
                case Kind.Rm:
                    await c.RemoveAsync(op.Path);
                    return "OK";
                case Kind.Read:
                    return "=" + await c.ReadStringAsync(op.Path);
                case Kind.Directory:
                    return "[" + string.Join(',', await c.DirectoryAsync(op.Path)) + "]";
                case Kind.GetPerms:
                    return "{" + string.Join(',', await c.GetPermissionsAsync(op.Path)) + "}";
                default:
                    await c.SetPermissionsAsync(op.Path, op.Perms);
                    return "OK";
            }
        }
        catch (XenStoreErrorException e)
        {
            return e.RawError;
        }
    }

    /// <summary>The tree and permission rules of C xenstored, written as plainly as possible.</summary>
    private sealed class Model
    {
        private const int R = 1;
        private const int W = 2;
        private const int O = 4;
        private readonly Dictionary<string, (string Value, XsPermission[] Perms, List<string> Children)> _nodes = new()
        {
            ["/"] = ("", [new XsPermission(XsAccess.None, 0)], ["tool"]),
            ["/tool"] = ("", [new XsPermission(XsAccess.None, 0)], ["xenstored"]),
            ["/tool/xenstored"] = ("", [new XsPermission(XsAccess.None, 0)], []),
        };

        public string Apply(Op op)
        {
            string abs = op.Path[0] == '/' ? op.Path : $"/local/domain/{op.Domain}/{op.Path}";
            uint d = op.Domain;
            switch (op.Kind)
            {
                case Kind.Read:
                    return Check(d, abs, R) ?? "=" + _nodes[abs].Value;
                case Kind.Directory:
                    return Check(d, abs, R) ?? "[" + string.Join(',', _nodes[abs].Children) + "]";
                case Kind.GetPerms:
                    return Check(d, abs, R) ?? "{" + string.Join(',', _nodes[abs].Perms) + "}";
                case Kind.Write:
                case Kind.Mkdir:
                {
                    string? error = Check(d, abs, W);
                    if (error == "ENOENT")
                    {
                        Create(d, abs, op.Kind == Kind.Write ? op.Value : "");
                    }
                    else if (error is not null)
                    {
                        return error;
                    }
                    else if (op.Kind == Kind.Write)
                    {
                        _nodes[abs] = _nodes[abs] with { Value = op.Value };
                    }

                    return "OK";
                }

                case Kind.Rm:
                {
                    string? error = Check(d, abs, W);
                    if (error == "ENOENT")
                    {
                        return _nodes.ContainsKey(Parent(abs)) ? "OK" : "ENOENT";
                    }

                    if (error is not null)
                    {
                        return error;
                    }

                    foreach (string p in _nodes.Keys.Where(k => k == abs || k.StartsWith(abs + "/", StringComparison.Ordinal)).ToList())
                    {
                        _nodes.Remove(p);
                    }

                    _nodes[Parent(abs)].Children.Remove(abs[(abs.LastIndexOf('/') + 1)..]);
                    return "OK";
                }

                default:
                {
                    string? error = Check(d, abs, W | O);
                    if (error is not null)
                    {
                        return error;
                    }

                    if (d != 0 && op.Perms[0].DomainId != _nodes[abs].Perms[0].DomainId)
                    {
                        return "EPERM";
                    }

                    _nodes[abs] = _nodes[abs] with { Perms = op.Perms };
                    return "OK";
                }
            }
        }

        private static string Parent(string abs) => abs.LastIndexOf('/') == 0 ? "/" : abs[..abs.LastIndexOf('/')];

        private static int Access(uint d, XsPermission[] perms)
        {
            if (d == 0 || perms[0].DomainId == d)
            {
                return R | W | O;
            }

            XsPermission p = perms.Skip(1).FirstOrDefault(x => x.DomainId == d, perms[0]);
            return (p.CanRead ? R : 0) | (p.CanWrite ? W : 0);
        }

        private string? Check(uint d, string abs, int need)
        {
            if (_nodes.TryGetValue(abs, out var node))
            {
                return (Access(d, node.Perms) & need) == need ? null : "EACCES";
            }

            if (d == 0)
            {
                return "ENOENT";
            }

            string p = abs;
            do
            {
                p = Parent(p);
            }
            while (!_nodes.ContainsKey(p));
            int rw = need & (R | W);
            return (Access(d, _nodes[p].Perms) & rw) == rw ? "ENOENT" : "EACCES";
        }

        private void Create(uint d, string abs, string value)
        {
            string parent = Parent(abs);
            if (!_nodes.ContainsKey(parent))
            {
                Create(d, parent, "");
            }

            XsPermission[] perms = [.. _nodes[parent].Perms];
            if (d != 0)
            {
                perms[0] = perms[0] with { DomainId = (ushort)d };
            }

            _nodes[parent].Children.Add(abs[(abs.LastIndexOf('/') + 1)..]);
            _nodes[abs] = (value, perms, []);
        }
    }
}

/// <summary>Runs an async property body to completion for FsCheck, which checks synchronous properties.</summary>
internal static class Sync
{
    public static Action<T> Run<T>(Func<T, Task> body) => value => body(value).GetAwaiter().GetResult();
}
