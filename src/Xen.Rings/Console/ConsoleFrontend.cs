namespace Xen.Rings.Console;

/// <summary>
/// The guest's view of a console page: it writes <c>out[]</c> and reads <c>in[]</c>.
/// Stateless over shared memory and allocation-free; create one per use if convenient.
/// </summary>
/// <remarks>
/// None of the methods notify the backend: after producing or consuming, signal the console event channel
/// (see <see cref="Events.IEventChannel"/>), as Xen's <c>notify_daemon()</c> does.
/// </remarks>
public readonly ref struct ConsoleFrontend
{
    private readonly Span<byte> _page;

    /// <summary>Creates the view over a console page.</summary>
    /// <param name="page">The page (at least 3089 bytes; normally 4096).</param>
    /// <exception cref="ArgumentException">The page is too small.</exception>
    public ConsoleFrontend(Span<byte> page)
    {
        ConsoleLayout.CheckPage(page.Length, nameof(page));
        _page = page;
    }

    /// <summary>The <c>out[]</c> ring (the guest produces).</summary>
    public ByteRing Output => new(_page, ConsoleLayout.OutOffset, ConsoleLayout.OutSize,
        ConsoleLayout.OutConsOffset, ConsoleLayout.OutProdOffset, "out");

    /// <summary>The <c>in[]</c> ring (the guest consumes).</summary>
    public ByteRing Input => new(_page, ConsoleLayout.InOffset, ConsoleLayout.InSize,
        ConsoleLayout.InConsOffset, ConsoleLayout.InProdOffset, "in");

    /// <summary>Whether the backend says it is connected (Xen 4.21 <c>connection</c> byte; 0 on older backends, which never set it).</summary>
    public bool IsBackendConnected => Volatile.Read(ref _page[ConsoleLayout.ConnectionOffset]) == ConsoleLayout.Connected;

    /// <summary>Writes as much of <paramref name="source"/> to <c>out[]</c> as fits.</summary>
    /// <returns>Bytes written.</returns>
    /// <exception cref="RingCorruptedException">The backend corrupted the <c>out</c> indices.</exception>
    public int Write(ReadOnlySpan<byte> source) => Output.Write(source);

    /// <summary>
    /// Writes <paramref name="source"/> to <c>out[]</c> turning each <c>\n</c> into <c>\r\n</c>, the output
    /// translation of a guest console. A newline is taken only when both bytes fit, so a pair is never split.
    /// </summary>
    /// <returns>Bytes of <paramref name="source"/> consumed (not bytes written to the ring).</returns>
    /// <exception cref="RingCorruptedException">The backend corrupted the <c>out</c> indices.</exception>
    public int WriteTranslatingNewlines(ReadOnlySpan<byte> source) => WriteTranslatingNewlines(Output, source);

    /// <summary>Reads up to <c>destination.Length</c> bytes from <c>in[]</c>.</summary>
    /// <returns>Bytes read.</returns>
    /// <exception cref="RingCorruptedException">The backend corrupted the <c>in</c> indices.</exception>
    public int Read(Span<byte> destination) => Input.Read(destination);

    /// <summary>Initialises the page as a new guest would find it: both rings empty, indices at <paramref name="startIndex"/>.</summary>
    public void Reset(uint startIndex = 0)
    {
        Output.Reset(startIndex);
        Input.Reset(startIndex);
    }

    internal static int WriteTranslatingNewlines(ByteRing ring, ReadOnlySpan<byte> source)
    {
        ByteRingWriteReservation space = ring.GetWriteSegments();
        Span<byte> first = space.First;
        Span<byte> second = space.Second;
        int free = first.Length + second.Length;
        int consumed = 0;
        int written = 0;
        while (consumed < source.Length)
        {
            byte b = source[consumed];
            int need = b == (byte)'\n' ? 2 : 1;
            if (written + need > free)
            {
                break;
            }

            if (need == 2)
            {
                Put(first, second, written++, (byte)'\r');
            }

            Put(first, second, written++, b);
            consumed++;
        }

        if (written != 0)
        {
            ring.Commit(space, written);
        }

        return consumed;

        static void Put(Span<byte> first, Span<byte> second, int index, byte value)
        {
            if (index < first.Length)
            {
                first[index] = value;
            }
            else
            {
                second[index - first.Length] = value;
            }
        }
    }
}
