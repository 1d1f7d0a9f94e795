namespace Xen.Store.Wire;

/// <summary>What <see cref="XsFrameReader"/> found at the front of a buffer.</summary>
public enum XsFrameStatus
{
    /// <summary>A whole message is there: its header, then <see cref="XsHeader.Length"/> payload bytes.</summary>
    Frame,

    /// <summary>The message is not complete yet (the header, or some of its payload, is still to come).</summary>
    NeedMore,

    /// <summary>
    /// The header announces a payload over <see cref="XsHeader.PayloadMax"/>: the stream cannot be trusted past it. A
    /// server closes the connection; a client may skip the announced bytes.
    /// </summary>
    Oversized,
}
