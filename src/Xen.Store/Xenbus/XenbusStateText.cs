using System.Globalization;

namespace Xen.Store.Xenbus;

/// <summary>
/// The text form of a <see cref="XenbusState"/> in <c>&lt;device&gt;/state</c>: the state's number in decimal, as
/// every xenbus driver (Linux's <c>xenbus_switch_state</c>, QEMU, the toolstacks) writes and reads it.
/// </summary>
public static class XenbusStateText
{
    /// <summary>The decimal string to write for <paramref name="state"/> (<c>"4"</c> for <see cref="XenbusState.Connected"/>).</summary>
    public static string Format(XenbusState state) => ((int)state).ToString(CultureInfo.InvariantCulture);

    /// <summary>
    /// The state a <c>state</c> node holds, or <see langword="null"/> when it is missing or is not one of the nine
    /// states (digits only: no sign, spaces or other numbers).
    /// </summary>
    public static XenbusState? Parse(string? text) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out int value) && value is >= 0 and <= 8 ? (XenbusState)value : null;
}
