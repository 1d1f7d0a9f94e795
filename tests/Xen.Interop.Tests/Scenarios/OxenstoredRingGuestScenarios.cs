using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Scenarios;

/// <summary>The scenario suite against oxenstored; the connection under test is guest domain 5 over the shared ring (dom0 INTRODUCEs it over the socket), with the guest-only scenarios.</summary>
[Trait("Category", "Interop")]
public sealed class OxenstoredRingGuestScenarios() : XenStoreGuestScenarios(new XenstoredTarget(XenstoredKind.OCaml, ringGuest: true));
