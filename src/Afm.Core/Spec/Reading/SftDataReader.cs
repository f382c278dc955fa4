namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the metadata only sft stages have (Data, PromptField, ResponseField) and checks that metadata of one
/// stage kind is not written on the other, where it would be silently ignored.
/// </summary>
internal static class SftDataReader
{
    public const string DefaultPromptField = "prompt";
    public const string DefaultResponseField = "response";

    public static readonly string[] Metadata = ["Data", "PromptField", "ResponseField"];

    /// <summary>The sft settings of a stage; Files is null when the stage's Data has an error.</summary>
    public static (IReadOnlyList<string>? Files, string PromptField, string ResponseField) Read(SpecContext context, ItemView item, StageKind? kind)
    {
        var prompt = item.Get("PromptField")?.Text ?? DefaultPromptField;
        var response = item.Get("ResponseField")?.Text ?? DefaultResponseField;
        if (kind != StageKind.Sft)
        {
            // Data on a pretrain stage would look like it trains on that data while the stage samples the Mix.
            foreach (var name in Metadata)
                if (kind == StageKind.Pretrain && item.Get(name) is { } misplaced)
                    context.Error(DiagnosticCodes.MetadataNotForStageKind, misplaced.Location,
                        $"{misplaced.What} applies only to Kind=\"sft\" stages; a pretrain stage samples the corpora of its Mix. Remove {name}, or add Kind=\"sft\".");
            return ([], prompt, response);
        }
        if (item.Get("Mix") is { } mix)
            context.Error(DiagnosticCodes.MetadataNotForStageKind, mix.Location,
                $"{mix.What} does not apply to an sft stage, which trains on its Data files only. Remove Mix.");
        if (item.Get("Data") is not { } data)
        {
            context.Error(DiagnosticCodes.SftStageWithoutData, item.Location,
                $"{item.Describe} is an sft stage without Data. Add Data=\"data/sft/*.jsonl\" (JSON lines with \"{prompt}\" and \"{response}\" fields).");
            return (null, prompt, response);
        }
        var files = Expand(context.ProjectDirectory, data.Text);
        if (files.Count > 0) return (files, prompt, response);
        context.Error(DiagnosticCodes.StageDataMatchedNoFiles, data.Location,
            $"{data.What} is '{data.Text}', which matches no file. Fix the path or pattern (relative to the project directory) or add the files.");
        return (null, prompt, response);
    }

    /// <summary>
    /// Expands a ';'-separated list of paths and MSBuild wildcards. MSBuild does not expand metadata, so unlike an
    /// Include this one is enumerated here: from the directory before the first wildcard, matched by <see cref="MsBuildGlob"/>.
    /// </summary>
    internal static List<string> Expand(string projectDirectory, string patterns)
    {
        var files = new SortedSet<string>(StringComparer.Ordinal);
        foreach (var raw in patterns.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var pattern = MsBuildGlob.Absolute(projectDirectory, raw);
            if (!MsBuildGlob.HasWildcard(pattern))
            {
                if (File.Exists(pattern)) files.Add(Path.GetFullPath(pattern));
                continue;
            }
            var firstWildcard = pattern.IndexOfAny(['*', '?']);
            var root = pattern[..(pattern.LastIndexOf('/', firstWildcard) + 1)];
            if (!Directory.Exists(root)) continue;
            var recursive = pattern.Contains("**", StringComparison.Ordinal) || pattern.IndexOf('/', firstWildcard) >= 0;
            foreach (var file in Directory.EnumerateFiles(root, "*", recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly))
                if (MsBuildGlob.Matches(pattern, file))
                    files.Add(Path.GetFullPath(file));
        }
        return files.ToList();
    }
}
