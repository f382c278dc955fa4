namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the &lt;EvalTask&gt; items (specs/afmproj.md, EvalTask). Include is the task's file (a wildcard gives one item
/// per file; items of one Name form one task, whose settings are the first item's), or, for a perplexity task with
/// EvalSet metadata, the task's name. The files' records are read by the evaluate stage (AFM240x at file(line)).
/// </summary>
internal static class EvalTaskReader
{
    private static readonly string[] Common = ["Name", "Kind", "Adapter", "Tolerance"];
    private static readonly string[] MultipleChoice = ["ContextField", "ChoicesField", "LabelField", "Shots", "FewShotData"];
    private static readonly string[] Generate = ["PromptField", "ReferenceField", "MaxTokens", "Stop"];
    private static readonly string[] Perplexity = ["TextField", "EvalSet"];

    public static List<EvalTaskSpec> Read(SpecContext context, IReadOnlyList<FileSet> evalSets, IReadOnlyList<AdapterSpec> adapters)
    {
        var tasks = new List<EvalTaskSpec>();
        var byName = new Dictionary<string, int>(StringComparer.OrdinalIgnoreCase);
        foreach (var item in context.Items("EvalTask", namedByMetadata: true))
        {
            var kind = context.Choice(item, "Kind", EvalTaskKind.MultipleChoice, DiagnosticCodes.UnknownEvalTaskKind,
                ("multiple-choice", EvalTaskKind.MultipleChoice), ("generate", EvalTaskKind.Generate), ("perplexity", EvalTaskKind.Perplexity));
            if (kind is null) continue;
            var own = Own(kind.Value);
            item.WarnAboutUnknownMetadata([.. Common, .. MultipleChoice, .. Generate, .. Perplexity]);
            foreach (var name in MultipleChoice.Concat(Generate).Concat(Perplexity).Except(own))
                if (item.Get(name) is { } misplaced)
                    context.Error(DiagnosticCodes.EvalTaskMetadataNotForKind, misplaced.Location,
                        $"{misplaced.What} does not apply to Kind=\"{KindName(kind.Value)}\" tasks. Remove {name}, or change Kind.");
            var files = Files(context, item, kind.Value, evalSets);
            if (files is null) continue;
            var taskName = item.Get("Name")?.Text ?? (item.Has("EvalSet") ? item.Include : Path.GetFileNameWithoutExtension(item.Include));
            if (byName.TryGetValue(taskName, out var index))
            {
                tasks[index] = tasks[index] with { Files = [.. tasks[index].Files.Union(files, StringComparer.Ordinal).Order(StringComparer.Ordinal)] };
                continue;
            }
            if (Settings(context, item, kind.Value, taskName, files, adapters) is { } task)
            {
                byName[taskName] = tasks.Count;
                tasks.Add(task);
            }
        }
        foreach (var (pattern, location, _) in context.Locator.UnmatchedWildcards("EvalTask"))
            context.Error(DiagnosticCodes.EvalTaskPatternMatchedNoFiles, location,
                $"EvalTask Include pattern '{pattern}' matched no files. Fix the pattern (it is relative to the project directory) or add the files.");
        return tasks;
    }

    private static string[] Own(EvalTaskKind kind) => kind switch
    {
        EvalTaskKind.MultipleChoice => MultipleChoice,
        EvalTaskKind.Generate => Generate,
        _ => Perplexity,
    };

    private static string KindName(EvalTaskKind kind) => new EvalTaskSpec { Name = "", Kind = kind, Files = [] }.KindName;

    private static IReadOnlyList<string>? Files(SpecContext context, ItemView item, EvalTaskKind kind, IReadOnlyList<FileSet> evalSets)
    {
        if (kind == EvalTaskKind.Perplexity && item.Get("EvalSet") is { } set)
        {
            var match = evalSets.FirstOrDefault(e => string.Equals(e.Name, set.Text, StringComparison.OrdinalIgnoreCase));
            if (match is not null) return match.Files;
            context.Error(DiagnosticCodes.EvalTaskEvalSetUnknown, set.Location,
                $"{set.What} is '{set.Text}', which names no EvalSet" + (evalSets.Count > 0 ? $" (declared: {string.Join(", ", evalSets.Select(e => e.Name))})." : "; declare one, e.g. <EvalSet Include=\"data/eval/*.txt\" />."));
            return null;
        }
        return ExistingFile(context, item.FullPath, item.IncludeLocation, $"{item.Describe}: the task file", DiagnosticCodes.EvalTaskFileNotFound) is { } file ? [file] : null;
    }

