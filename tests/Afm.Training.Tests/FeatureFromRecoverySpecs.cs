using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Adapters;

namespace Afm.Training.Tests;

/// <summary>
/// Issue #22's acceptance "a feature adapter started from the recovery adapter still beats one started from zero at equal
/// steps", on the micro model: the base is damaged (a stand-in for a lossy quantization), a recovery adapter wins most of
/// it back, and a feature adapter then learns a task the base never saw (counting by 4, 5 or 6) in the same few steps
/// from the recovery adapter (InitFrom, as the adapters stage does it: the recovery adapter's tensors) and from zero.
/// </summary>
public sealed class FeatureFromRecoverySpecs
{
    private static AdapterSpec Spec(string name, AdapterKind kind, long steps) => new()
    {
        Name = name, Item = name, Kind = kind, Rank = 4, Alpha = 8, Version = "0.0.1", Tokens = steps * 16 * 8, SequenceLength = 16,
        BatchSize = 8, LearningRate = 1e-2, WarmupSteps = 2, FinalLearningRateRatio = 0.1, TrainingStage = kind == AdapterKind.AccuracyRecovery ? "core" : null,
    };

    [Fact]
    public void A_feature_adapter_started_from_the_recovery_adapter_ends_below_one_started_from_zero_after_the_same_steps()
    {
        var (_, damaged) = AdapterTrainerSpecs.TrainedAndDamaged();
        using (damaged)
        {
            var architecture = MicroModels.Architecture();
            using var recovery = LoraAdapter.Create(architecture, 4, 8, seed: 1);
            new AdapterTrainer(damaged, recovery, Spec("recovery-r4", AdapterKind.AccuracyRecovery, 60), null).Train(MicroModels.CountingData()("core", "train"), 11);

            var feature = Spec("summarize", AdapterKind.Feature, 15);
            var train = new WideStrideSequences(256, salt: 1);
            var validation = new WideStrideSequences(32, salt: 7);
            using var fromRecovery = LoraAdapter.FromTensors(architecture, recovery.FoldedTensors().ToDictionary(t => t.Name, t => t.Tensor), recovery.Scale);
            using var fromZero = LoraAdapter.Create(architecture, 4, 8, seed: 2);
            double Loss(LoraAdapter adapter)
            {
                adapter.Attach(damaged);
                try { return AdapterEvaluator.MeanLoss(damaged, validation); }
                finally { adapter.Detach(); }
            }
            double startRecovery = Loss(fromRecovery), startZero = Loss(fromZero);
            new AdapterTrainer(damaged, fromRecovery, feature, null).Train(train, 5);
            new AdapterTrainer(damaged, fromZero, feature, null).Train(train, 5);
            double endRecovery = Loss(fromRecovery), endZero = Loss(fromZero);

            Assert.True(endZero < startZero, $"the feature adapter from zero learns: {startZero} -> {endZero}");
            Assert.True(endRecovery < startRecovery, $"the feature adapter from recovery learns: {startRecovery} -> {endRecovery}");
            Assert.True(endRecovery < endZero - 0.05, $"after {feature.Steps} steps each: from recovery {endRecovery}, from zero {endZero}");
        }
    }

    /// <summary>Counting by a stride of 4, 5 or 6 (the base was trained on 1 to 3): a task the feature adapter has to learn.</summary>
    private sealed class WideStrideSequences(long count, int salt) : IPackedSequences
    {
        public int SequenceLength => 16;
        public long Count => count;
        public int VocabSize => 16;

        public void Read(long index, Span<int> destination)
        {
            int start = (int)((index * 5 + salt) % 16);
            int stride = 4 + (int)((index + salt) % 3);
            for (int i = 0; i <= SequenceLength; i++) destination[i] = (start + i * stride) % 16;
        }
    }
}
