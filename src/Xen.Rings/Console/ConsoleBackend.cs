namespace Xen.Rings.Console;

/// <summary>
/// The console daemon's view of a console page (what xenconsoled does): it reads <c>out[]</c> and writes
/// <c>in[]</c>. Stateless over shared memory and allocation-free.
/// </summary>
/// <remarks>None of the methods notify the guest: signal the console event channel after producing or consuming.</remarks>
public readonly ref struct ConsoleBackend
{
    private readonly Span<byte> _page;

    /// <summary>Creates the view over a console page.</summary>
    /// <param name="page">The page (at least 3089 bytes; normally 4096).</param>
    /// <exception cref="ArgumentException">The page is too small.</exception>
    public ConsoleBackend(Span<byte> page)
    {
        ConsoleLayout.CheckPage(page.Length, nameof(page));
        _page = page;
    }

    /// <summary>The <c>out[]</c> ring (the backend consumes).</summary>
    public ByteRing Output => new(_page, ConsoleLayout.OutOffset, ConsoleLayout.OutSize,
        ConsoleLayout.OutConsOffset, ConsoleLayout.OutProdOffset, "out");

    /// <summary>The <c>in[]</c> ring (the backend produces).</summary>
    public ByteRing Input => new(_page, ConsoleLayout.InOffset, ConsoleLayout.InSize,
        ConsoleLayout.InConsOffset, ConsoleLayout.InProdOffset, "in");

    /// <summary>Reads up to <c>destination.Length</c> bytes of guest output from <c>out[]</c>.</summary>
    /// <returns>Bytes read.</returns>
    /// <exception cref="RingCorruptedException">The guest corrupted the <c>out</c> indices.</exception>
    public int Read(Span<byte> destination) => Output.Read(destination);

    /// <summary>Writes as much of <paramref name="source"/> (keyboard input) to <c>in[]</c> as fits.</summary>
    /// <returns>Bytes written.</returns>
    /// <exception cref="RingCorruptedException">The guest corrupted the <c>in</c> indices.</exception>
    public int Write(ReadOnlySpan<byte> source) => Input.Write(source);

    /// <summary>Sets the Xen 4.21 <c>connection</c> byte (the backend owns it).</summary>
    public void SetConnected(bool connected) =>
        Volatile.Write(ref _page[ConsoleLayout.ConnectionOffset], connected ? ConsoleLayout.Connected : ConsoleLayout.Disconnected);
}
