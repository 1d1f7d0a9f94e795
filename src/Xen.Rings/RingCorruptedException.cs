namespace Xen.Rings;

/// <summary>
/// The peer left the shared ring in a state no correct peer can produce: an index that claims more data
/// (or more free space) than the ring holds, or a slot count that breaks the ring.h overflow rules.
/// </summary>
/// <remarks>
/// Nothing was read or written outside the ring when this is thrown, and the ring was not modified by the
/// call that detected it. The only safe reaction is to stop using the ring (Xen's own code disconnects).
/// </remarks>
public sealed class RingCorruptedException : XenRingException
{
    /// <summary>Creates the exception with no message.</summary>
    public RingCorruptedException() { }

    /// <summary>Creates the exception with a message.</summary>
    public RingCorruptedException(string message) : base(message) { }

    /// <summary>Creates the exception with a message and an inner exception.</summary>
    public RingCorruptedException(string message, Exception innerException) : base(message, innerException) { }

    /// <summary>Creates the exception with the index values that were found to be inconsistent.</summary>
    /// <param name="ringName">The ring's name as Xen's headers spell it (<c>out</c>, <c>req</c>, ...).</param>
    /// <param name="consumer">The consumer index that was read.</param>
    /// <param name="producer">The producer index that was read.</param>
    /// <param name="capacity">The ring's size in bytes or slots.</param>
    public RingCorruptedException(string ringName, uint consumer, uint producer, uint capacity)
        : base($"ring '{ringName}' is corrupted: producer {producer} - consumer {consumer} = {unchecked(producer - consumer)} exceeds the ring size {capacity}")
    {
        RingName = ringName;
        Consumer = consumer;
        Producer = producer;
        Capacity = capacity;
    }

    /// <summary>The ring's name as Xen's headers spell it, when known.</summary>
    public string? RingName { get; }

    /// <summary>The consumer index that was read, when known.</summary>
    public uint Consumer { get; }

    /// <summary>The producer index that was read, when known.</summary>
    public uint Producer { get; }

    /// <summary>The ring's size in bytes or slots, when known.</summary>
    public uint Capacity { get; }
}
