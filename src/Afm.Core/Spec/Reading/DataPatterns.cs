namespace Afm.Core.Spec.Reading;

/// <summary>
/// The Data metadata of sft stages and feature adapters: <c>;</c>-separated paths and MSBuild wildcards relative to the
/// project. MSBuild does not expand metadata, so unlike an Include this one is enumerated here, from the folder before
/// the first wildcard, matched by <see cref="MsBuildGlob"/>; folders the user cannot read are skipped, and a wildcard
/// that would walk a whole file system (<c>/**/x.jsonl</c>) is refused.
/// </summary>
internal static class DataPatterns
{
    /// <summary>The files Data names, or null after reporting AFM1306 or <paramref name="noMatchCode"/> (nothing matched) at Data.</summary>
    public static IReadOnlyList<string>? Read(SpecContext context, RawValue data, string noMatchCode)
    {
        var (files, problem) = Expand(context.ProjectDirectory, data.Text);
        if (problem is null && files.Count > 0 && files.Select(f => (File: f, Problem: InputFiles.Problem(f))).FirstOrDefault(f => f.Problem is not null) is { File: { } bad } found)
            problem = $"'{bad}' {found.Problem}";
        if (problem is not null)
        {
            context.Error(DiagnosticCodes.NotAnOrdinaryFile, data.Location, $"{data.What} is '{data.Text}': {problem}.");
            return null;
        }
        if (files.Count > 0) return files;
        context.Error(noMatchCode, data.Location,
            $"{data.What} is '{data.Text}', which matches no file. Fix the path or pattern (relative to the project directory) or add the files.");
        return null;
    }

    internal static (List<string> Files, string? Problem) Expand(string projectDirectory, string patterns)
    {
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var raw in patterns.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pattern = MsBuildGlob.Absolute(projectDirectory, raw);
            if (!MsBuildGlob.HasWildcard(pattern))
            {
                if (File.Exists(pattern) || Directory.Exists(pattern)) files.Add(Path.GetFullPath(pattern));
                continue;
            }
            var firstWildcard = pattern.IndexOfAny(['*', '?']);
            var root = pattern[..(pattern.LastIndexOf('/', firstWildcard) + 1)];
            var recursive = pattern.Contains("**", StringComparison.Ordinal) || pattern.IndexOf('/', firstWildcard) >= 0;
            if (recursive && IsFileSystemRoot(root))
                return ([], $"the wildcard '{raw}' would search every folder of the disk from {root}; start it at the folder that holds the data, such as 'data/**/*.jsonl'");
            if (!Directory.Exists(root)) continue;
            var options = new EnumerationOptions { RecurseSubdirectories = recursive, IgnoreInaccessible = true, AttributesToSkip = 0 };
            try
            {
                foreach (var file in Directory.EnumerateFiles(root, "*", options))
                    if (MsBuildGlob.Matches(pattern, file))
                        files.Add(Path.GetFullPath(file));
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                return ([], $"the folders under {root} cannot be searched ({e.Message})");
            }
        }
        return (files.ToList(), null);
    }

    private static bool IsFileSystemRoot(string folder)
    {
        var full = Path.GetFullPath(folder);
        return string.Equals(Path.TrimEndingDirectorySeparator(full), Path.TrimEndingDirectorySeparator(Path.GetPathRoot(full) ?? ""), StringComparison.Ordinal);
    }
}
