namespace Afm.Training.Stages;

/// <summary>
/// What training produced. Everything here is a deterministic function of the inputs (same seed + threads
/// = same numbers) except <see cref="Timings"/>, which is kept in its own object so the artifact can leave it out.
/// </summary>
public sealed record TrainingReport
{
    public required long ParameterCount { get; init; }
    /// <summary>Absolute path of the last stage's model.safetensors.</summary>
    public required string FinalWeightsPath { get; init; }
    public required IReadOnlyList<StageReport> Stages { get; init; }
    public TrainingTimings? Timings { get; init; }
}

public sealed record StageReport
{
    public required string Name { get; init; }
    public required long Steps { get; init; }
    public required long Tokens { get; init; }
    public required int SequenceLength { get; init; }
    public required int BatchSize { get; init; }
    public required double RopeBase { get; init; }
    /// <summary>What the forward and backward passes computed in: fp32 or bf16-mixed (specs/afmproj.md, "Precision").</summary>
    public string? Precision { get; init; }
    /// <summary>Why: "declared", or how auto resolved (portable determinism, the measured bf16/fp32 matmul speed).</summary>
    public string? PrecisionReason { get; init; }
    public required IReadOnlyList<TrainPoint> TrainCurve { get; init; }
    public required IReadOnlyList<ValidationPoint> ValidationCurve { get; init; }
    /// <summary>Null when the stage has no validation sequences.</summary>
    public double? FinalValidationLoss { get; init; }
    public double? FinalValidationPerplexity { get; init; }
}

public sealed record TrainPoint(long Step, long Tokens, double LearningRate, double Loss);

public sealed record ValidationPoint(long Step, double Loss);

/// <summary>Wall-clock facts: useful to humans, never part of a deterministic artifact.</summary>
public sealed record TrainingTimings
{
    public required IReadOnlyList<StageTiming> Stages { get; init; }
}

/// <summary><paramref name="Skipped"/>: the stage's checkpoint was up to date, so this run did not train it.</summary>
public sealed record StageTiming(string Name, double Seconds, double TokensPerSecond, bool Skipped);
