namespace Xen.Interop.Tests.Scenarios;

/// <summary>Which xenstore implementation a scenario target runs, for the assertions where implementations may differ.</summary>
public enum ScenarioDaemon
{
    /// <summary>Xen's C xenstored.</summary>
    CXenstored,

    /// <summary>Xen's OCaml xenstored (oxenstored).</summary>
    Oxenstored,
}
