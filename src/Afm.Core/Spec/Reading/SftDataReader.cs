namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the metadata only sft stages have (Data, PromptField, ResponseField) and checks that metadata of one
/// stage kind is not written on the other, where it would be silently ignored.
/// </summary>
internal static class SftDataReader
{
    public const string DefaultPromptField = "prompt";
    public const string DefaultResponseField = "response";

    public static readonly string[] Metadata = ["Data", "PromptField", "ResponseField"];

    /// <summary>The sft settings of a stage; Files is null when the stage's Data has an error.</summary>
    public static (IReadOnlyList<string>? Files, string PromptField, string ResponseField) Read(SpecContext context, ItemView item, StageKind? kind)
    {
        var prompt = item.Get("PromptField")?.Text ?? DefaultPromptField;
        var response = item.Get("ResponseField")?.Text ?? DefaultResponseField;
        if (kind != StageKind.Sft)
        {
            // Data on a pretrain stage would look like it trains on that data while the stage samples the Mix.
            foreach (var name in Metadata)
                if (kind == StageKind.Pretrain && item.Get(name) is { } misplaced)
                    context.Error(DiagnosticCodes.MetadataNotForStageKind, misplaced.Location,
                        $"{misplaced.What} applies only to Kind=\"sft\" stages; a pretrain stage samples the corpora of its Mix. Remove {name}, or add Kind=\"sft\".");
            return ([], prompt, response);
        }
        if (item.Get("Mix") is { } mix)
            context.Error(DiagnosticCodes.MetadataNotForStageKind, mix.Location,
                $"{mix.What} does not apply to an sft stage, which trains on its Data files only. Remove Mix.");
        if (item.Get("Data") is not { } data)
        {
            context.Error(DiagnosticCodes.SftStageWithoutData, item.Location,
                $"{item.Describe} is an sft stage without Data. Add Data=\"data/sft/*.jsonl\" (JSON lines with \"{prompt}\" and \"{response}\" fields).");
            return (null, prompt, response);
        }
        return (DataPatterns.Read(context, item, data, DiagnosticCodes.StageDataMatchedNoFiles), prompt, response);
    }
}
