namespace Xen.Interop.Tests.Scenarios;

/// <summary>Which xenstore implementation a scenario target runs, for the assertions where implementations may differ.</summary>
public enum ScenarioDaemon
{
    /// <summary>Xen's C xenstored.</summary>
    CXenstored,

    /// <summary>Xen's OCaml xenstored (oxenstored).</summary>
    Oxenstored,

    /// <summary>
    /// This project's embedded xenstored (<c>Xen.Store.Server</c>). It copies C xenstored 4.17's observable
    /// behaviour, so scenarios expect of it what they expect of <see cref="CXenstored"/>, except where
    /// <c>src/Xen.Store/README.md</c> lists a deliberate difference.
    /// </summary>
    Embedded,
}
