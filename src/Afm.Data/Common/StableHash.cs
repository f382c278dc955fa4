using System.Security.Cryptography;
using System.Text;

namespace Afm.Data.Common;

/// <summary>
/// Hashes that are the same on every machine and run (SHA-256 of UTF-8 text), unlike string.GetHashCode,
/// which is randomized per process.
/// </summary>
internal static class StableHash
{
    public static ulong Of(params object[] parts)
    {
        // The unit separator cannot be confused with text in ids or names.
        var text = string.Join('\u001F', parts.Select(p => Convert.ToString(p, System.Globalization.CultureInfo.InvariantCulture)));
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(text), digest);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt64LittleEndian(digest);
    }

    /// <summary>A hash mapped to [0, 1).</summary>
    public static double Unit(params object[] parts) => (Of(parts) >> 11) * (1.0 / (1UL << 53));
}
