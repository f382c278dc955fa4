using System.Text.Json;
using System.Text.Json.Serialization;
using Afm.Evaluation.Scoring;

namespace Afm.Evaluation.Reports;

/// <summary>One task's scores: per variant (by name), its metrics, the main one first.</summary>
public sealed record TaskReport
{
    public required string Name { get; init; }
    public required string Kind { get; init; }
    public required int Items { get; init; }
    /// <summary>The metric the gate compares (acc, rouge_l or bits_per_byte).</summary>
    public required string MainMetric { get; init; }
    /// <summary>False for bits per byte: a drop is then a rise.</summary>
    public required bool HigherIsBetter { get; init; }
    public required SortedDictionary<string, IReadOnlyList<MetricValue>> Results { get; init; }

    public double? Main(string variant) => Results.TryGetValue(variant, out var metrics) ? metrics[0].Value : null;
}

/// <summary>
/// reports/evaluation.json (specs/artifact.md): every task on every variant the build has, with bootstrap standard
/// errors. The variants are listed in the order the report shows them.
/// </summary>
public sealed record EvaluationReport
{
    public required string Model { get; init; }
    public required long Seed { get; init; }
    public int Resamples { get; init; } = Bootstrap.Resamples;
    public required IReadOnlyList<string> Variants { get; init; }
    public required IReadOnlyList<TaskReport> Tasks { get; init; }

    public static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    };

    public string ToJson() => JsonSerializer.Serialize(this, Json) + "\n";

    /// <summary>The report in <paramref name="path"/>, or null when it is not one (unreadable JSON, missing fields, over 64 MiB).</summary>
    public static EvaluationReport? TryLoad(string path) => Afm.Core.IO.BoundedFile.TryReadReport<EvaluationReport>(path, Json);
}
