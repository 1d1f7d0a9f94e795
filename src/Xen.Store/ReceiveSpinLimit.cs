namespace Xen.Store;

/// <summary>The range of the client's and the server's <c>ReceiveSpin</c> settings.</summary>
internal static class ReceiveSpinLimit
{
    /// <summary>The longest busy wait accepted (10 ms): a longer one only burns CPU.</summary>
    public static readonly TimeSpan Max = TimeSpan.FromMilliseconds(10);

    /// <summary>Returns <paramref name="value"/> when it is from zero to <see cref="Max"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">It is not.</exception>
    public static TimeSpan Checked(TimeSpan value)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(value, TimeSpan.Zero);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(value, Max);
        return value;
    }
}
