using Afm.Core.Artifacts;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Distillation;

namespace Afm.Training.Stages;

/// <summary>
/// The train stage (<c>afm train</c>, target AfmTrain): the project's TrainingStage items in order, from a BaseModel's
/// converted weights when it has one, writing the stage folder (StageLayout.Train). Checkpoints live in
/// <c>checkpoints/</c> and survive a failed or killed build; the declared outputs (the weights, the report) are written
/// last, each atomically. Without a TrainingStage, a BaseModel is the model as it is.
/// </summary>
public static class TrainStage
{
    /// <param name="spec">The validated spec.</param>
    /// <param name="dataDirectory">The data stage's folder (packed shards of every training stage).</param>
    /// <param name="outputDirectory">The train stage's folder.</param>
    /// <param name="teacher">The built teacher when the project has one (the caller checks its tokenizer).</param>
    /// <param name="progress">Progress lines (the compiler prints them for the build).</param>
    public static void Run(ModelSpec spec, string dataDirectory, string outputDirectory, TeacherSource? teacher, Action<string> progress)
    {
        // A BaseModel is converted to the decoder's names first: the weights the stages continue from, or, without a
        // stage, the model itself.
        var checkpoints = Path.Combine(outputDirectory, StageLayout.Train.Checkpoints);
        var baseWeights = spec.BaseModel is null ? null : BaseModelWeights.Convert(spec, checkpoints, progress);
        if (spec.TrainingStages.Count == 0)
        {
            BaseModelWeights.WriteUntrained(spec, baseWeights!, outputDirectory, progress);
            return;
        }
        var index = DataIndex.Load(dataDirectory);
        var opened = new List<IPackedSequences>();
        try
        {
            IPackedSequences Open(string stage, string split)
            {
                // Pairs for reward and dpo stages, masked (loss on response tokens only) for sft stages, plain for pretrain stages.
                var sequences = (IPackedSequences?)PreferencePairs.TryOpen(dataDirectory, stage, split) ?? LossMaskedSequences.Open(dataDirectory, stage, split);
                opened.Add(sequences);
                return sequences;
            }

            var training = Trainer.Train(spec, Open, checkpoints, progress, teacher: teacher, initialWeights: baseWeights);
            var report = TrainingSummary.From(training, index);
            progress($"train: final validation loss {report.FinalValidationLoss:0.000} nats/token " +
                $"(perplexity {Math.Exp(report.FinalValidationLoss):0.00}) vs unigram baseline {report.UnigramBaselineLoss:0.000} nats/token " +
                $"of the validation data; {report.ParameterCount:N0} parameters");

            AtomicOutput.WriteFile(Path.Combine(outputDirectory, StageLayout.Train.Weights), s =>
            {
                using var weights = File.OpenRead(training.FinalWeightsPath);
                weights.CopyTo(s);
            });
            AtomicOutput.WriteAllText(Path.Combine(outputDirectory, StageLayout.Train.Timings), SpecJson.Serialize(training.Timings));
            AtomicOutput.WriteAllText(Path.Combine(outputDirectory, StageLayout.Train.Report), SpecJson.Serialize(report));
        }
        finally
        {
            foreach (var sequences in opened) (sequences as IDisposable)?.Dispose();
        }
    }
}
