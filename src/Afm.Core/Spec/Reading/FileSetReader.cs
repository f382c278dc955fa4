using Afm.Core.Diagnostics;

namespace Afm.Core.Spec.Reading;

/// <summary>A named set of files read the same way: what a &lt;Corpus&gt; or an &lt;EvalSet&gt; declares.</summary>
internal sealed record FileSet(
    string Name, IReadOnlyList<string> Files, CorpusFormat Format, string TextField, bool Decontaminate, long Bytes, SourceLocation Location);

/// <summary>
/// What is known to be missing from the sets read, so that later checks (a stage's Mix) do not report
/// the same mistake again under another code.
/// </summary>
internal sealed record FileSetGaps(bool SomeUnnamed, IReadOnlySet<string> EmptyNames)
{
    public bool Explains(string name) => SomeUnnamed || EmptyNames.Contains(name);
}

/// <summary>
/// Reads file items into named sets. Items with the same Name form one set (a wildcard gives one item per
/// file anyway), so they must agree on how the files are read.
/// </summary>
internal static class FileSetReader
{
    public const string DefaultTextField = "text";

    /// <summary>A text file is one document, held as one .NET string: the readers' own limit (<see cref="IO.TextDocumentFile"/>).</summary>
    public const long MaxTextFileBytes = IO.TextDocumentFile.MaxDocumentBytes;

    private sealed class Draft(string name, CorpusFormat format, string textField, bool decontaminate, SourceLocation location)
    {
        public string Name { get; } = name;
        public CorpusFormat Format { get; } = format;
        public string TextField { get; } = textField;
        public bool Decontaminate { get; } = decontaminate;
        public SourceLocation Location { get; } = location;
        public SortedSet<string> Files { get; } = new(StringComparer.Ordinal);
    }

    /// <param name="defaultName">Null when Name is required.</param>
    public static List<FileSet> Read(SpecContext context, string type, string? defaultName, bool hasDecontaminate, out FileSetGaps gaps)
    {
        var allNamed = true;
        var emptyNames = new HashSet<string>(StringComparer.OrdinalIgnoreCase);
        string[] known = hasDecontaminate ? ["Name", "Format", "TextField", "Decontaminate", .. DataCleaningReader.EvalSetMetadata]
            : ["Name", "Format", "TextField", .. DataCleaningReader.CorpusMetadata];
        var drafts = new List<Draft>();
        foreach (var item in context.Items(type, namedByMetadata: true))
        {
            item.WarnAboutUnknownMetadata(known);
            var name = ReadName(context, item, defaultName);
            var format = ReadFormat(context, item);
            var textField = item.Get("TextField")?.Text ?? DefaultTextField;
            var decontaminate = hasDecontaminate && item.Get("Decontaminate") is { } d ? context.Bool(d) : true;
            var problem = MsBuildGlob.HasWildcard(item.Include)
                // MSBuild leaves a wildcard unexpanded when it would enumerate a whole drive (MSB5029).
                ? $"the wildcard '{item.Include}' would search every folder of the disk; start it at the folder that holds the data, such as 'data/**/*.txt'"
                : InputFiles.Problem(item.FullPath) is { } p ? $"'{item.FullPath}' {p}" : null;
            var exists = problem is null && File.Exists(item.FullPath);
            if (problem is not null)
                context.Error(DiagnosticCodes.NotAnOrdinaryFile, item.IncludeLocation, $"{type} {problem}.");
            else if (!exists)
                context.Error(DiagnosticCodes.FileNotFound, item.IncludeLocation,
                    $"{type} file '{item.FullPath}' does not exist. Fix the Include path (it is relative to the project directory) or add the file.");
            else if (format == CorpusFormat.Text && new FileInfo(item.FullPath).Length > MaxTextFileBytes)
                context.Error(DiagnosticCodes.TextFileTooLarge, item.IncludeLocation,
                    $"{type} file '{item.FullPath}' is {new FileInfo(item.FullPath).Length / 1e9:0.#} GB, but a text file is one document and one document can hold at most {MaxTextFileBytes / 1e9:0.#} GB. "
                    + "Split it into several files (Include=\"data/*.txt\"), or write it as JSON lines (one document per line).");
            if (name is null)
            {
                allNamed = false;
                continue;
            }

            // A set with a bad setting is kept (the error blocks the spec anyway) so that a Mix naming it
            // is not reported as naming an unknown corpus.
            var draft = drafts.FirstOrDefault(s => string.Equals(s.Name, name, StringComparison.OrdinalIgnoreCase));
            if (draft is null)
                drafts.Add(draft = new Draft(name, format ?? CorpusFormat.Text, textField, decontaminate ?? true, item.Location));
            else if (format is not null && decontaminate is not null)
                CheckAgrees(context, item, draft, format.Value, textField, decontaminate.Value);
            if (exists) draft.Files.Add(item.FullPath);
        }
        foreach (var (pattern, location, element) in context.Locator.UnmatchedWildcards(type))
        {
            var declaredName = (ProjectXml.Attribute(element, "Name")?.Value ?? ProjectXml.Child(element, "Name")?.Value)?.Trim();
            emptyNames.Add(declaredName ?? defaultName ?? "");
            context.Error(DiagnosticCodes.PatternMatchedNoFiles, location,
                $"{type} Include pattern '{pattern}' matched no files. Fix the pattern (it is relative to the project directory) or add the files.");
        }
        gaps = new FileSetGaps(!allNamed, emptyNames);
        return drafts.Select(d => new FileSet(d.Name, d.Files.ToList(), d.Format, d.TextField, d.Decontaminate,
            d.Files.Sum(f => new FileInfo(f).Length), d.Location)).ToList();
    }

