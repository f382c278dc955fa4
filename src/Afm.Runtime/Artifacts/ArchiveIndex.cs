using System.IO.Compression;

namespace Afm.Runtime.Artifacts;

/// <summary>
/// The entries of an .afmpkg by name, checked before any byte of them is read: every name a plain relative path
/// (<see cref="ArtifactEntryName"/>), no name twice, not even in another letter case (two such entries would be
/// one file on a case-insensitive disk, and which one the reader takes would depend on the zip library), and no
/// name that is also another entry's folder.
/// </summary>
internal sealed class ArchiveIndex
{
    private readonly Dictionary<string, ZipArchiveEntry> entries;

    private ArchiveIndex(Dictionary<string, ZipArchiveEntry> entries) => this.entries = entries;

    public IEnumerable<string> Names => entries.Keys;

    public bool TryGet(string name, out ZipArchiveEntry entry) => entries.TryGetValue(name, out entry!);

    /// <returns>The index, or null with every problem found.</returns>
    public static ArchiveIndex? Build(ZipArchive zip, List<string> problems)
    {
        var entries = new Dictionary<string, ZipArchiveEntry>(StringComparer.Ordinal);
        var seen = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var entry in zip.Entries)
        {
            var name = entry.FullName;
            bool folder = name.EndsWith('/');
            if (!ArtifactEntryName.IsPlainRelativePath(folder ? name[..^1] : name))
                problems.Add($"the entry '{Printable(name)}' is not a plain relative path");
            else if (folder) continue; // folder entries carry nothing; the package stage writes none
            else if (seen.TryGetValue(name, out var first))
                problems.Add(first == name ? $"it has two entries named {name}" : $"the entries {first} and {name} differ only in letter case");
            else
            {
                seen[name] = name;
                entries[name] = entry;
            }
        }
        // "model" and "model/model.onnx" cannot both be extracted: one file would have to be a folder.
        foreach (var name in entries.Keys)
            for (int slash = name.IndexOf('/'); slash > 0; slash = name.IndexOf('/', slash + 1))
                if (seen.ContainsKey(name[..slash])) problems.Add($"the entry {name[..slash]} is also the folder of {name}");
        return problems.Count == 0 ? new ArchiveIndex(entries) : null;
    }

    /// <summary>The name as a message can show it: control characters escaped.</summary>
    public static string Printable(string name) =>
        string.Concat(name.Select(c => char.IsControl(c) ? $"\\u{(int)c:x4}" : c.ToString()));
}
