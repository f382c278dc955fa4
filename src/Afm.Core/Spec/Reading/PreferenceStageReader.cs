namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the metadata only post-training stages have (specs/post-training.md) and refuses it on other kinds, where
/// it would be silently ignored. Which stages a RewardModel and a Committee name is checked once all stages are read.
/// </summary>
internal static class PreferenceStageReader
{
    /// <summary>Each post-training metadata and the kinds it applies to (on any other kind it would be silently ignored).</summary>
    private static readonly (string Name, StageKind[] Kinds)[] MetadataKinds =
    [
        ("SoftLabels", [StageKind.Reward]),
        ("GradeWeight", [StageKind.Reward]),
        ("Readout", [StageKind.Reward]),
        ("Loss", [StageKind.Dpo]),
        ("Beta", [StageKind.Dpo, StageKind.Rl]),
        ("RewardModel", [StageKind.Dpo, StageKind.RejectionSampling, StageKind.Rl]),
        ("Committee", [StageKind.RejectionSampling]),
        ("Samples", [StageKind.RejectionSampling, StageKind.Rl]),
        ("Temperature", [StageKind.RejectionSampling, StageKind.Rl]),
        ("PolicySteps", [StageKind.Rl]),
        ("TrustRegion", [StageKind.Rl]),
    ];
    public static readonly string[] Metadata = [.. MetadataKinds.Select(m => m.Name)];

    /// <summary>
    /// The kinds the AFM report has after sft that this toolchain does not build yet: named so that a project using them
    /// is told so (AFM1440), not that it mistyped a kind.
    /// </summary>
    public static readonly string[] KindsNotBuilt = [];

    /// <summary>The settings of a post-training stage, null for other kinds; <paramref name="valid"/> is false after an error.</summary>
    public static PreferenceStageSpec? Read(SpecContext context, ItemView item, StageKind? kind, out bool valid)
    {
        valid = true;
        foreach (var (name, kinds) in MetadataKinds)
        {
            if (item.Get(name) is not { } value || kind is null || kinds.Contains(kind.Value)) continue;
            var owners = string.Join(" or ", kinds.Select(k => $"Kind=\"{StageKinds.Name(k)}\""));
            context.Error(DiagnosticCodes.MetadataNotForStageKind, value.Location,
                $"{value.What} applies only to {owners} stages (specs/post-training.md). Remove {name}, or change the stage's Kind.");
            valid = false;
        }
        if (kind is null or StageKind.Pretrain or StageKind.Sft) return null;

        var softLabels = item.Get("SoftLabels") is { } s ? context.Bool(s) : true;
        var gradeWeight = item.Get("GradeWeight") is { } g ? context.Double(g, SpecContext.NonNegative) : PreferenceDefaults.GradeWeight;
        var loss = context.Choice(item, "Loss", PreferenceLoss.Dpo, DiagnosticCodes.UnknownPreferenceLoss,
            ("dpo", PreferenceLoss.Dpo), ("ipo", PreferenceLoss.Ipo));
        var beta = item.Get("Beta") is { } b ? context.Double(b, SpecContext.Positive) : PreferenceDefaults.Beta;
        var readout = context.Choice(item, "Readout", RewardReadout.Likelihood, DiagnosticCodes.UnknownRewardReadout,
            Enum.GetValues<RewardReadout>().Select(r => (RewardReadouts.Name(r), r)).ToArray());
        if (softLabels is null || gradeWeight is null || loss is null || beta is null || readout is null)
        {
            valid = false;
            return null;
        }
        var settings = new PreferenceStageSpec
        {
            SoftLabels = softLabels.Value, GradeWeight = gradeWeight.Value, Readout = readout.Value, Loss = loss.Value, Beta = beta.Value,
            RewardModel = item.Get("RewardModel")?.Text,
        };
        return kind is StageKind.RejectionSampling or StageKind.Rl ? ReadSampling(context, item, kind.Value, settings, ref valid) : settings;
    }

