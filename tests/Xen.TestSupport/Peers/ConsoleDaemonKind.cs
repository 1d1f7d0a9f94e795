namespace Xen.TestSupport.Peers;

/// <summary>Which console daemon a <see cref="XenconsoledPeer"/> runs.</summary>
public enum ConsoleDaemonKind
{
    /// <summary>Debian's real xenconsoled 4.17.</summary>
    Xenconsoled,

    /// <summary>Ours, started as xenconsoled is: <c>dotnet xen.dll console serve</c> with the same options.</summary>
    Ours,
}
