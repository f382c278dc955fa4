using System.Text.Json;
using Afm.Core.Diagnostics;
using Afm.Core.IO;

namespace Afm.Evaluation.Tasks;

/// <summary>
/// The records of a JSON lines task file, one object per non-blank line, with typed field access whose every mistake
/// is a diagnostic at file(line) (AFM2400-2403; a line too long to read, AFM2350) rather than an exception.
/// </summary>
internal static class JsonLinesRecords
{
    public static IEnumerable<(JsonElement Record, SourceLocation Location)> Read(string file)
    {
        foreach (var (line, text) in JsonLinesFile.Lines(file))
        {
            if (string.IsNullOrWhiteSpace(text)) continue;
            var location = new SourceLocation(file, line, 1);
            JsonElement root;
            try
            {
                using var document = JsonDocument.Parse(text);
                root = document.RootElement.Clone();
            }
            catch (JsonException e)
            {
                throw EvaluationCodes.Error(EvaluationCodes.BadJsonLine, location, $"the line is not valid JSON ({e.Message}). Each non-blank line must be one JSON object.");
            }
            if (root.ValueKind != JsonValueKind.Object)
                throw EvaluationCodes.Error(EvaluationCodes.BadJsonLine, location, $"the line is a JSON {root.ValueKind.ToString().ToLowerInvariant()}, not an object.");
            yield return (root, location);
        }
    }

    public static JsonElement Field(JsonElement record, string name, SourceLocation location, string metadata)
    {
        if (record.TryGetProperty(name, out var value) && value.ValueKind != JsonValueKind.Null) return value;
        var present = string.Join(", ", record.EnumerateObject().Select(p => $"\"{p.Name}\""));
        throw EvaluationCodes.Error(EvaluationCodes.MissingField, location,
            $"the record has no \"{name}\" field (its fields: {(present.Length == 0 ? "none" : present)}). Add it, or name the field to read with {metadata} on the EvalTask.");
    }

    public static string String(JsonElement record, string name, SourceLocation location, string metadata)
    {
        var value = Field(record, name, location, metadata);
        return value.ValueKind == JsonValueKind.String ? value.GetString()!
            : throw EvaluationCodes.Error(EvaluationCodes.WrongFieldType, location, $"\"{name}\" is a JSON {Kind(value)}, not a string.");
    }

    public static string Kind(JsonElement value) => value.ValueKind.ToString().ToLowerInvariant();
}
