using Afm.Core.Spec;
using Afm.Data.Packing;
using static TorchSharp.torch;

namespace Afm.Training.Stages;

/// <summary>
/// The pretraining data an sft stage mixes into every batch (MixShare, specs/afmproj.md): the stage's
/// <see cref="TrainingStageSpec.MixData"/> as the data stage packed it. Each step draws
/// <see cref="TrainingStageSpec.MixSequencesPerBatch"/> of its sequences, in their own seeded order, beside the stage's
/// own examples, and the step's loss is
/// <c>(1 - s) L_data + s L_mix</c> with s = mixed sequences / BatchSize: each part the mean over its own targets (response
/// tokens of the Data, every next token of the mix), so the share weighs the two objectives as it splits the batch. A mean
/// over all targets together would let the mix's dense targets outweigh the sparse response tokens many times over.
/// </summary>
internal sealed record PretrainingMix(IPackedSequences Train, IPackedSequences? Validation, int SequencesPerBatch, double Share,
    IReadOnlyList<MixEntry> Corpora)
{
    /// <summary>The mix of <paramref name="stage"/> from its packed data, or null when the stage mixes none.</summary>
    public static PretrainingMix? Of(TrainingStageSpec stage, Func<string, string, IPackedSequences> openData)
    {
        if (stage.MixData is not { } data) return null;
        var validation = openData(data.Name, DataSplit.Validation);
        return new PretrainingMix(openData(data.Name, DataSplit.Train), validation.Count > 0 ? validation : null,
            data.BatchSize, (double)data.BatchSize / stage.BatchSize, data.Mix);
    }

    /// <summary>The mix's data order: its own seed, derived from the stage's, so the stage's own order is what it was without a mix.</summary>
    public static ulong Seed(ulong stageDataSeed)
    {
        ulong state = stageDataSeed ^ 0x6D69782D73656564UL; // "mix-seed"
        return SequenceSampler.SplitMix64(ref state);
    }

    /// <summary>The step's loss from the loss of the stage's own sequences and that of the mixed ones.</summary>
    public Tensor Combine(Tensor dataLoss, Tensor mixLoss) => dataLoss * (1 - Share) + mixLoss * Share;

    public PretrainingMixReport Report(IReadOnlyList<ValidationPoint> validationCurve) =>
        new(StageTrainer.Round(Share), SequencesPerBatch, Corpora, validationCurve,
            validationCurve.Count > 0 ? validationCurve[^1].Loss : null);
}

/// <summary>What an sft stage mixed in and what it kept: the next-token loss on the mix's held-out sequences, at step 0 (the
/// incoming model), every EvalEvery steps and at the end.</summary>
/// <param name="Share">Mixed sequences / BatchSize, as trained (MixShare rounded to whole sequences).</param>
public sealed record PretrainingMixReport(double Share, int SequencesPerBatch, IReadOnlyList<MixEntry> Corpora,
    IReadOnlyList<ValidationPoint> ValidationCurve, double? FinalValidationLoss);
