using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Scenarios;

/// <summary>The scenario suite against our embedded xenstored run as <c>xen store serve --peer-dir</c>; the connection under test is guest domain 5 over the shared ring (dom0 INTRODUCEs it over the socket), with the guest-only scenarios.</summary>
[Trait("Category", "Interop")]
public sealed class EmbeddedRingGuestScenarios() : XenStoreGuestScenarios(new XenstoredTarget(XenstoredKind.Embedded, ringGuest: true));
