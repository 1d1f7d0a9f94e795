namespace Xen.Rings.Tests.Native;

/// <summary>
/// The tests that run <c>xen_ring_peer</c>: they share one build of it and run one at a time, each with its own
/// page file.
/// </summary>
[CollectionDefinition(Name)]
public sealed class RingPeerTestGroup : ICollectionFixture<RingPeerFixture>
{
    public const string Name = "Native ring peer";
}
