using System.Text.Json;
using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Core.Spec;

namespace Afm.Evaluation.Tasks;

/// <summary>
/// Reads a task's files into records, in file order and line order. Field names come from the EvalTask
/// (specs/afmproj.md); a label is the index of the right choice or the right choice's text (as lm-evaluation-harness
/// accepts both); a label outside the choices, a missing field or a field of the wrong type is an error at file(line).
/// </summary>
public static class TaskFileReader
{
    public static IReadOnlyList<MultipleChoiceItem> ReadMultipleChoice(EvalTaskSpec task, IReadOnlyList<string>? files = null)
    {
        var items = new List<MultipleChoiceItem>();
        foreach (var file in files ?? task.Files)
            foreach (var (record, location) in JsonLinesRecords.Read(file))
            {
                var context = JsonLinesRecords.String(record, task.ContextField, location, "ContextField");
                var choices = Choices(record, task.ChoicesField, location);
                items.Add(new MultipleChoiceItem(context, choices, Label(record, task.LabelField, choices, location), location));
            }
        return NotEmpty(items, files ?? task.Files, "multiple-choice records");
    }

    public static IReadOnlyList<GenerateItem> ReadGenerate(EvalTaskSpec task)
    {
        var items = new List<GenerateItem>();
        foreach (var file in task.Files)
            foreach (var (record, location) in JsonLinesRecords.Read(file))
                items.Add(new GenerateItem(JsonLinesRecords.String(record, task.PromptField, location, "PromptField"),
                    JsonLinesRecords.String(record, task.ReferenceField, location, "ReferenceField"), location));
        return NotEmpty(items, task.Files, "prompt/reference records");
    }

    /// <summary>A .jsonl file holds one document per record (TextField); any other file is one document (at most 1 GB, TextDocumentFile).</summary>
    public static IReadOnlyList<TextDocument> ReadDocuments(EvalTaskSpec task)
    {
        var documents = new List<TextDocument>();
        foreach (var file in task.Files)
        {
            if (file.EndsWith(".jsonl", StringComparison.OrdinalIgnoreCase))
                documents.AddRange(JsonLinesRecords.Read(file).Select(r =>
                    new TextDocument(JsonLinesRecords.String(r.Record, task.TextField, r.Location, "TextField"), r.Location)));
            // A text file over 1 GB is AFM2351; one of size 0 (or a pipe) is never opened.
            else if (TextDocumentFile.Read(file) is { Length: > 0 } text)
                documents.Add(new TextDocument(text, SourceLocation.FileOnly(file)));
        }
        return NotEmpty(documents.Where(d => d.Text.Length > 0).ToList(), task.Files, "non-empty documents");
    }

    private static IReadOnlyList<string> Choices(JsonElement record, string field, SourceLocation location)
    {
        var value = JsonLinesRecords.Field(record, field, location, "ChoicesField");
        if (value.ValueKind != JsonValueKind.Array)
            throw EvaluationCodes.Error(EvaluationCodes.WrongFieldType, location, $"\"{field}\" is a JSON {JsonLinesRecords.Kind(value)}, not an array of strings.");
        var choices = new List<string>();
        foreach (var choice in value.EnumerateArray())
            choices.Add(choice.ValueKind == JsonValueKind.String ? choice.GetString()!
                : throw EvaluationCodes.Error(EvaluationCodes.WrongFieldType, location, $"\"{field}\" holds a JSON {JsonLinesRecords.Kind(choice)}; every choice must be a string."));
        if (choices.Count < 2)
            throw EvaluationCodes.Error(EvaluationCodes.WrongFieldType, location, $"\"{field}\" has {choices.Count} choice(s); a multiple-choice record needs at least 2.");
        return choices;
    }

    private static int Label(JsonElement record, string field, IReadOnlyList<string> choices, SourceLocation location)
    {
        var value = JsonLinesRecords.Field(record, field, location, "LabelField");
        if (value.ValueKind == JsonValueKind.Number)
        {
            if (value.TryGetInt32(out var index) && index >= 0 && index < choices.Count) return index;
            throw EvaluationCodes.Error(EvaluationCodes.LabelOutsideChoices, location,
                $"\"{field}\" is {value.GetRawText()}, outside the {choices.Count} choices (write an index from 0 to {choices.Count - 1}, or the right choice's text).");
        }
        if (value.ValueKind == JsonValueKind.String)
        {
            var text = value.GetString()!;
            for (int i = 0; i < choices.Count; i++)
                if (choices[i] == text) return i;
            throw EvaluationCodes.Error(EvaluationCodes.LabelOutsideChoices, location,
                $"\"{field}\" is \"{text}\", which is none of the choices ({string.Join(", ", choices.Select(c => $"\"{c}\""))}).");
        }
        throw EvaluationCodes.Error(EvaluationCodes.WrongFieldType, location, $"\"{field}\" is a JSON {JsonLinesRecords.Kind(value)}; write the right choice's index or text.");
    }

    private static IReadOnlyList<T> NotEmpty<T>(List<T> items, IReadOnlyList<string> files, string what) => items.Count > 0 ? items
        : throw EvaluationCodes.Error(EvaluationCodes.NoRecords, SourceLocation.FileOnly(files.FirstOrDefault() ?? "afm"),
            $"the task's files hold no {what}; an empty task has nothing to measure.");
}
