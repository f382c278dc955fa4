namespace Afm.Core.Spec.Reading;

/// <summary>
/// The Data metadata of sft stages and feature adapters: <c>;</c>-separated paths and MSBuild wildcards relative to the
/// project. MSBuild does not expand metadata, so the SDK expands it once, with MSBuild's own matcher, and hands the
/// files to the compiler as <c>DataFile</c> items of the snapshot (each with the type and name of the item that declared
/// it, <see cref="OwnerTypeMetadata"/> and <see cref="OwnerMetadata"/>); the stage targets list the same items among
/// their Inputs. Nothing here enumerates the disk, so what a stage trains on and what re-runs it cannot disagree
/// (issue #21: one expansion of each glob).
/// </summary>
internal static class DataPatterns
{
    /// <summary>The snapshot's item type of one file a Data metadata matched (sdk/Afm.Sdk/Sdk/Afm.Stages.targets).</summary>
    public const string DataFileItemType = "DataFile";
    public const string OwnerTypeMetadata = "AfmOwnerType";
    public const string OwnerMetadata = "AfmOwner";

    /// <summary>The files the Data of <paramref name="owner"/> names, or null after reporting AFM1306 or <paramref name="noMatchCode"/> (nothing matched) at Data.</summary>
    public static IReadOnlyList<string>? Read(SpecContext context, ItemView owner, RawValue data, string noMatchCode)
    {
        if (DiskWideWildcard(context.ProjectDirectory, data.Text) is { } wide)
        {
            context.Error(DiagnosticCodes.NotAnOrdinaryFile, data.Location,
                $"{data.What} is '{data.Text}': the wildcard '{wide}' would search every folder of the disk from its root; start it at the folder that holds the data, such as 'data/**/*.jsonl'.");
            return null;
        }
        var files = Expansion(context, owner);
        if (files.Select(f => (File: f, Problem: InputFiles.Problem(f))).FirstOrDefault(f => f.Problem is not null) is { File: { } bad } found)
        {
            context.Error(DiagnosticCodes.NotAnOrdinaryFile, data.Location, $"{data.What} is '{data.Text}': '{bad}' {found.Problem}.");
            return null;
        }
        if (files.Count > 0) return files;
        context.Error(noMatchCode, data.Location,
            $"{data.What} is '{data.Text}', which matches no file. Fix the path or pattern (relative to the project directory; " +
            "on Linux and macOS the case of every letter counts) or add the files.");
        return null;
    }

    /// <summary>
    /// The first part whose first wildcard sits at a file system root (<c>/**/x.jsonl</c>, <c>C:\*\x</c>): the SDK does
    /// not expand such a Data (MSBuild would walk the whole disk), so it is refused here from its text alone.
    /// </summary>
    private static string? DiskWideWildcard(string projectDirectory, string patterns)
    {
        foreach (var raw in patterns.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pattern = MsBuildGlob.Absolute(projectDirectory, raw);
            var firstWildcard = pattern.IndexOfAny(['*', '?']);
            if (firstWildcard < 0) continue;
            var folder = pattern[..(pattern.LastIndexOf('/', firstWildcard) + 1)];
            var full = Path.TrimEndingDirectorySeparator(Path.GetFullPath(folder.Length == 0 ? "/" : folder));
            if (string.Equals(full, Path.TrimEndingDirectorySeparator(Path.GetPathRoot(full) ?? ""), StringComparison.Ordinal)) return raw;
        }
        return null;
    }

    /// <summary>
    /// MSBuild's expansion of the owner's Data, absolute and sorted ordinally. MSBuild keeps a path without wildcards
    /// even when no such file exists; like a wildcard that matches nothing, it names no file.
    /// </summary>
    private static List<string> Expansion(SpecContext context, ItemView owner) =>
        context.Snapshot.Items
            .Where(i => string.Equals(i.Type, DataFileItemType, StringComparison.OrdinalIgnoreCase)
                && i.Metadata.TryGetValue(OwnerTypeMetadata, out var type) && string.Equals(type, owner.Type, StringComparison.OrdinalIgnoreCase)
                && i.Metadata.TryGetValue(OwnerMetadata, out var name) && string.Equals(name, owner.Include, StringComparison.Ordinal))
            .Select(i => Path.GetFullPath(i.FullPath ?? Path.Combine(context.ProjectDirectory, i.Include)))
            .Where(path => File.Exists(path) || Directory.Exists(path))
            .Distinct(StringComparer.Ordinal)
            .Order(StringComparer.Ordinal)
            .ToList();
}
