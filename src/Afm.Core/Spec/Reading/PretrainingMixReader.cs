namespace Afm.Core.Spec.Reading;

/// <summary>
/// Reads the pretraining mix of an sft stage: <c>MixShare</c>, the share of each batch drawn from pretraining data, and
/// <c>Mix</c>, which corpora that share samples, with exactly a pretrain stage's Mix semantics (<see cref="MixReader"/>,
/// every corpus by size when absent). Fine-tuning on its Data alone makes a model forget what pretraining taught it; the
/// share keeps training it on that.
/// </summary>
internal static class PretrainingMixReader
{
    public const string Metadata = "MixShare";

    private static readonly (Func<double, bool> Test, string Text) OpenUnitInterval = (v => v > 0 && v < 1, "greater than 0 and less than 1");

    /// <returns>The stage's Mix and MixShare: (empty, null) without a MixShare; a null Mix when either has an error.</returns>
    public static (IReadOnlyList<MixEntry>? Mix, double? Share) Read(SpecContext context, ItemView item, int? batchSize,
        IReadOnlyList<FileSet> corpora, FileSetGaps corpusGaps)
    {
        var mixValue = item.Get("Mix");
        if (item.Get(Metadata) is not { } shareValue)
        {
            if (mixValue is not { } written) return (Array.Empty<MixEntry>(), null);
            context.Error(DiagnosticCodes.MixWithoutShare, written.Location,
                $"{written.What} on an sft stage needs MixShare, the share of each batch drawn from it (the rest comes from Data). Add MixShare=\"0.25\" (or another share), or remove Mix.");
            return (null, null);
        }
        var share = context.Double(shareValue, OpenUnitInterval);
        if (share is double s && batchSize is int batch)
        {
            long mixed = (long)Math.Round(s * batch, MidpointRounding.AwayFromZero);
            if (mixed < 1 || mixed >= batch)
            {
                context.Error(DiagnosticCodes.MixShareRoundsAway, shareValue.Location,
                    $"{shareValue.What} is {shareValue.Text} of BatchSize {batch}: {mixed} sequence(s) a batch, so the batch would hold " +
                    (mixed < 1 ? "no pretraining data" : "none of the stage's Data") +
                    $". Use a share between {0.5 / batch:0.###} and {(batch - 0.5) / batch:0.###} for this BatchSize, or a larger BatchSize.");
                share = null;
            }
        }
        if (corpora.Count == 0)
        {
            context.Error(DiagnosticCodes.MixShareWithoutCorpus, shareValue.Location,
                $"{shareValue.What} mixes pretraining data into the sft stage, but the project declares no <Corpus>. Declare the corpora to mix in, or remove MixShare.");
            return (null, null);
        }
        var mix = mixValue is { } named ? MixReader.Read(context, named, corpora, corpusGaps) : MixReader.Default(corpora);
        return share is null ? (null, null) : (mix, share);
    }
}
