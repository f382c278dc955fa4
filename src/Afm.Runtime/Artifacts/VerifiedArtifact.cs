using System.IO.Compression;
using System.Text.Json;
using Afm.Core.Artifacts;

namespace Afm.Runtime.Artifacts;

/// <summary>
/// An .afmpkg whose every file was checked against its manifest (size and SHA-256) before anything of it is
/// used, extracted to a private temporary folder that is deleted on dispose. A tampered artifact (changed,
/// missing, added, repeated or oddly named file) is refused with AFM7002 and nothing of it is loaded.
/// Entry sizes are compared with the manifest before a byte is inflated, and entries are streamed to disk
/// with that size as a limit, so a hostile zip costs no more memory than an honest one.
/// </summary>
public sealed class VerifiedArtifact : IDisposable
{
    public const string ManifestEntry = ArtifactLayout.Manifest;
    public const string OnnxModelEntry = ArtifactLayout.OnnxModel;
    // A real manifest is a few KB (one line per file); this bounds what a hostile one can make us inflate and parse.
    private const int ManifestLimit = 16 << 20;

    private VerifiedArtifact(string path, Manifest manifest, string manifestSha256, string directory, ArtifactSigner? signer)
    {
        Path = path;
        ManifestSha256 = manifestSha256;
        Manifest = manifest;
        Directory = directory;
        Signer = signer;
    }

    public string Path { get; }
    public Manifest Manifest { get; }
    /// <summary>SHA-256 (lowercase hex) of manifest.json's bytes: it lists every file's SHA-256, so it names the artifact's contents.</summary>
    public string ManifestSha256 { get; }
    /// <summary>The extracted, verified files.</summary>
    public string Directory { get; }
    /// <summary>Who signed the manifest; null for an unsigned artifact.</summary>
    public ArtifactSigner? Signer { get; }
    public string OnnxModelPath => System.IO.Path.Combine(Directory, ArtifactLayout.OnnxModel);
    public string TokenizerDirectory => System.IO.Path.Combine(Directory, ArtifactLayout.TokenizerFolder);

    public static VerifiedArtifact Open(string path) => Open(path, SignaturePolicy.Optional);

