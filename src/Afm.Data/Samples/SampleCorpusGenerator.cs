using System.Text;
using System.Text.Json;
using Afm.Data.Common;
using Afm.Core.IO;

namespace Afm.Data.Samples;

/// <summary>
/// Writes the sample corpora (see specs/sample-data.md): stories.jsonl, arithmetic.jsonl, facts.jsonl,
/// notifications.jsonl (fields "text" and "summary") and eval.jsonl (held-out documents of every style, with a
/// "style" field). Deterministic: a given seed and sizes give byte-identical files on any machine and .NET version.
/// </summary>
public static class SampleCorpusGenerator
{
    public static IReadOnlyList<string> Generate(string outputDirectory, SampleCorpusOptions options)
    {
        Directory.CreateDirectory(outputDirectory);
        var world = new FactWorld(options.Seed);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string Fact(ref SplitMix64 r) => world.Write(ref r);

        var styles = new (string Name, int Count, Generator Make)[]
        {
            ("stories", options.Stories, static (ref SplitMix64 r) => (StoryWriter.Write(ref r), null)),
            ("arithmetic", options.ArithmeticDocuments, static (ref SplitMix64 r) => (ArithmeticWriter.Write(ref r), null)),
            ("facts", options.FactDocuments, (ref SplitMix64 r) => (Fact(ref r), null)),
            ("notifications", options.Notifications, static (ref SplitMix64 r) => NotificationWriter.Write(ref r)),
        };

        var files = new List<string>();
        var eval = new StringBuilder();
        var summaries = new StringBuilder();
        foreach (var (name, count, make) in styles)
        {
            // One independent stream per style, so resizing one corpus leaves the others unchanged.
            var random = new SplitMix64(options.Seed ^ StableHash.Of("sample", name));
            var lines = new StringBuilder();
            for (var i = 0; i < count; i++)
            {
                var (text, summary) = make(ref random);
                seen.Add(text);
                lines.Append(Line(text, summary, null)).Append('\n');
            }
            files.Add(WriteFile(outputDirectory, name + ".jsonl", lines));

            // Held out: drawn after the training documents from the same stream, skipping any exact duplicate of a
            // training document (short arithmetic sheets can repeat), with a bounded number of attempts.
            for (int written = 0, attempts = 0; written < options.EvalPerStyle && attempts < options.EvalPerStyle * 20; attempts++)
            {
                var (text, summary) = make(ref random);
                if (!seen.Add(text))
                    continue;
                eval.Append(Line(text, summary, name)).Append('\n');
                if (summary is not null) summaries.Append(Line(text, summary, null)).Append('\n');
                written++;
            }
        }
        files.Add(WriteFile(outputDirectory, "eval.jsonl", eval));
        // Benchmark tasks for the evaluate stage: the held-out notifications as a generate task, and a multiple-choice
        // question per country of the fact world (its own stream: the corpora do not change).
        files.Add(WriteFile(outputDirectory, "task-summaries.jsonl", summaries));
        var questions = new StringBuilder();
        foreach (var (context, choices, label) in world.CapitalQuestions(new SplitMix64(options.Seed ^ StableHash.Of("sample", "task-capitals"))))
            questions.Append(JsonSerializer.Serialize(new { context, choices, label }, SingleLine)).Append('\n');
        files.Add(WriteFile(outputDirectory, "task-capitals.jsonl", questions));
        // Preference pairs of notification summaries for reward and dpo stages (its own stream: the corpora do not change).
        var pairs = new StringBuilder();
        var pairRandom = new SplitMix64(options.Seed ^ StableHash.Of("sample", "preferences"));
        for (int i = 0; i < options.PreferencePairs; i++)
        {
            var (prompt, chosen, rejected, level, chosenGrade, rejectedGrade) = PreferenceWriter.Write(ref pairRandom);
            var record = new Dictionary<string, object> { ["prompt"] = prompt, ["chosen"] = chosen, ["rejected"] = rejected, ["level"] = level };
            if (chosenGrade is { } c) record["chosen_grade"] = c;
            if (rejectedGrade is { } r) record["rejected_grade"] = r;
            pairs.Append(JsonSerializer.Serialize(record, SingleLine)).Append('\n');
        }
        files.Add(WriteFile(outputDirectory, "preferences.jsonl", pairs));
        return files;
    }

    private delegate (string Text, string? Summary) Generator(ref SplitMix64 random);

    private static string Line(string text, string? summary, string? style)
    {
        var record = new Dictionary<string, string> { ["text"] = text };
        if (summary is not null)
            record["summary"] = summary;
        if (style is not null)
            record["style"] = style;
        return JsonSerializer.Serialize(record, SingleLine);
    }

    private static readonly JsonSerializerOptions SingleLine = new(JsonFiles.Options) { WriteIndented = false };

    private static string WriteFile(string directory, string name, StringBuilder content)
    {
        var path = Path.Combine(directory, name);
        AtomicOutput.WriteAllBytes(path, new UTF8Encoding(false).GetBytes(content.ToString()));
        return path;
    }
}