    /// <summary>What rejection-sampling and rl stages add: the reward model they need, samples, temperature, committee, MDPO's settings.</summary>
    private static PreferenceStageSpec? ReadSampling(SpecContext context, ItemView item, StageKind kind, PreferenceStageSpec settings, ref bool valid)
    {
        if (settings.RewardModel is null)
        {
            context.Error(DiagnosticCodes.SamplingStageWithoutRewardModel, item.Location,
                $"{item.Describe} is a {StageKinds.Name(kind)} stage without RewardModel: its sampled responses are " +
                (kind == StageKind.Rl ? "rewarded" : "ranked") + " by a reward model. Add RewardModel=\"rm\" naming an earlier Kind=\"reward\" stage.");
            valid = false;
        }
        var samples = item.Get("Samples") is { } n ? context.Int(n, SpecContext.Positive) : PreferenceDefaults.Samples;
        if (kind == StageKind.Rl && samples is < 2 && item.Get("Samples") is { } few)
        {
            context.Error(DiagnosticCodes.TooFewSamples, few.Location,
                $"{few.What} is {samples}, but an rl stage's leave-one-out advantage compares each response with the others of its prompt: write Samples=\"2\" or more.");
            samples = null;
        }
        var temperature = item.Get("Temperature") is { } t ? context.Double(t, (v => v > 0 && v <= 2, "above 0 and at most 2")) : PreferenceDefaults.Temperature;
        var policySteps = item.Get("PolicySteps") is { } ps ? context.Int(ps, SpecContext.Positive) : PreferenceDefaults.PolicySteps;
        var trustRegion = item.Get("TrustRegion") is { } tr ? context.Double(tr, SpecContext.NonNegative) : PreferenceDefaults.TrustRegion;
        var committee = kind == StageKind.RejectionSampling ? ReadCommittee(context, item) : [];
        if (samples is null || temperature is null || policySteps is null || trustRegion is null || committee is null) valid = false;
        if (!valid) return null;
        return kind == StageKind.Rl
            ? settings with { Samples = samples, Temperature = temperature, PolicySteps = policySteps, TrustRegion = trustRegion }
            : settings with { Samples = samples, Temperature = temperature, Committee = committee };
    }

    /// <summary>Committee="sft;dpo": stage names (checked against earlier stages in <see cref="CheckOrder"/>); empty: not written.</summary>
    private static IReadOnlyList<string>? ReadCommittee(SpecContext context, ItemView item)
    {
        if (item.Get("Committee") is not { } value) return [];
        var names = value.Text.Split(';', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        foreach (var name in names)
            if (name.EndsWith(".afmproj", StringComparison.OrdinalIgnoreCase) || name.Contains('/') || name.Contains('\\'))
            {
                // A Teacher-like reference would need the other project built first and its tokenizer to match ours.
                context.Error(DiagnosticCodes.CommitteeMemberNotAStage, value.Location,
                    $"{value.What} names '{name}', another model project: committee members from other projects are not built; a committee is " +
                    "made of this project's earlier stages (specs/post-training.md). Name stages, e.g. Committee=\"sft;dpo\".");
                return null;
            }
        if (names.Length == 0 || names.Distinct(StringComparer.Ordinal).Count() != names.Length)
        {
            context.Error(DiagnosticCodes.CommitteeMemberUnknown, value.Location,
                $"{value.What} is '{value.Text}': name each committee member once, separated by ';' (e.g. Committee=\"sft;dpo\").");
            return null;
        }
        return names;
    }

    /// <summary>
    /// A stage's RewardModel must name a reward stage declared before it, and a Committee earlier stages that train the model (its model exists when the dpo stage runs);
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
                    $"{item.Describe} is a {StageKinds.Name(spec.Kind)} stage but the first stage: it starts from the weights of the stage before it " +
                    "(or of a BaseModel), and a randomly initialized model has no language to prefer one response by. Put a pretrain or sft stage before it.");
            if (spec.Preference?.Committee is { Count: > 0 } committee && item.Get("Committee") is { } written && !stages.Take(i).Any(s => s.Spec is null))
            {
                var models = stages.Take(i).Where(s => s.Spec is { Kind: not StageKind.Reward }).Select(s => s.Spec!.Name).ToList();
                foreach (var member in committee.Where(m => !models.Contains(m, StringComparer.Ordinal)))
                    context.Error(DiagnosticCodes.CommitteeMemberUnknown, written.Location,
                        $"{written.What} names '{member}', which is no stage declared before this one that trains the model (a reward stage's model scores, it does not answer). " +
                        (models.Count > 0 ? $"Write some of: {string.Join(", ", models)}." : "Declare the committee's stages before this one."));
            }
            if (spec.Preference?.RewardModel is not { } name || item.Get("RewardModel") is not { } value) continue;
            var earlier = stages.Take(i).Where(s => s.Spec is { Kind: StageKind.Reward }).Select(s => s.Spec!.Name).ToList();
            if (!earlier.Contains(name, StringComparer.Ordinal) && !stages.Take(i).Any(s => s.Spec is null))
                context.Error(DiagnosticCodes.RewardModelUnknown, value.Location,
                    $"{value.What} is '{name}', which names no Kind=\"reward\" stage declared before this one. " +
                    (earlier.Count > 0 ? $"Write one of: {string.Join(", ", earlier)}." : "Declare a reward stage before it, or remove RewardModel."));
        }
    }
}
