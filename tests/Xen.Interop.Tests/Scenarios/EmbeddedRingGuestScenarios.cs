using Xen.TestSupport.Peers;

namespace Xen.Interop.Tests.Scenarios;

/// <summary>The scenario suite against our xenstored run as the drop-in daemon (<c>run_xenstored.sh ours</c>); the connection under test is guest domain 5 over the shared ring (dom0 INTRODUCEs it over the socket), with the guest-only scenarios.</summary>
[Trait("Category", "Interop")]
public sealed class EmbeddedRingGuestScenarios() : XenStoreGuestScenarios(new XenstoredTarget(XenstoredKind.Embedded, ringGuest: true));
