using Xen.Store.Wire;

namespace Xen.Store.Server;

/// <summary>
/// The saved form of the tree: a magic line, then every node parents first (in each parent's child order) as
/// length-prefixed path, value and permission strings. Only nodes are kept; connections, watches, transactions and
/// domains belong to a running server.
/// </summary>
internal static class StoreSnapshot
{
    private static readonly byte[] Magic = "xen-protocols xenstore tree 1\n"u8.ToArray();

    /// <summary>The saved form of <paramref name="tree"/>; the caller holds the engine's lock.</summary>
    public static byte[] Save(StoreTree tree)
    {
        using var stream = new MemoryStream();
        using (var w = new BinaryWriter(stream, XsText.Latin1, leaveOpen: true))
        {
            w.Write(Magic);
            w.Write(tree.Count);
            var stack = new Stack<string>();
            stack.Push("/");
            while (stack.TryPop(out string? path))
            {
                StoreNode node = tree.Get(path)!;
                w.Write(path);
                w.Write(node.Value.Length);
                w.Write(node.Value);
                w.Write(node.Permissions.Length);
                foreach (XsPermission p in node.Permissions)
                {
                    w.Write(p.ToString());
                }

                for (int i = node.Children.Count - 1; i >= 0; i--)
                {
                    stack.Push(path == "/" ? "/" + node.Children[i] : path + "/" + node.Children[i]);
                }
            }
        }

        return stream.ToArray();
    }

    /// <summary>The nodes of a saved tree, parents first.</summary>
    /// <exception cref="InvalidDataException">The bytes are not a saved tree.</exception>
    public static List<(string Path, byte[] Value, XsPermission[] Permissions)> Parse(byte[] bytes)
    {
        var nodes = new List<(string, byte[], XsPermission[])>();
        try
        {
            using var r = new BinaryReader(new MemoryStream(bytes), XsText.Latin1);
            if (!r.ReadBytes(Magic.Length).AsSpan().SequenceEqual(Magic))
            {
                throw new InvalidDataException("Not a saved xenstore tree.");
            }

            int count = r.ReadInt32();
            for (int i = 0; i < count; i++)
            {
                string path = r.ReadString();
                if (path != "/" && !XsPath.IsValid(path, false, out _))
                {
                    throw new InvalidDataException($"The saved tree holds an invalid path '{path}'.");
                }

                byte[] value = r.ReadBytes(r.ReadInt32());
                var perms = new XsPermission[r.ReadInt32()];
                if (perms.Length == 0)
                {
                    throw new InvalidDataException($"The saved node {path} has no permissions.");
                }

                for (int j = 0; j < perms.Length; j++)
                {
                    if (!XsPermission.TryParse(r.ReadString(), out perms[j]))
                    {
                        throw new InvalidDataException($"The saved node {path} has an invalid permission.");
                    }
                }

                nodes.Add((path, value, perms));
            }
        }
        catch (EndOfStreamException e)
        {
            throw new InvalidDataException("The saved xenstore tree is truncated.", e);
        }

        return nodes;
    }
}
