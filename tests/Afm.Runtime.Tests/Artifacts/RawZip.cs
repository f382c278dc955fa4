using System.IO.Compression;
using System.Text.Json;
using Afm.Core.Artifacts;
using Afm.Runtime.Artifacts;

namespace Afm.Runtime.Tests.Artifacts;

/// <summary>
/// Writes zips that the package stage never would (repeated names, hostile names, entries that do not match their
/// manifest line), entry by entry, so the reader's defences are tested on real archives.
/// </summary>
internal static class RawZip
{
    /// <summary>One zip entry; <paramref name="Content"/> is written by a callback so huge entries never exist in memory.</summary>
    public sealed record Entry(string Name, Action<Stream> Content)
    {
        public static Entry Of(string name, byte[] bytes) => new(name, s => s.Write(bytes));
    }

    public static string Write(string path, IEnumerable<Entry> entries)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using var zip = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var entry in entries)
        {
            using var stream = zip.CreateEntry(entry.Name, CompressionLevel.Fastest).Open();
            entry.Content(stream);
        }
        return path;
    }

    /// <summary>A manifest listing the given files with their real sizes and hashes.</summary>
    public static Entry Manifest(params (string Path, byte[] Bytes)[] files) =>
        Manifest(files.Select(f => new HashedFile(f.Path, f.Bytes.LongLength, Hashing.Sha256(f.Bytes))).ToArray());

    public static Entry Manifest(params HashedFile[] files) => Entry.Of(VerifiedArtifact.ManifestEntry, JsonSerializer.SerializeToUtf8Bytes(new Manifest
    {
        Name = "raw", Version = "0.0.1", Toolchain = new ToolchainInfo("AfmToolchain", "test"), Seed = 1, Threads = 1,
        Stages = ["package"], Inputs = [], Files = files,
    }, new JsonSerializerOptions(JsonSerializerDefaults.Web)));

    /// <summary>Writes <paramref name="bytes"/> zero bytes in 1 MB pieces.</summary>
    public static Action<Stream> Zeros(long bytes) => stream =>
    {
        var chunk = new byte[1 << 20];
        for (long left = bytes; left > 0; left -= chunk.Length) stream.Write(chunk, 0, (int)Math.Min(chunk.Length, left));
    };
}
