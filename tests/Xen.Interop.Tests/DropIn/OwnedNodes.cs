using Xen.Store.Client;

namespace Xen.Interop.Tests.DropIn;

/// <summary>What a guest owns in the store, counted as its node quota counts it (for the tests of guests across a restart or an update).</summary>
internal static class OwnedNodes
{
    /// <summary>How many nodes at and under <paramref name="path"/> <paramref name="domainId"/> owns (its first permission's domain).</summary>
    public static async Task<int> CountAsync(XenStoreClient client, string path, uint domainId)
    {
        int owned = (await client.GetPermissionsAsync(path))[0].DomainId == domainId ? 1 : 0;
        foreach (string child in await client.DirectoryAsync(path))
        {
            owned += await CountAsync(client, $"{path}/{child}", domainId);
        }

        return owned;
    }
}
