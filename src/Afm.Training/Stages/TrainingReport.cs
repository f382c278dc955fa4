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
    /// <summary>reward and dpo stages: held-out preference results (specs/post-training.md); absent for language-model stages,
    /// whose validation loss is the next-token loss (for these it is the held-out preference loss).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public PreferenceReport? Preference { get; init; }
    /// <summary>sft stages with a MixShare: the pretraining data mixed in and its held-out loss over the stage (specs/afmproj.md).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public PretrainingMixReport? Mix { get; init; }
    /// <summary>rejection-sampling and rl stages: what their sampled responses scored (specs/post-training.md).</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public SamplingReport? Sampling { get; init; }
}

/// <summary>
/// What a rejection-sampling or rl stage measured with its reward model. <paramref name="Prompts"/>: training prompts
/// answered (rejection sampling: each once by every committee member; rl: over the whole stage). The greedy figures answer
/// the first <paramref name="ScoredPrompts"/> held-out prompts with the incoming and with the trained model.
/// </summary>
public sealed record SamplingReport(string Kind, string RewardModel, int Samples, double Temperature, long Prompts,
    int ScoredPrompts, double MeanRewardIncoming, double MeanRewardTrained)
{
    /// <summary>rejection-sampling: each committee member's results, in Committee order.</summary>
    public IReadOnlyList<CommitteeMemberResult>? Committee { get; init; }
    /// <summary>rejection-sampling: mean reward of the kept responses (the best of the whole committee per prompt).</summary>
    public double? MeanKeptReward { get; init; }
}

/// <param name="MeanBestReward">Mean over prompts of the member's best reward among its own samples: what it would keep alone.</param>
/// <param name="MeanReward">Mean reward of all the member's samples.</param>
/// <param name="KeptShare">Share of prompts whose kept response is this member's.</param>
public sealed record CommitteeMemberResult(string Name, double MeanBestReward, double MeanReward, double KeptShare);

/// <summary>What a reward or dpo stage measured on its held-out pairs.</summary>
/// <param name="Kind">"reward" or "dpo".</param>
/// <param name="Accuracy">Share of held-out pairs ranked right: reward r_c &gt; r_r, or implicit reward margin &gt; 0 (dpo).</param>
/// <param name="MeanMargin">Mean of r_c - r_r (reward) or of the implicit reward margin β h (dpo).</param>
/// <param name="ByLevel">The same, per preference level (levels with no held-out pair are left out).</param>
public sealed record PreferenceReport(string Kind, int HeldOutPairs, double Accuracy, double MeanMargin, IReadOnlyList<LevelResult> ByLevel)
{
    /// <summary>dpo: mean implicit rewards β (log π - log π_ref) of the held-out chosen and rejected responses.</summary>
    public double? MeanChosenReward { get; init; }
    public double? MeanRejectedReward { get; init; }
    /// <summary>dpo with a RewardModel: its name, and the mean reward it gives greedy responses to the held-out prompts, from the reference (the incoming model) and from the trained model.</summary>
    public string? RewardModel { get; init; }
    public int? ScoredPrompts { get; init; }
    public double? MeanRewardReference { get; init; }
    public double? MeanRewardTrained { get; init; }
}

public sealed record LevelResult(string Level, int Pairs, double Accuracy, double MeanMargin);

public sealed record TrainPoint(long Step, long Tokens, double LearningRate, double Loss);

public sealed record ValidationPoint(long Step, double Loss);

/// <summary>Wall-clock facts: useful to humans, never part of a deterministic artifact.</summary>
public sealed record TrainingTimings
{
    public required IReadOnlyList<StageTiming> Stages { get; init; }
}

/// <summary><paramref name="Skipped"/>: the stage's checkpoint was up to date, so this run did not train it.</summary>
public sealed record StageTiming(string Name, double Seconds, double TokensPerSecond, bool Skipped);
