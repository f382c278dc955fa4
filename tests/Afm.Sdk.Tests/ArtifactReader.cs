using System.IO.Compression;
using System.Text.Json;
using Afm.Core.Artifacts;

namespace Afm.Sdk.Tests;

/// <summary>Reads an .afmpkg the way a consumer would: zip entries plus the manifest.</summary>
internal sealed class ArtifactReader
{
    public required Dictionary<string, byte[]> Entries { get; init; }
    public required Manifest Manifest { get; init; }

    public static ArtifactReader Open(string path)
    {
        using var archive = ZipFile.OpenRead(path);
        var entries = archive.Entries.ToDictionary(e => e.FullName, e =>
        {
            using var stream = e.Open();
            using var memory = new MemoryStream();
            stream.CopyTo(memory);
            return memory.ToArray();
        });
        var manifest = JsonSerializer.Deserialize<Manifest>(entries["manifest.json"], new JsonSerializerOptions(JsonSerializerDefaults.Web))!;
        return new ArtifactReader { Entries = entries, Manifest = manifest };
    }

    public JsonDocument Json(string entry) => JsonDocument.Parse(Entries[entry]);
}
