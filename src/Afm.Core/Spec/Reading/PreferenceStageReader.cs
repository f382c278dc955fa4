namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the metadata only reward and dpo stages have (specs/post-training.md) and refuses it on other kinds, where
/// it would be silently ignored. Which stage a dpo stage's RewardModel names is checked once all stages are read.
/// </summary>
internal static class PreferenceStageReader
{
    public static readonly string[] RewardMetadata = ["SoftLabels", "GradeWeight"];
    public static readonly string[] DpoMetadata = ["Loss", "Beta", "RewardModel"];
    public static readonly string[] Metadata = [.. RewardMetadata, .. DpoMetadata];

    /// <summary>
    /// The kinds the AFM report has after sft that this toolchain does not build yet: named so that a project using them
    /// is told so (AFM1440), not that it mistyped a kind.
    /// </summary>
    public static readonly string[] KindsNotBuilt = ["rejection-sampling", "rl"];

    /// <summary>The settings of a reward or dpo stage, null for other kinds; <paramref name="valid"/> is false after an error.</summary>
    public static PreferenceStageSpec? Read(SpecContext context, ItemView item, StageKind? kind, out bool valid)
    {
        valid = true;
        foreach (var name in Metadata)
        {
            if (item.Get(name) is not { } value) continue;
            bool applies = kind == StageKind.Reward ? RewardMetadata.Contains(name) : kind == StageKind.Dpo && DpoMetadata.Contains(name);
            if (applies || kind is null) continue;
            var owner = RewardMetadata.Contains(name) ? "reward" : "dpo";
            context.Error(DiagnosticCodes.MetadataNotForStageKind, value.Location,
                $"{value.What} applies only to Kind=\"{owner}\" stages (specs/post-training.md). Remove {name}, or make the stage Kind=\"{owner}\".");
            valid = false;
        }
        if (kind is not (StageKind.Reward or StageKind.Dpo)) return null;

        var softLabels = item.Get("SoftLabels") is { } s ? context.Bool(s) : true;
        var gradeWeight = item.Get("GradeWeight") is { } g ? context.Double(g, SpecContext.NonNegative) : PreferenceDefaults.GradeWeight;
        var loss = context.Choice(item, "Loss", PreferenceLoss.Dpo, DiagnosticCodes.UnknownPreferenceLoss,
            ("dpo", PreferenceLoss.Dpo), ("ipo", PreferenceLoss.Ipo));
        var beta = item.Get("Beta") is { } b ? context.Double(b, SpecContext.Positive) : PreferenceDefaults.Beta;
        if (softLabels is null || gradeWeight is null || loss is null || beta is null)
        {
            valid = false;
            return null;
        }
        return new PreferenceStageSpec
        {
            SoftLabels = softLabels.Value, GradeWeight = gradeWeight.Value, Loss = loss.Value, Beta = beta.Value,
            RewardModel = item.Get("RewardModel")?.Text,
        };
    }

    /// <summary>
    /// A dpo stage's RewardModel must name a reward stage declared before it (its model exists when the dpo stage runs);
    /// a preference stage needs weights to start from: an earlier stage, or the BaseModel.
    /// </summary>
    public static void CheckOrder(SpecContext context, List<(ItemView Item, TrainingStageSpec? Spec)> stages, bool hasBaseModel)
    {
        for (int i = 0; i < stages.Count; i++)
        {
            var (item, spec) = stages[i];
            if (spec is null) continue;
            if (i == 0 && spec.IsPreference && !hasBaseModel)
                context.Error(DiagnosticCodes.PreferenceStageFirst, item.Location,
                    $"{item.Describe} is a {spec.Kind.ToString().ToLowerInvariant()} stage but the first stage: it starts from the weights of the stage before it " +
                    "(or of a BaseModel), and a randomly initialized model has no language to prefer one response by. Put a pretrain or sft stage before it.");
            if (spec.Preference?.RewardModel is not { } name || item.Get("RewardModel") is not { } value) continue;
            var earlier = stages.Take(i).Where(s => s.Spec is { Kind: StageKind.Reward }).Select(s => s.Spec!.Name).ToList();
            if (!earlier.Contains(name, StringComparer.Ordinal) && !stages.Take(i).Any(s => s.Spec is null))
                context.Error(DiagnosticCodes.RewardModelUnknown, value.Location,
                    $"{value.What} is '{name}', which names no Kind=\"reward\" stage declared before this one. " +
                    (earlier.Count > 0 ? $"Write one of: {string.Join(", ", earlier)}." : "Declare a reward stage before it, or remove RewardModel."));
        }
    }
}
