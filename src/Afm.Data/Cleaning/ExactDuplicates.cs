using System.Security.Cryptography;
using System.Text;

namespace Afm.Data.Cleaning;

/// <summary>
/// Exact deduplication key: SHA-256 of the text case-folded (invariant), whitespace runs collapsed to one space
/// and trimmed, so copies that differ only in case or spacing are one document.
/// </summary>
internal static class ExactDuplicates
{
    /// <returns>For each removed document, the earlier kept document with the same key.</returns>
    public static List<(int Removed, int Of)> Find(IReadOnlyList<UInt128> keys)
    {
        var first = new Dictionary<UInt128, int>();
        var removed = new List<(int, int)>();
        for (var i = 0; i < keys.Count; i++)
        {
            if (first.TryGetValue(keys[i], out var of)) removed.Add((i, of));
            else first.Add(keys[i], i);
        }
        return removed;
    }

    public static UInt128 Key(string text)
    {
        var normalized = new StringBuilder(text.Length);
        var space = false;
        foreach (var c in text.AsSpan().Trim())
        {
            if (char.IsWhiteSpace(c))
            {
                space = true;
                continue;
            }
            if (space) normalized.Append(' ');
            space = false;
            normalized.Append(char.ToLowerInvariant(c));
        }
        Span<byte> digest = stackalloc byte[32];
        SHA256.HashData(Encoding.UTF8.GetBytes(normalized.ToString()), digest);
        return System.Buffers.Binary.BinaryPrimitives.ReadUInt128LittleEndian(digest);
    }
}
