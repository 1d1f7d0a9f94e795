using Xen.Store.Wire;

namespace Xen.Store.Server.Durability;

/// <summary>
/// The changes one request made, as a journal record's payload: a sequence of operations, each a tag byte and its
/// fields (little-endian integers, length-prefixed Latin-1 strings). Each operation states the new state of one thing
/// whole (a node with its value, permissions, generation and child list; a domain's record; the default quotas), so
/// applying a record is idempotent and needs nothing but the state before it. A snapshot's payload is the same
/// operations for everything the store holds.
/// </summary>
internal static class StoreRecord
{
    /// <summary>The operations of a record.</summary>
    public enum Op : byte
    {
        /// <summary>path, value, permissions, generation, child names: the node now.</summary>
        Node = 1,

        /// <summary>path: the node is gone (its parent's child list comes in the parent's own <see cref="Node"/>).</summary>
        NodeRemoved = 2,

        /// <summary>A domain's record: id, introduced, ring frame, event channel, target, features, own quotas.</summary>
        Domain = 3,

        /// <summary>The default quotas, by name.</summary>
        Quotas = 4,

        /// <summary>The tree's generation counter (the last generation handed out).</summary>
        Generation = 5,

        /// <summary>path, generation, then child names added (1) or removed (0), in order: a change of the child list alone.</summary>
        Children = 6,

        /// <summary>A domain id and every watch of its ring: path as given, absolute path, token, depth (-1: none).</summary>
        Watches = 7,
    }

    private const byte DomainIntroduced = 1;
    private const byte DomainHasTarget = 2;
    private const byte DomainHasQuotas = 4;

    public static void WriteNode(BinaryWriter w, string path, StoreNode node)
    {
        w.Write((byte)Op.Node);
        w.Write(path);
        w.Write(node.Value.Length);
        w.Write(node.Value);
        w.Write((ushort)node.Permissions.Length);
        foreach (XsPermission p in node.Permissions)
        {
            w.Write((byte)p.Access);
            w.Write(p.DomainId);
        }

        w.Write(node.Generation);
        IReadOnlyList<string> children = node.Children;
        w.Write(children.Count);
        foreach (string c in children)
        {
            w.Write(c);
        }
    }

    public static void WriteChildren(BinaryWriter w, string path, long generation, List<(string Name, bool Added)> deltas)
    {
        w.Write((byte)Op.Children);
        w.Write(path);
        w.Write(generation);
        w.Write(deltas.Count);
        foreach (var (name, added) in deltas)
        {
            w.Write(added);
            w.Write(name);
        }
    }

    public static void WriteWatches(BinaryWriter w, uint domainId, IReadOnlyList<StoreWatch> watches)
    {
        w.Write((byte)Op.Watches);
        w.Write(domainId);
        w.Write(watches.Count);
        foreach (StoreWatch watch in watches)
        {
            w.Write(watch.Path);
            w.Write(watch.AbsolutePath);
            w.Write(watch.Token);
            w.Write(watch.Depth ?? -1);
        }
    }

    public static void WriteNodeRemoved(BinaryWriter w, string path)
    {
        w.Write((byte)Op.NodeRemoved);
        w.Write(path);
    }

    public static void WriteDomain(BinaryWriter w, DomainRecord d)
    {
        w.Write((byte)Op.Domain);
        w.Write(d.Id);
        w.Write((byte)((d.Introduced ? DomainIntroduced : 0) | (d.Target.HasValue ? DomainHasTarget : 0) | (d.Quotas is null ? 0 : DomainHasQuotas)));
        w.Write(d.Gfn);
        w.Write(d.Port);
        w.Write(d.Target ?? 0);
        w.Write(d.Features);
        if (d.Quotas is { } q)
        {
            WriteQuotaValues(w, q);
        }
    }

    public static void WriteQuotas(BinaryWriter w, XenStoreQuotas quotas)
    {
        w.Write((byte)Op.Quotas);
        WriteQuotaValues(w, quotas);
    }

    public static void WriteGeneration(BinaryWriter w, long generation)
    {
        w.Write((byte)Op.Generation);
        w.Write(generation);
    }

