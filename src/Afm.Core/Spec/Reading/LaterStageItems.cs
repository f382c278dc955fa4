namespace Afm.Core.Spec.Reading;

/// <summary>
/// Items of pipeline stages this toolchain does not have yet. The SDK forwards them so the user hears that
/// they are ignored, instead of believing the item was applied (as a QuantizationPlan or an Adapter would have been
/// before their stages were built; no item type is listed today). A warning, not an error: the model still builds.
/// </summary>
internal static class LaterStageItems
{
    private static readonly (string Type, string Stage)[] Types =
    [
        // None today: Adapter (adapters stage) and Teacher (distillation) are built.
    ];

    public static void Warn(SpecContext context)
    {
        foreach (var (type, stage) in Types)
            foreach (var item in context.Items(type))
                context.Warning(DiagnosticCodes.StageNotAvailable, item.Location,
                    $"<{type}> items are not used yet: this toolchain has no {stage} stage, so the model is built without them.");
    }
}
