using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Scenarios;

/// <summary>The scenario suite against our embedded xenstored run as <c>xen store serve</c>; the connection under test is a second dom0 connection on its Unix socket.</summary>
[Trait("Category", "Interop")]
public sealed class EmbeddedSocketScenarios() : XenStoreScenarios(new XenstoredTarget(XenstoredKind.Embedded, ringGuest: false));
