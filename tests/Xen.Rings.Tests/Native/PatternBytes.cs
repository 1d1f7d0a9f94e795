namespace Xen.Rings.Tests.Native;

/// <summary>The console byte stream of a seed: byte k is byte k % 8 (little-endian) of the (k / 8)-th splitmix64 output.</summary>
internal struct PatternBytes(ulong seed)
{
    private ulong _state = seed;
    private ulong _word;
    private int _left;

    /// <summary>The next byte of the stream.</summary>
    public byte Next()
    {
        if (_left == 0)
        {
            _word = PeerPattern.SplitMix64(ref _state);
            _left = 8;
        }

        byte b = (byte)_word;
        _word >>= 8;
        _left--;
        return b;
    }
}
