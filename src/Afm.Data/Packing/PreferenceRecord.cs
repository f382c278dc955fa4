using System.Globalization;
using System.Text.Json;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Corpora;

namespace Afm.Data.Packing;

/// <summary>
/// One line of a reward or dpo stage's Data (specs/post-training.md): <c>{"prompt", "chosen", "rejected", "level",
/// "chosen_grade"?, "rejected_grade"?}</c>. <see cref="Parse"/> reports every malformed line at <c>file(line,1)</c>.
/// </summary>
public sealed record PreferenceRecord(string Prompt, string Chosen, string Rejected, PreferenceLevel Level, float ChosenGrade, float RejectedGrade)
{
    public const string ChosenField = "chosen";
    public const string RejectedField = "rejected";
    public const string LevelField = "level";
    public const string ChosenGradeField = "chosen_grade";
    public const string RejectedGradeField = "rejected_grade";

    /// <summary>The level keywords in <see cref="PreferenceLevel"/> order.</summary>
    public static readonly string[] LevelNames = ["significantly better", "better", "slightly better", "negligibly better"];

    /// <summary>The line is not valid JSON, or not an object.</summary>
    public const string NotAnObject = "AFM2300";
    /// <summary>The prompt, chosen or rejected field is missing or not a string.</summary>
    public const string MissingText = "AFM2301";
    /// <summary>The level is missing or not one of <see cref="LevelNames"/>.</summary>
    public const string BadLevel = "AFM2302";
    /// <summary>A grade is not a number from 0 to 1.</summary>
    public const string BadGrade = "AFM2303";
    /// <summary>The chosen and rejected responses are the same text.</summary>
    public const string SameResponses = "AFM2304";
    /// <summary>Prompt + response + end-of-document do not fit the stage's SequenceLength.</summary>
    public const string PairTooLong = "AFM2305";
    /// <summary>The stage's Data files hold no pair (every line blank).</summary>
    public const string NoPairs = "AFM2306";

    /// <summary>A grade that was not given: it adds nothing to the grade regularizer.</summary>
    public static bool HasGrade(float grade) => !float.IsNaN(grade);

    public static PreferenceRecord Parse(string line, string promptField, string file, int lineNumber)
    {
        var at = new SourceLocation(file, lineNumber, 1);
        JsonDocument json;
        try
        {
            json = JsonDocument.Parse(line);
        }
        catch (JsonException e)
        {
            throw DataDiagnostics.Error(NotAnObject, $"Bad preference record: the line is not valid JSON ({e.Message}). {Shape(promptField)}", at);
        }
        using (json)
        {
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
                throw DataDiagnostics.Error(NotAnObject, $"Bad preference record: the line is not a JSON object. {Shape(promptField)}", at);
            string Text(string name) =>
                root.TryGetProperty(name, out var f) && f.ValueKind == JsonValueKind.String ? f.GetString()!
                : throw DataDiagnostics.Error(MissingText,
                    $"Bad preference record: \"{name}\" is {(root.TryGetProperty(name, out _) ? "not a string" : "missing")}. {Shape(promptField)}", at);
            var prompt = Text(promptField);
            var chosen = Text(ChosenField);
            var rejected = Text(RejectedField);
            var level = ReadLevel(root, at);
            if (string.Equals(chosen, rejected, StringComparison.Ordinal))
                throw DataDiagnostics.Error(SameResponses,
                    "Bad preference record: \"chosen\" and \"rejected\" are the same text, so neither can be preferred. Remove the line or give it two different responses.", at);
            return new PreferenceRecord(prompt, chosen, rejected, level, Grade(root, ChosenGradeField, at), Grade(root, RejectedGradeField, at));
        }
    }

    private static PreferenceLevel ReadLevel(JsonElement root, SourceLocation at)
    {
        if (root.TryGetProperty(LevelField, out var f) && f.ValueKind == JsonValueKind.String)
        {
            var index = Array.FindIndex(LevelNames, n => string.Equals(n, f.GetString()?.Trim(), StringComparison.OrdinalIgnoreCase));
            if (index >= 0) return (PreferenceLevel)index;
        }
        var found = root.TryGetProperty(LevelField, out var g) ? $"is {g.GetRawText()}" : "is missing";
        throw DataDiagnostics.Error(BadLevel,
            $"Bad preference record: \"level\" {found}; write one of {string.Join(", ", LevelNames.Select(n => $"\"{n}\""))} (how much better \"chosen\" is).", at);
    }

    private static float Grade(JsonElement root, string name, SourceLocation at)
    {
        if (!root.TryGetProperty(name, out var f) || f.ValueKind == JsonValueKind.Null) return float.NaN;
        if (f.ValueKind == JsonValueKind.Number && f.TryGetDouble(out var v) && v >= 0 && v <= 1) return (float)v;
        throw DataDiagnostics.Error(BadGrade,
            $"Bad preference record: \"{name}\" is {f.GetRawText()}; a single-sided grade is a number from 0 (bad) to 1 (good), or leave it out.", at);
    }

    private static string Shape(string promptField) => string.Create(CultureInfo.InvariantCulture,
        $"Each non-blank line must be an object with string \"{promptField}\", \"{ChosenField}\" and \"{RejectedField}\" fields and a \"{LevelField}\" (specs/post-training.md).");
}
