using System.IO.Compression;

namespace Afm.Packaging;

/// <summary>
/// Writes a zip whose bytes depend only on the entries' names and contents: entries sorted ordinally,
/// one fixed timestamp, no extra fields. Same inputs, same artifact SHA-256. Each entry is streamed in (a file on disk
/// is copied, never loaded), so the archive's size is bound by the disk, not by memory or an array's 2 GB.
/// </summary>
public static class DeterministicZip
{
    // The earliest time a zip header can hold; carries no information about when the build ran.
    private static readonly DateTimeOffset FixedTime = new(1980, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static void Write(Stream destination, IReadOnlyDictionary<string, ArtifactEntry> entries)
    {
        using var archive = new ZipArchive(destination, ZipArchiveMode.Create, leaveOpen: true);
        foreach (var (name, content) in entries.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            var entry = archive.CreateEntry(name, CompressionLevel.Optimal);
            entry.LastWriteTime = FixedTime;
            using var stream = entry.Open();
            content.CopyTo(stream);
        }
    }
}
