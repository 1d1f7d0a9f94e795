namespace Xen.Rings.Console;

/// <summary>Settings of a <see cref="ConsoleDriver"/>.</summary>
public sealed class ConsoleDriverOptions
{
    /// <summary>
    /// The transmit buffer's size in bytes, rounded up to a power of two (the <c>xencons_bufsz=</c> boot
    /// option of the guest console). Default 4096.
    /// </summary>
    public int TransmitBufferSize { get; init; } = 4096;

    /// <summary>Whether <see cref="ConsoleDriver.Write"/> turns each <c>\n</c> into <c>\r\n</c> (what a kernel console does). Default off (a raw tty).</summary>
    public bool TranslateNewlines { get; init; }

    /// <summary>
    /// Called with the key that follows a <c>^O</c> (0x0F) on input within <see cref="SysRqWindow"/>: the magic
    /// SysRq sequence. Neither byte is passed on as input. <see langword="null"/> (default) disables SysRq, and
    /// <c>^O</c> is ordinary input. Runs on the thread that reads input; keep it short.
    /// </summary>
    public Action<byte>? SysRqHandler { get; init; }

    /// <summary>How long after <c>^O</c> the next key counts as a SysRq key. Default 2 seconds.</summary>
    public TimeSpan SysRqWindow { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>The STOP character sent by <see cref="ConsoleDriver.Throttle"/> (XOFF, ^S, 0x13).</summary>
    public byte StopCharacter { get; init; } = 0x13;

    /// <summary>The START character sent by <see cref="ConsoleDriver.Unthrottle"/> (XON, ^Q, 0x11).</summary>
    public byte StartCharacter { get; init; } = 0x11;

    /// <summary>The clock of the SysRq window (replace it in tests).</summary>
    public TimeProvider TimeProvider { get; init; } = TimeProvider.System;
}