    private static string? ReadName(SpecContext context, ItemView item, string? defaultName)
    {
        var value = defaultName is null ? item.Required("Name", "web") : item.Get("Name");
        if (value is null) return defaultName;
        if (PropertyReader.SafeName().IsMatch(value.Value.Text)) return value.Value.Text;
        // Names appear in Mix ("web=0.8;code=0.2") and in output paths.
        context.Error(DiagnosticCodes.InvalidName, value.Value.Location,
            $"{value.Value.What} is '{value.Value.Text}'; use only letters, digits, '.', '-' and '_', starting with a letter or digit.");
        return null;
    }

    /// <summary>Explicit Format wins; else .jsonl/.ndjson are JSON lines and every other file is plain text (source code included).</summary>
    private static CorpusFormat? ReadFormat(SpecContext context, ItemView item)
    {
        if (item.Get("Format") is not { } value)
        {
            var extension = Path.GetExtension(item.Include).ToLowerInvariant();
            return extension is ".jsonl" or ".ndjson" ? CorpusFormat.JsonLines : CorpusFormat.Text;
        }
        switch (value.Text.ToLowerInvariant())
        {
            case "text": return CorpusFormat.Text;
            case "jsonl": return CorpusFormat.JsonLines;
            default:
                context.Error(DiagnosticCodes.UnknownFormat, value.Location,
                    $"{value.What} is '{value.Text}'; write Format=\"text\" (one document per file) or Format=\"jsonl\" (one JSON object per line).");
                return null;
        }
    }

    private static void CheckAgrees(SpecContext context, ItemView item, Draft first, CorpusFormat format, string textField, bool decontaminate)
    {
        var (setting, mine, theirs) =
            format != first.Format ? ("Format", Describe(format), Describe(first.Format))
            : !string.Equals(textField, first.TextField, StringComparison.Ordinal) ? ("TextField", textField, first.TextField)
            : decontaminate != first.Decontaminate ? ("Decontaminate", decontaminate.ToString().ToLowerInvariant(), first.Decontaminate.ToString().ToLowerInvariant())
            : (null, null, null);
        if (setting is null) return;
        var location = item.Has(setting) ? item.Get(setting)!.Value.Location : item.IncludeLocation;
        context.Error(DiagnosticCodes.ConflictingFileSetSettings, location,
            $"{item.Describe} has {setting} '{mine}', but an earlier {item.Type} named '{first.Name}' (at {first.Location}) has '{theirs}'. "
            + $"Files of one {item.Type} are read the same way: give this item another Name, or set {setting} to match.");
    }

    private static string Describe(CorpusFormat format) => format == CorpusFormat.JsonLines ? "jsonl" : "text";
}
