namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the Data metadata of the stages that train on JSON lines files instead of the corpora (sft: prompt/response;
/// reward and dpo: preference pairs) with its PromptField and ResponseField, and checks that metadata of one stage kind
/// is not written on another, where it would be silently ignored.
/// </summary>
internal static class SftDataReader
{
    public const string DefaultPromptField = "prompt";
    public const string DefaultResponseField = "response";

    public static readonly string[] Metadata = ["Data", "PromptField", "ResponseField"];

    /// <summary>The data settings of a stage; Files is null when the stage's Data has an error.</summary>
    public static (IReadOnlyList<string>? Files, string PromptField, string ResponseField) Read(SpecContext context, ItemView item, StageKind? kind)
    {
        var prompt = item.Get("PromptField")?.Text ?? DefaultPromptField;
        var response = item.Get("ResponseField")?.Text ?? DefaultResponseField;
        if (kind is null or StageKind.Pretrain)
        {
            // Data on a pretrain stage would look like it trains on that data while the stage samples the Mix.
            foreach (var name in Metadata)
                if (kind == StageKind.Pretrain && item.Get(name) is { } misplaced)
                    context.Error(DiagnosticCodes.MetadataNotForStageKind, misplaced.Location,
                        $"{misplaced.What} applies only to Kind=\"sft\" stages (Data and PromptField also to the post-training kinds); a pretrain stage samples the corpora of its Mix. Remove {name}, or add Kind=\"sft\".");
            return ([], prompt, response);
        }
        var kindName = StageKinds.Name(kind.Value);
        // An sft stage may mix pretraining data into its batches (MixShare, read by PretrainingMixReader); the post-training
        // kinds train on their pairs only.
        if (kind != StageKind.Sft && item.Get("Mix") is { } mix)
            context.Error(DiagnosticCodes.MetadataNotForStageKind, mix.Location,
                $"{mix.What} does not apply to a {kindName} stage, which trains on its Data files only (sft stages may mix pretraining data with MixShare). Remove Mix.");
        if (kind != StageKind.Sft && item.Get("ResponseField") is { } responseField)
            context.Error(DiagnosticCodes.MetadataNotForStageKind, responseField.Location,
                $"{responseField.What} does not apply to a {kindName} stage: its Data lines are preference pairs with \"chosen\" and \"rejected\" responses (specs/post-training.md). Remove ResponseField.");
        if (item.Get("Data") is not { } data)
        {
            if (kind == StageKind.Sft)
                context.Error(DiagnosticCodes.SftStageWithoutData, item.Location,
                    $"{item.Describe} is an sft stage without Data. Add Data=\"data/sft/*.jsonl\" (JSON lines with \"{prompt}\" and \"{response}\" fields).");
            else
                context.Error(DiagnosticCodes.PreferenceStageWithoutData, item.Location,
                    $"{item.Describe} is a {kindName} stage without Data. Add Data=\"data/preferences/*.jsonl\" (JSON lines with \"{prompt}\", \"chosen\", \"rejected\" and \"level\" fields; specs/post-training.md).");
            return (null, prompt, response);
        }
        return (DataPatterns.Read(context, item, data, DiagnosticCodes.StageDataMatchedNoFiles), prompt, response);
    }
}