    private static string? ExistingFile(SpecContext context, string path, Diagnostics.SourceLocation location, string what, string code)
    {
        if (InputFiles.Problem(path) is { } problem)
        {
            context.Error(DiagnosticCodes.NotAnOrdinaryFile, location, $"{what} '{path}' {problem}.");
            return null;
        }
        if (File.Exists(path)) return path;
        context.Error(code, location, $"{what} '{path}' does not exist. Fix the path (it is relative to the project directory) or add the file.");
        return null;
    }

    private static EvalTaskSpec? Settings(SpecContext context, ItemView item, EvalTaskKind kind, string name, IReadOnlyList<string> files, IReadOnlyList<AdapterSpec> adapters)
    {
        var shots = item.Get("Shots") is { } s ? context.Int(s, SpecContext.NonNegative) : 0;
        string? fewShot = null;
        if (item.Get("FewShotData") is { } f)
            fewShot = ExistingFile(context, Path.GetFullPath(Path.Combine(context.ProjectDirectory, f.Text)), f.Location, $"{f.What}:", DiagnosticCodes.FewShotDataNotFound);
        else if (shots > 0)
            context.Error(DiagnosticCodes.ShotsWithoutFewShotData, item.Get("Shots")!.Value.Location,
                $"Shots of {item.Describe} is {shots}, but the task has no FewShotData to draw the examples from. Add FewShotData=\"tasks/facts.train.jsonl\", or remove Shots.");
        var maxTokens = item.Get("MaxTokens") is { } m ? context.Int(m, (v => v >= 1 && v <= 65_536, "between 1 and 65536")) : EvalTaskSpec.DefaultMaxTokens;
        var tolerance = item.Get("Tolerance") is { } t ? context.Double(t, SpecContext.NonNegative) : null;
        var adapter = item.Get("Adapter");
        if (adapter is { } a && !adapters.Any(x => string.Equals(x.Name, a.Text, StringComparison.OrdinalIgnoreCase)))
        {
            context.Error(DiagnosticCodes.EvalTaskAdapterUnknown, a.Location,
                $"{a.What} is '{a.Text}', which names no Adapter of the project" + (adapters.Count > 0 ? $" (its adapters: {string.Join(", ", adapters.Select(x => x.Name))})." : "; declare it, e.g. <Adapter Include=\"summarize\" Data=\"data/summaries/*.jsonl\" />, or remove Adapter."));
            return null;
        }
        if (shots is null || maxTokens is null || (item.Has("Tolerance") && tolerance is null) || (item.Has("FewShotData") && fewShot is null)) return null;
        return new EvalTaskSpec
        {
            Name = name, Kind = kind, Files = files,
            ContextField = item.Get("ContextField")?.Text ?? EvalTaskSpec.DefaultContextField,
            ChoicesField = item.Get("ChoicesField")?.Text ?? EvalTaskSpec.DefaultChoicesField,
            LabelField = item.Get("LabelField")?.Text ?? EvalTaskSpec.DefaultLabelField,
            PromptField = item.Get("PromptField")?.Text ?? EvalTaskSpec.DefaultPromptField,
            ReferenceField = item.Get("ReferenceField")?.Text ?? EvalTaskSpec.DefaultReferenceField,
            TextField = item.Get("TextField")?.Text ?? EvalTaskSpec.DefaultTextField,
            Shots = shots.Value, FewShotData = fewShot, MaxTokens = maxTokens.Value,
            Stop = item.Get("Stop") is { } stop ? stop.Text.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(Unescape).ToList() : [],
            Adapter = adapters.FirstOrDefault(x => string.Equals(x.Name, adapter?.Text, StringComparison.OrdinalIgnoreCase))?.Name,
            Tolerance = tolerance, Location = item.Location,
        };
    }

    /// <summary>Stop sequences are written in an attribute, so a line break is spelt \n (and a tab \t, a backslash \\).</summary>
    private static string Unescape(string text) => text.Replace("\\\\", "\u0000").Replace("\\n", "\n").Replace("\\t", "\t").Replace("\u0000", "\\");
}
