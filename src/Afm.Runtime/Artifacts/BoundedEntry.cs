using System.IO.Compression;
using System.Security.Cryptography;

namespace Afm.Runtime.Artifacts;

/// <summary>
/// Reads zip entries without trusting their headers: at most a known number of bytes, in fixed pieces, so an
/// entry that inflates to gigabytes (a zip bomb, or a header that lies about its size) costs a bounded amount of
/// memory and disk before it is refused.
/// </summary>
internal static class BoundedEntry
{
    private const int BufferSize = 1 << 16;

    /// <summary>The whole entry if it has at most <paramref name="limit"/> bytes, else null.</summary>
    public static byte[]? ReadAll(ZipArchiveEntry entry, int limit)
    {
        if (entry.Length > limit) return null;
        using var source = entry.Open();
        using var copy = new MemoryStream();
        return Copy(source, copy, limit, hash: null) > limit ? null : copy.ToArray();
    }

    /// <summary>Copies the entry to <paramref name="destination"/>, stopping after <paramref name="limit"/> + 1 bytes.</summary>
    /// <returns>The bytes copied (more than the limit means the entry is larger than allowed) and their SHA-256.</returns>
    public static (long Length, string Sha256) CopyTo(ZipArchiveEntry entry, Stream destination, long limit)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        using var source = entry.Open();
        var length = Copy(source, destination, limit, hash);
        return (length, Convert.ToHexStringLower(hash.GetHashAndReset()));
    }

    private static long Copy(Stream source, Stream destination, long limit, IncrementalHash? hash)
    {
        var buffer = new byte[BufferSize];
        long total = 0;
        int read;
        while (total <= limit && (read = source.Read(buffer, 0, (int)Math.Min(buffer.Length, limit + 1 - total))) > 0)
        {
            destination.Write(buffer, 0, read);
            hash?.AppendData(buffer, 0, read);
            total += read;
        }
        return total;
    }
}
