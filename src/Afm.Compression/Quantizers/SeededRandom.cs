using System.Text;

namespace Afm.Compression.Quantizers;

/// <summary>
/// SplitMix64 with a seed derived from (project seed, layer name, group): k-means++ seeding of every group is
/// a pure function of those, independent of thread scheduling and of .NET's System.Random implementation.
/// </summary>
internal struct SeededRandom
{
    private ulong state;

    public SeededRandom(long seed, string name, int group)
    {
        ulong hash = 0xCBF29CE484222325UL; // FNV-1a of the name: stable across processes, unlike string.GetHashCode
        foreach (byte b in Encoding.UTF8.GetBytes(name)) hash = (hash ^ b) * 0x100000001B3UL;
        state = unchecked((ulong)seed * 0x9E3779B97F4A7C15UL) ^ hash ^ ((ulong)group << 32);
    }

    public ulong NextUInt64()
    {
        ulong z = state += 0x9E3779B97F4A7C15UL;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    /// <summary>Uniform in [0, 1) with 53 bits.</summary>
    public double NextDouble() => (NextUInt64() >> 11) * (1.0 / (1UL << 53));
}
