using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Scenarios;

/// <summary>The scenario suite against C xenstored; the connection under test is a second dom0 connection on its Unix socket.</summary>
[Trait("Category", "Interop")]
public sealed class CXenstoredSocketScenarios() : XenStoreScenarios(new XenstoredTarget(XenstoredKind.C, ringGuest: false));
