using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;
using Afm.Core.Artifacts;

namespace Afm.Runtime.Artifacts;

/// <summary>
/// An .afmpkg whose every file was checked against its manifest (size and SHA-256) before anything of it is
/// used, extracted to a private temporary folder that is deleted on dispose. A tampered artifact (changed,
/// missing or added file) is refused with AFM7002 and nothing of it is loaded.
/// </summary>
public sealed class VerifiedArtifact : IDisposable
{
    public const string ManifestEntry = "manifest.json";
    public const string OnnxModelEntry = "model/model.onnx";
    public const string TokenizerFolder = "tokenizer";

    private VerifiedArtifact(string path, Manifest manifest, string directory)
    {
        Path = path;
        Manifest = manifest;
        Directory = directory;
    }

    public string Path { get; }
    public Manifest Manifest { get; }
    /// <summary>The extracted, verified files.</summary>
    public string Directory { get; }
    public string OnnxModelPath => System.IO.Path.Combine(Directory, "model", "model.onnx");
    public string TokenizerDirectory => System.IO.Path.Combine(Directory, TokenizerFolder);

    public static VerifiedArtifact Open(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw RuntimeCodes.Error(RuntimeCodes.ArtifactUnreadable, path, $"no artifact at '{full}'.");
        Dictionary<string, byte[]> entries;
        try
        {
            using var zip = ZipFile.OpenRead(full);
            entries = zip.Entries.Where(e => !e.FullName.EndsWith('/'))
                .ToDictionary(e => e.FullName, Read, StringComparer.Ordinal);
        }
        catch (InvalidDataException e)
        {
            throw RuntimeCodes.Error(RuntimeCodes.ArtifactUnreadable, path, $"'{full}' is not an .afmpkg (not a zip archive: {e.Message}).");
        }
        if (!entries.TryGetValue(ManifestEntry, out var manifestBytes))
            throw RuntimeCodes.Error(RuntimeCodes.ArtifactUnreadable, path, $"'{full}' has no {ManifestEntry}; it is not an .afmpkg.");
        Manifest manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<Manifest>(manifestBytes, new JsonSerializerOptions(JsonSerializerDefaults.Web))
                ?? throw new JsonException("empty manifest");
        }
        catch (JsonException e)
        {
            throw RuntimeCodes.Error(RuntimeCodes.ArtifactTampered, path, $"{ManifestEntry} of '{full}' is not a valid manifest ({e.Message}); refusing to load it.");
        }

        Verify(path, manifest, entries);
        if (!entries.ContainsKey(OnnxModelEntry))
            throw RuntimeCodes.Error(RuntimeCodes.ArtifactHasNoOnnxModel, path,
                $"'{full}' has no {OnnxModelEntry}: it was packaged without the export stage. Rebuild the project with this toolchain.");
        return new VerifiedArtifact(full, manifest, Extract(entries));
    }

    private static void Verify(string path, Manifest manifest, Dictionary<string, byte[]> entries)
    {
        var problems = new List<string>();
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            listed.Add(file.Path);
            if (!entries.TryGetValue(file.Path, out var bytes)) problems.Add($"{file.Path} is missing");
            else if (bytes.LongLength != file.Size || Convert.ToHexStringLower(SHA256.HashData(bytes)) != file.Sha256)
                problems.Add($"{file.Path} does not match its SHA-256 in the manifest");
        }
        foreach (var extra in entries.Keys.Where(k => k != ManifestEntry && !listed.Contains(k)).Order(StringComparer.Ordinal))
            problems.Add($"{extra} is not listed in the manifest");
        if (problems.Count > 0)
            throw RuntimeCodes.Error(RuntimeCodes.ArtifactTampered, path,
                $"the artifact was modified after packaging ({string.Join("; ", problems)}); refusing to load it.");
    }

    private static string Extract(Dictionary<string, byte[]> entries)
    {
        var directory = System.IO.Path.Combine(System.IO.Path.GetTempPath(), "afm-run-" + Guid.NewGuid().ToString("N"));
        foreach (var (name, bytes) in entries)
        {
            var target = System.IO.Path.GetFullPath(System.IO.Path.Combine(directory, name));
            // Names were verified against the manifest, but never write outside the folder whatever a zip says.
            if (!target.StartsWith(directory + System.IO.Path.DirectorySeparatorChar, StringComparison.Ordinal)) continue;
            System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, bytes);
        }
        return directory;
    }

    private static byte[] Read(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    public void Dispose()
    {
        try { System.IO.Directory.Delete(Directory, recursive: true); }
        catch (IOException) { /* a leftover temp folder is harmless */ }
    }
}
