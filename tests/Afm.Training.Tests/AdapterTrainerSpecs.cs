using Afm.Core.Spec;
using Afm.Training.Adapters;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

public sealed class AdapterTrainerSpecs
{
    private static AdapterSpec Recovery(int rank, long steps = 60, double distillation = 0) => new()
    {
        Name = $"recovery-r{rank}", Item = "recovery", Kind = AdapterKind.AccuracyRecovery, Rank = rank, Alpha = 2.0 * rank, Version = "0.0.1",
        Tokens = steps * 16 * 8, SequenceLength = 16, BatchSize = 8, LearningRate = 1e-2, WarmupSteps = 5, FinalLearningRateRatio = 0.1,
        TrainingStage = "core", Distillation = distillation,
    };

    /// <summary>A trained micro model, and the same model with every block projection perturbed: a stand-in for a lossy quantization.</summary>
    internal static (string FloatWeights, Model.AfmDecoder Damaged) TrainedAndDamaged()
    {
        var report = Trainer.Train(MicroModels.Spec(), MicroModels.CountingData(), MicroModels.TempDirectory());
        var damaged = AdapterBase.FromFloat(MicroModels.Architecture(), report.FinalWeightsPath);
        using var noGrad = no_grad();
        var generator = new Generator(7);
        foreach (var (name, p) in damaged.named_parameters())
            if (name.Contains("_proj", StringComparison.Ordinal)) p.add_(randn(p.shape, generator: generator).mul(p.std()).mul(1.5));
        return (report.FinalWeightsPath, damaged);
    }

    [Fact]
    public void A_recovery_adapter_wins_back_most_of_what_damaging_the_base_lost_and_leaves_the_base_untouched()
    {
        var (floatWeights, damaged) = TrainedAndDamaged();
        using var floatModel = AdapterBase.FromFloat(MicroModels.Architecture(), floatWeights);
        using (damaged)
        {
            var validation = MicroModels.CountingData()("core", "validation");
            double floatLoss = AdapterEvaluator.MeanLoss(floatModel, validation);
            double damagedLoss = AdapterEvaluator.MeanLoss(damaged, validation);
            var before = damaged.named_parameters().ToDictionary(p => p.name, p => p.parameter.clone());
            using var adapter = LoraAdapter.Create(MicroModels.Architecture(), 4, 8, seed: 1);
            var curve = new AdapterTrainer(damaged, adapter, Recovery(4), null).Train(MicroModels.CountingData()("core", "train"), 11);

            adapter.Attach(damaged);
            double adaptedLoss = AdapterEvaluator.MeanLoss(damaged, validation);
            adapter.Detach();
            Assert.True(damagedLoss > floatLoss + 0.1, $"the damage must cost something: float {floatLoss}, damaged {damagedLoss}");
            Assert.True(adaptedLoss < floatLoss + 0.5 * (damagedLoss - floatLoss), $"float {floatLoss}, damaged {damagedLoss}, adapted {adaptedLoss}");
            Assert.Equal(60, curve[^1].Step);
            Assert.All(damaged.named_parameters(), p => Assert.True(MicroModels.SameValues(before[p.name], p.parameter), p.name));
        }
    }

    [Fact]
    public void Training_is_deterministic_for_a_seed()
    {
        var (_, damaged) = TrainedAndDamaged();
        using (damaged)
        {
            float[] Run()
            {
                using var adapter = LoraAdapter.Create(MicroModels.Architecture(), 2, 4, seed: 3);
                new AdapterTrainer(damaged, adapter, Recovery(2, steps: 10), null).Train(MicroModels.CountingData()("core", "train"), 5);
                return adapter.Pairs.SelectMany(p => p.B.data<float>().ToArray()).ToArray();
            }
            Assert.Equal(Run(), Run());
        }
    }

    [Fact]
    public void Distillation_from_the_float_model_also_recovers()
    {
        var (floatWeights, damaged) = TrainedAndDamaged();
        using var floatModel = AdapterBase.FromFloat(MicroModels.Architecture(), floatWeights);
        using (damaged)
        {
            var validation = MicroModels.CountingData()("core", "validation");
            double damagedLoss = AdapterEvaluator.MeanLoss(damaged, validation);
            using var adapter = LoraAdapter.Create(MicroModels.Architecture(), 4, 8, seed: 1);
            new AdapterTrainer(damaged, adapter, Recovery(4, distillation: 0.5), null).Train(MicroModels.CountingData()("core", "train"), 11, floatModel);
            adapter.Attach(damaged);
            Assert.True(AdapterEvaluator.MeanLoss(damaged, validation) < damagedLoss - 0.1);
        }
    }
}