    /// <summary>Applies every operation of <paramref name="payload"/> to <paramref name="target"/>, in order.</summary>
    /// <exception cref="InvalidDataException">The payload is not a sequence of whole, valid operations.</exception>
    public static void Apply(byte[] payload, int offset, int length, ITarget target)
    {
        using var r = new BinaryReader(new MemoryStream(payload, offset, length, writable: false), XsText.Latin1);
        try
        {
            while (r.BaseStream.Position < r.BaseStream.Length)
            {
                var op = (Op)r.ReadByte();
                switch (op)
                {
                    case Op.Node:
                        string path = ReadPath(r);
                        byte[] value = r.ReadBytes(Count(r.ReadInt32(), 1 << 20));
                        var perms = new XsPermission[Count(r.ReadUInt16(), ushort.MaxValue)];
                        if (perms.Length == 0)
                        {
                            throw new InvalidDataException($"The journalled node {path} has no permissions.");
                        }

                        for (int i = 0; i < perms.Length; i++)
                        {
                            var access = (XsAccess)r.ReadByte();
                            if (!Enum.IsDefined(access))
                            {
                                throw new InvalidDataException($"The journalled node {path} has an invalid permission.");
                            }

                            perms[i] = new XsPermission(access, r.ReadUInt16());
                        }

                        long generation = r.ReadInt64();
                        var children = new List<string>(Count(r.ReadInt32(), 1 << 24));
                        for (int i = children.Capacity; i > 0; i--)
                        {
                            children.Add(r.ReadString());
                        }

                        target.Node(path, new StoreNode(value, perms, children) { Generation = generation });
                        break;
                    case Op.Children:
                        string parent = ReadPath(r);
                        long childrenGeneration = r.ReadInt64();
                        var deltas = new List<(string, bool)>(Count(r.ReadInt32(), 1 << 24));
                        for (int i = deltas.Capacity; i > 0; i--)
                        {
                            bool added = r.ReadBoolean();
                            deltas.Add((r.ReadString(), added));
                        }

                        target.Children(parent, childrenGeneration, deltas);
                        break;
                    case Op.Watches:
                        uint watcher = r.ReadUInt32();
                        var watches = new List<StoreWatch>(Count(r.ReadInt32(), 1 << 20));
                        for (int i = watches.Capacity; i > 0; i--)
                        {
                            string given = r.ReadString();
                            string absolute = r.ReadString();
                            string token = r.ReadString();
                            int depth = r.ReadInt32();
                            if (given.Length == 0 || absolute.Length == 0)
                            {
                                throw new InvalidDataException("A journalled watch has an empty path.");
                            }

                            watches.Add(new StoreWatch(given, absolute, token, depth < 0 ? null : depth));
                        }

                        target.Watches(watcher, watches);
                        break;
                    case Op.NodeRemoved:
                        target.NodeRemoved(ReadPath(r));
                        break;
                    case Op.Domain:
                        var d = new DomainRecord(r.ReadUInt32());
                        byte flags = r.ReadByte();
                        d.Introduced = (flags & DomainIntroduced) != 0;
                        d.Gfn = r.ReadUInt64();
                        d.Port = r.ReadUInt32();
                        uint domainTarget = r.ReadUInt32();
                        d.Target = (flags & DomainHasTarget) != 0 ? domainTarget : null;
                        d.Features = r.ReadUInt32();
                        d.Quotas = (flags & DomainHasQuotas) != 0 ? ReadQuotaValues(r) : null;
                        target.Domain(d);
                        break;
                    case Op.Quotas:
                        target.Quotas(ReadQuotaValues(r));
                        break;
                    case Op.Generation:
                        target.Generation(r.ReadInt64());
                        break;
                    default:
                        throw new InvalidDataException($"Unknown journal operation {(byte)op}.");
                }
            }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("A journal record ends inside an operation.", e);
        }
    }

    /// <summary>Whether <paramref name="payload"/> is a sequence of whole, valid operations (it is read, nothing is applied).</summary>
    public static bool IsValid(byte[] payload, int offset, int length)
    {
        try
        {
            Apply(payload, offset, length, NoTarget.Instance);
            return true;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }

    private static string ReadPath(BinaryReader r)
    {
        string path = r.ReadString();
        if (path != "/" && !XsPath.IsValid(path, false, out _))
        {
            throw new InvalidDataException($"The journal holds an invalid path '{path}'.");
        }

        return path;
    }

    private static int Count(int n, int max) =>
        n >= 0 && n <= max ? n : throw new InvalidDataException($"A journal record holds an impossible count {n}.");

    private static void WriteQuotaValues(BinaryWriter w, XenStoreQuotas q)
    {
        w.Write((byte)XenStoreQuotas.Names.Count);
        foreach (string name in XenStoreQuotas.Names)
        {
            w.Write(name);
            w.Write(q.Get(name)!.Value);
        }
    }

    private static XenStoreQuotas ReadQuotaValues(BinaryReader r)
    {
        var q = new XenStoreQuotas();
        for (int n = r.ReadByte(); n > 0; n--)
        {
            string name = r.ReadString();
            int value = r.ReadInt32();
            q = q.With(name, value) ?? q; // a quota this version does not know is left out
        }

        return q;
    }

    /// <summary>What a record is applied to (the engine, while it recovers).</summary>
    public interface ITarget
    {
        void Node(string path, StoreNode node);

        void NodeRemoved(string path);

        void Children(string path, long generation, List<(string Name, bool Added)> deltas);

        void Domain(DomainRecord domain);

        void Quotas(XenStoreQuotas quotas);

        void Watches(uint domainId, List<StoreWatch> watches);

        void Generation(long generation);
    }

    /// <summary>Takes every operation and keeps none (<see cref="IsValid"/>).</summary>
    private sealed class NoTarget : ITarget
    {
        public static readonly NoTarget Instance = new();

        public void Node(string path, StoreNode node)
        {
        }

        public void NodeRemoved(string path)
        {
        }

        public void Children(string path, long generation, List<(string Name, bool Added)> deltas)
        {
        }

        public void Domain(DomainRecord domain)
        {
        }

        public void Quotas(XenStoreQuotas quotas)
        {
        }

        public void Watches(uint domainId, List<StoreWatch> watches)
        {
        }

        public void Generation(long generation)
        {
        }
    }
}
