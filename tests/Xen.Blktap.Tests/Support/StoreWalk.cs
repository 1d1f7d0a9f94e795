using Xen.Blktap.DeviceStore;

namespace Xen.Blktap.Tests.Support;

internal static class StoreWalk
{
    /// <summary>Every path at or below <paramref name="roots"/>.</summary>
    public static async Task<List<string>> AllAsync(IDeviceStore store, params string[] roots)
    {
        var paths = new List<string>();
        var pending = new Stack<string>(roots);
        while (pending.Count > 0)
        {
            string path = pending.Pop();
            if (await store.ReadAsync(path) is null)
            {
                continue;
            }

            paths.Add(path);
            foreach (string child in await store.ListAsync(path))
            {
                pending.Push(path == "/" ? "/" + child : $"{path}/{child}");
            }
        }

        return paths;
    }
}
