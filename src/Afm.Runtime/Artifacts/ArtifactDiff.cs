using System.IO.Compression;
using System.Security.Cryptography;
using System.Text.Json;

namespace Afm.Runtime.Artifacts;

/// <summary>
/// What differs between two .afmpkg files (`afm diff`): entries added, removed or changed, compared by SHA-256 without
/// holding them in memory; for a changed JSON entry (the manifest, reports, spec), every value that differs, by its
/// path in the document. Both zips pass the reader's name checks first (<see cref="ArchiveIndex"/>).
/// </summary>
public static class ArtifactDiff
{
    // Reports are KB to a few MB; a JSON entry larger than this is compared by hash only.
    private const int JsonLimit = 64 << 20;

    public sealed record ValueChange(string JsonPath, string Old, string New);

    public sealed record EntryChange(string Name, IReadOnlyList<ValueChange> Values);

    public sealed record Result(IReadOnlyList<string> Added, IReadOnlyList<string> Removed, IReadOnlyList<EntryChange> Changed)
    {
        public bool Identical => Added.Count == 0 && Removed.Count == 0 && Changed.Count == 0;
    }

    public static Result Compare(string oldPath, string newPath)
    {
        using var oldZip = VerifiedArtifact.OpenZip(oldPath);
        using var newZip = VerifiedArtifact.OpenZip(newPath);
        var oldIndex = Index(oldPath, oldZip);
        var newIndex = Index(newPath, newZip);
        var added = newIndex.Names.Where(n => !oldIndex.TryGet(n, out _)).Order(StringComparer.Ordinal).ToList();
        var removed = oldIndex.Names.Where(n => !newIndex.TryGet(n, out _)).Order(StringComparer.Ordinal).ToList();
        var changed = new List<EntryChange>();
        foreach (var name in oldIndex.Names.Where(n => newIndex.TryGet(n, out _)).Order(StringComparer.Ordinal))
        {
            oldIndex.TryGet(name, out var before);
            newIndex.TryGet(name, out var after);
            if (before.Length == after.Length && Sha256(before) == Sha256(after)) continue;
            changed.Add(new EntryChange(name, name.EndsWith(".json", StringComparison.Ordinal) ? JsonChanges(before, after) : []));
        }
        return new Result(added, removed, changed);
    }

    private static ArchiveIndex Index(string path, ZipArchive zip)
    {
        var problems = new List<string>();
        return ArchiveIndex.Build(zip, problems) ?? throw VerifiedArtifact.Tampered(path, problems);
    }

    private static string Sha256(ZipArchiveEntry entry)
    {
        using var stream = entry.Open();
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }

    /// <summary>The values that differ; empty when either side is not JSON (then only the entry is reported).</summary>
    private static List<ValueChange> JsonChanges(ZipArchiveEntry before, ZipArchiveEntry after)
    {
        var changes = new List<ValueChange>();
        if (BoundedEntry.ReadAll(before, JsonLimit) is not { } oldBytes || BoundedEntry.ReadAll(after, JsonLimit) is not { } newBytes) return changes;
        try
        {
            using var oldDocument = JsonDocument.Parse(oldBytes);
            using var newDocument = JsonDocument.Parse(newBytes);
            JsonValueDiff.Collect("$", oldDocument.RootElement, newDocument.RootElement, changes);
        }
        catch (JsonException) { changes.Clear(); }
        return changes;
    }
}
