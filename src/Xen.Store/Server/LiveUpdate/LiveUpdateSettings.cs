namespace Xen.Store.Server.LiveUpdate;

/// <summary>
/// How a daemon replaces itself on a live update, as C xenstored does: the state is dumped to
/// <c><see cref="Directory"/>/state_dump</c> (C's <c>xenstore_rundir()</c>), and the new binary is executed with the
/// daemon's own arguments (<see cref="Arguments"/>, or the update's <c>-c</c> command line) and <c>-U</c>.
/// </summary>
/// <param name="Directory">Where <c>state_dump</c> is written, and read by the new process.</param>
/// <param name="Arguments">This daemon's command line after the program name, for the new binary.</param>
internal sealed record LiveUpdateSettings(string Directory, IReadOnlyList<string> Arguments)
{
    /// <summary>This process is the new daemon of an update (<c>-U</c>): it starts from <c>state_dump</c>.</summary>
    public bool Resume { get; init; }

    /// <summary>Told, before the exec, what is handed over and what is left out (a line each); null: nothing is told.</summary>
    public Action<string>? Log { get; init; }

    /// <summary>The dump's path.</summary>
    public string DumpPath => Path.Combine(Directory, "state_dump");
}
