using System.Globalization;
using System.Text.RegularExpressions;
using Afm.Core.Spec;
using Afm.Training.Adapters;
using Afm.Training.Checkpoints;
using Afm.Training.Precision;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

/// <summary>Precision="fp32|bf16-mixed|auto" on training stages and adapters (specs/afmproj.md, "Precision").</summary>
public sealed partial class PrecisionSpecs
{
    private static TrainingStageSpec Stage(TrainingPrecision precision, long steps = 40) => MicroModels.Stage(steps: steps) with { Precision = precision };

    [Fact]
    public void Bf16_mixed_trains_as_well_as_fp32_on_float32_master_weights_and_says_so()
    {
        var fp32 = Trainer.Train(MicroModels.Spec(null, Stage(TrainingPrecision.Fp32)), MicroModels.CountingData(), MicroModels.TempDirectory());
        var bf16 = Trainer.Train(MicroModels.Spec(null, Stage(TrainingPrecision.Bf16Mixed)), MicroModels.CountingData(), MicroModels.TempDirectory());

        var (a, b) = (fp32.Stages[0], bf16.Stages[0]);
        Assert.Equal(("fp32", "bf16-mixed", "declared"), (a.Precision, b.Precision, b.PrecisionReason));
        Assert.True(b.FinalValidationLoss < Math.Log(16) * 0.6, $"bf16-mixed validation {b.FinalValidationLoss}");
        Assert.True(Math.Abs(b.FinalValidationLoss!.Value - a.FinalValidationLoss!.Value) < 0.1, $"fp32 {a.FinalValidationLoss}, bf16-mixed {b.FinalValidationLoss}");
        // Same init and data: the weights differ only because the passes ran in bf16, and they are stored as float32 masters.
        Assert.NotEqual(File.ReadAllBytes(fp32.FinalWeightsPath), File.ReadAllBytes(bf16.FinalWeightsPath));
        Assert.All(SafeTensors.Read(bf16.FinalWeightsPath).Tensors, t => Assert.Equal(ScalarType.Float32, t.Value.dtype));
    }

    [Fact]
    public void Bf16_mixed_training_is_deterministic_for_a_seed()
    {
        var spec = MicroModels.Spec(null, Stage(TrainingPrecision.Bf16Mixed, steps: 8));
        var first = Trainer.Train(spec, MicroModels.CountingData(), MicroModels.TempDirectory());
        var second = Trainer.Train(spec, MicroModels.CountingData(), MicroModels.TempDirectory());
        Assert.Equal(File.ReadAllBytes(first.FinalWeightsPath), File.ReadAllBytes(second.FinalWeightsPath));
    }

    [Fact]
    public void Auto_under_portable_determinism_trains_exactly_as_fp32_without_measuring()
    {
        var lines = new List<string>();
        var fp32 = Trainer.Train(MicroModels.Spec(null, Stage(TrainingPrecision.Fp32, steps: 8)), MicroModels.CountingData(), MicroModels.TempDirectory());
        var auto = Trainer.Train(MicroModels.Spec(null, Stage(TrainingPrecision.Auto, steps: 8)), MicroModels.CountingData(), MicroModels.TempDirectory(), lines.Add);

        Assert.Equal(("fp32", "auto: portable determinism trains in fp32"), (auto.Stages[0].Precision, auto.Stages[0].PrecisionReason));
        Assert.Equal(File.ReadAllBytes(fp32.FinalWeightsPath), File.ReadAllBytes(auto.FinalWeightsPath));
        Assert.DoesNotContain(lines, l => l.Contains("probe", StringComparison.Ordinal));
    }

    [Fact]
    public void A_checkpoint_trained_in_fp32_is_not_taken_for_a_stage_that_now_trains_in_bf16()
    {
        string dir = MicroModels.TempDirectory();
        Trainer.Train(MicroModels.Spec(null, Stage(TrainingPrecision.Auto, steps: 4)), MicroModels.CountingData(), dir);
        var again = Trainer.Train(MicroModels.Spec(null, Stage(TrainingPrecision.Bf16Mixed, steps: 4)), MicroModels.CountingData(), dir);
        Assert.False(again.Timings!.Stages[0].Skipped);
        Assert.Equal("bf16-mixed", again.Stages[0].Precision);
    }

    [Fact]
    public void Auto_under_machine_determinism_follows_the_measured_matmul_speed_and_logs_it()
    {
        var lines = new List<string>();
        var decision = PrecisionChoice.Resolve(TrainingPrecision.Auto, DeterminismMode.Machine, (128, 64, 256), "train core", lines.Add);
        var probe = lines.Select(l => ProbeLine().Match(l)).Single(m => m.Success);
        double fp32 = double.Parse(probe.Groups["fp32"].Value, CultureInfo.InvariantCulture);
        double bf16 = double.Parse(probe.Groups["bf16"].Value, CultureInfo.InvariantCulture);
        Assert.True(fp32 > 0 && bf16 > 0, probe.Value);
        Assert.Equal(bf16 / fp32 >= PrecisionChoice.AutoSpeedup, decision.Bf16Mixed);
        Assert.DoesNotMatch(@"\d\.\d", decision.Reason); // reports carry no load-dependent number
        Assert.Contains(lines, l => l == $"train core: precision {decision.Ran} ({decision.Reason})");
    }

    [Fact]
    public void A_bf16_mixed_recovery_adapter_recovers_on_the_float32_base_it_leaves_untouched()
    {
        using var damaged = AdapterTrainerSpecs.TrainedAndDamaged().Damaged;
        var validation = MicroModels.CountingData()("core", "validation");
        double damagedLoss = AdapterEvaluator.MeanLoss(damaged, validation);
        var before = damaged.named_parameters().ToDictionary(p => p.name, p => p.parameter.clone());
        var spec = new AdapterSpec
        {
            Name = "recovery-r4", Item = "recovery", Kind = AdapterKind.AccuracyRecovery, Rank = 4, Alpha = 8, Version = "0.0.1",
            Tokens = 60 * 16 * 8, SequenceLength = 16, BatchSize = 8, LearningRate = 1e-2, WarmupSteps = 5, FinalLearningRateRatio = 0.1,
            TrainingStage = "core", Precision = TrainingPrecision.Bf16Mixed,
        };
        using var adapter = LoraAdapter.Create(MicroModels.Architecture(), 4, 8, seed: 1);
        new AdapterTrainer(damaged, adapter, spec, null) { Precision = new PrecisionDecision(TrainingPrecision.Bf16Mixed, true, "declared") }
            .Train(MicroModels.CountingData()("core", "train"), 11);

        adapter.Attach(damaged);
        double adaptedLoss = AdapterEvaluator.MeanLoss(damaged, validation);
        adapter.Detach();
        Assert.True(adaptedLoss < damagedLoss - 0.1, $"damaged {damagedLoss}, adapted {adaptedLoss}");
        Assert.All(adapter.Pairs, p => Assert.Equal((ScalarType.Float32, ScalarType.Float32), (p.A.dtype, p.B.dtype)));
        Assert.All(damaged.named_parameters(), p => Assert.True(MicroModels.SameValues(before[p.name], p.parameter), p.name));
    }

    [GeneratedRegex(@"\[128x64\] x \[64x256\] matmul: fp32 (?<fp32>[\d.]+) GFLOP/s, bf16 (?<bf16>[\d.]+) GFLOP/s")]
    private static partial Regex ProbeLine();
}