    /// <param name="policy">What the signature must be; it is checked before any file, so a manifest rewritten to
    /// match a changed file is refused as a bad signature (AFM7009), not loaded.</param>
    public static VerifiedArtifact Open(string path, SignaturePolicy policy)
    {
        var full = System.IO.Path.GetFullPath(path);
        using var zip = OpenZip(path);
        ExtractionFolder.RemoveStale();
        try
        {
            var problems = new List<string>();
            var index = ArchiveIndex.Build(zip, problems) ?? throw Tampered(path, problems);
            var manifestBytes = ReadManifestBytes(path, full, index);
            var signer = SignatureCheck.Run(path, manifestBytes, index, policy);
            var manifest = ParseManifest(path, full, manifestBytes);
            CheckListing(manifest, index, problems);
            if (problems.Count > 0) throw Tampered(path, problems);
            if (!index.TryGet(OnnxModelEntry, out _))
                throw RuntimeCodes.Error(RuntimeCodes.ArtifactHasNoOnnxModel, path,
                    $"'{full}' has no {OnnxModelEntry}: it was packaged without the export stage. Rebuild the project with this toolchain.");
            return new VerifiedArtifact(full, manifest, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(manifestBytes)), Extract(path, manifest, index), signer);
        }
        catch (InvalidDataException e)
        {
            // The central directory read, but an entry's compressed data did not.
            throw RuntimeCodes.Error(RuntimeCodes.ArtifactUnreadable, path, $"'{full}' is not an .afmpkg (a damaged zip entry: {e.Message}).");
        }
    }

    /// <summary>
    /// The artifact as a zip, or AFM7001. A zip is at least its 22-byte end record, and stat gives devices and pipes a
    /// length of 0, so the length check also keeps the reader from opening /dev/zero or a FIFO (which would block).
    /// </summary>
    internal static ZipArchive OpenZip(string path)
    {
        var full = System.IO.Path.GetFullPath(path);
        if (!File.Exists(full)) throw RuntimeCodes.Error(RuntimeCodes.ArtifactUnreadable, path, $"no artifact at '{full}'.");
        if (new FileInfo(full).Length < 22)
            throw RuntimeCodes.Error(RuntimeCodes.ArtifactUnreadable, path, $"'{full}' is not an .afmpkg: it is empty or too short for a zip, or not a regular file (a device or a pipe).");
        try
        {
            return ZipFile.OpenRead(full);
        }
        catch (InvalidDataException e)
        {
            throw RuntimeCodes.Error(RuntimeCodes.ArtifactUnreadable, path, $"'{full}' is not an .afmpkg (not a readable zip archive: {e.Message}).");
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw RuntimeCodes.Error(RuntimeCodes.ArtifactUnreadable, path, $"'{full}' cannot be read ({e.Message}).");
        }
    }

    private static byte[] ReadManifestBytes(string path, string full, ArchiveIndex index)
    {
        if (!index.TryGet(ManifestEntry, out var entry))
            throw RuntimeCodes.Error(RuntimeCodes.ArtifactUnreadable, path, $"'{full}' has no {ManifestEntry}; it is not an .afmpkg.");
        return BoundedEntry.ReadAll(entry, ManifestLimit)
            ?? throw Tampered(path, [$"{ManifestEntry} is larger than {ManifestLimit:N0} bytes"]);
    }

    private static Manifest ParseManifest(string path, string full, byte[] bytes)
    {
        try
        {
            var manifest = JsonSerializer.Deserialize<Manifest>(bytes, new JsonSerializerOptions(JsonSerializerDefaults.Web))
                ?? throw new JsonException("empty manifest");
            if (manifest.Files is null || manifest.Files.Any(f => f is null || f.Path is null || f.Sha256 is null || f.Size < 0))
                throw new JsonException("a file without path, size or sha256");
            return manifest;
        }
        catch (JsonException e)
        {
            throw RuntimeCodes.Error(RuntimeCodes.ArtifactTampered, path, $"{ManifestEntry} of '{full}' is not a valid manifest ({e.Message}); refusing to load it.");
        }
    }

    /// <summary>What can be known without inflating anything: listed files present, unlisted ones absent, sizes as declared.</summary>
    private static void CheckListing(Manifest manifest, ArchiveIndex index, List<string> problems)
    {
        var listed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var file in manifest.Files)
        {
            if (!listed.Add(file.Path)) problems.Add($"the manifest lists {file.Path} twice");
            else if (!index.TryGet(file.Path, out var entry)) problems.Add($"{file.Path} is missing");
            else if (entry.Length != file.Size) problems.Add($"{file.Path} does not match its SHA-256 in the manifest (it holds {entry.Length:N0} bytes where the manifest says {file.Size:N0})");
        }
        foreach (var extra in index.Names.Where(k => k != ManifestEntry && k != ArtifactSignature.EntryName && !listed.Contains(k)).Order(StringComparer.Ordinal))
            problems.Add($"{ArchiveIndex.Printable(extra)} is not listed in the manifest");
    }

    /// <summary>Streams every listed file to a new folder, hashing as it goes; the folder is deleted if any file does not match.</summary>
    private static string Extract(string path, Manifest manifest, ArchiveIndex index)
    {
        ExtractionFolder.EnsureRoom(path, manifest.Files.Select(f => f.Size));
        var directory = ExtractionFolder.Create();
        try
        {
            var problems = new List<string>();
            foreach (var file in manifest.Files)
            {
                index.TryGet(file.Path, out var entry);
                var target = System.IO.Path.Combine(directory, file.Path);
                System.IO.Directory.CreateDirectory(System.IO.Path.GetDirectoryName(target)!);
                using var output = File.Create(target);
                // The header's size matched the manifest, but the header is part of what an attacker writes.
                var (length, sha256) = BoundedEntry.CopyTo(entry, output, file.Size);
                if (length != file.Size || sha256 != file.Sha256) problems.Add($"{file.Path} does not match its SHA-256 in the manifest");
            }
            if (problems.Count > 0) throw Tampered(path, problems);
            return directory;
        }
        catch
        {
            ExtractionFolder.Delete(directory);
            throw;
        }
    }

    internal static Afm.Core.Diagnostics.DiagnosticException Tampered(string path, IEnumerable<string> problems) =>
        RuntimeCodes.Error(RuntimeCodes.ArtifactTampered, path,
            $"the artifact was modified after packaging ({string.Join("; ", problems)}); refusing to load it.");

    public void Dispose() => ExtractionFolder.Delete(Directory);
}
