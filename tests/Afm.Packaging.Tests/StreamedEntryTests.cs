using System.IO.Compression;
using System.Security.Cryptography;
using Afm.Packaging;

namespace Afm.Packaging.Tests;

/// <summary>
/// A stage's file goes into the artifact by streaming (issue #15: weights past 2 GB do not fit a byte[]). What the zip
/// holds is read back with .NET's own ZipArchive and hashed with SHA256.HashData, not through the packager.
/// </summary>
public sealed class StreamedEntryTests : IDisposable
{
    private readonly string folder = Directory.CreateTempSubdirectory("afm-packaging-").FullName;

    public void Dispose() => Directory.Delete(folder, recursive: true);

    [Fact]
    public void A_file_entry_is_zipped_with_the_files_bytes_and_reports_their_length_and_hash()
    {
        var content = Content(3 << 20, seed: 1); // three copy blocks, the last one partial after the second
        var path = Write("weights.bin", content);
        var entry = ArtifactEntry.FromFile(path);

        var zip = Zip(new SortedDictionary<string, ArtifactEntry>(StringComparer.Ordinal) { ["model/weights.bin"] = entry });

        Assert.Equal(content.LongLength, entry.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(content)), entry.Sha256);
        Assert.Equal(content, ReadEntry(zip, "model/weights.bin"));
    }

    [Fact]
    public void A_file_streamed_from_disk_zips_to_the_same_bytes_as_the_same_content_held_in_memory()
    {
        var content = Content(1_500_000, seed: 2);
        var fromDisk = Zip(new SortedDictionary<string, ArtifactEntry>(StringComparer.Ordinal) { ["a.bin"] = ArtifactEntry.FromFile(Write("a.bin", content)) });
        var inMemory = Zip(new SortedDictionary<string, ArtifactEntry>(StringComparer.Ordinal) { ["a.bin"] = ArtifactEntry.Of(content) });

        Assert.Equal(inMemory, fromDisk);
    }

    [Fact]
    public void A_file_that_changes_after_the_manifest_hashed_it_fails_the_copy_instead_of_shipping_a_wrong_manifest()
    {
        var path = Write("report.json", Content(4096, seed: 3));
        var entry = ArtifactEntry.FromFile(path);
        _ = entry.Sha256; // what the manifest lists
        File.WriteAllBytes(path, Content(4096, seed: 4));

        var error = Assert.Throws<IOException>(() => Zip(new SortedDictionary<string, ArtifactEntry>(StringComparer.Ordinal) { ["reports/x.json"] = entry }));
        Assert.Contains("changed while it was being packaged", error.Message);
    }

    private static byte[] Zip(IReadOnlyDictionary<string, ArtifactEntry> entries)
    {
        using var stream = new MemoryStream();
        DeterministicZip.Write(stream, entries);
        return stream.ToArray();
    }

    private static byte[] ReadEntry(byte[] zip, string name)
    {
        using var archive = new ZipArchive(new MemoryStream(zip), ZipArchiveMode.Read);
        using var entry = archive.GetEntry(name)!.Open();
        using var copy = new MemoryStream();
        entry.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>Bytes that deflate cannot shrink to nothing (weights are not zeros).</summary>
    private static byte[] Content(int length, int seed)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    private string Write(string name, byte[] content)
    {
        var path = Path.Combine(folder, name);
        File.WriteAllBytes(path, content);
        return path;
    }
}
