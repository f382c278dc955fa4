using Afm.Core.Spec;
using Afm.Training.Adapters;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

public sealed class LayerDivergenceSpecs
{
    [Theory]
    [InlineData("layers.3.attn.q_proj.weight", "layers.3")]
    [InlineData("layers.12.mlp_norm.weight", "layers.12")]
    [InlineData("embed.weight", "embed")]
    [InlineData("lm_head.weight", "lm_head")]
    public void A_weight_belongs_to_its_block_or_its_top_level_module(string weight, string part) =>
        Assert.Equal(part, LayerDivergences.PartOf(weight));

    [Fact]
    public void Only_the_damaged_block_carries_kl_its_adapter_pairs_lower_it_and_the_probe_is_left_as_the_float_model()
    {
        var report = Trainer.Train(MicroModels.Spec(), MicroModels.CountingData(), MicroModels.TempDirectory());
        var architecture = MicroModels.Architecture();
        using var floatModel = AdapterBase.FromFloat(architecture, report.FinalWeightsPath);
        using var damaged = AdapterBase.FromFloat(architecture, report.FinalWeightsPath);
        using var probe = AdapterBase.FromFloat(architecture, report.FinalWeightsPath);
        using (no_grad())
        {
            var generator = new Generator(7);
            foreach (var (name, p) in damaged.named_parameters())
                if (name.StartsWith("layers.1.", StringComparison.Ordinal) && name.Contains("_proj", StringComparison.Ordinal))
                    p.add_(randn(p.shape, generator: generator).mul(p.std()).mul(3));
        }
        using var adapter = LoraAdapter.Create(architecture, 4, 8, seed: 1);
        var spec = new AdapterSpec
        {
            Name = "recovery-r4", Item = "recovery", Kind = AdapterKind.AccuracyRecovery, Rank = 4, Alpha = 8, Version = "0.0.1",
            Tokens = 60 * 16 * 8, SequenceLength = 16, BatchSize = 8, LearningRate = 1e-2, WarmupSteps = 5, FinalLearningRateRatio = 0.1,
            TrainingStage = "core", Distillation = 1,
        };
        new AdapterTrainer(damaged, adapter, spec, null).Train(MicroModels.CountingData()("core", "train"), 11, floatModel);
        var validation = MicroModels.CountingData()("core", "validation");
        var cache = new Dictionary<string, double>();

        var layers = LayerDivergences.Measure(floatModel, damaged, probe, adapter, validation, cache);

        var part = Assert.Single(layers);
        Assert.Equal("layers.1", part.Part);
        Assert.True(part.Quantized > 0.02, $"the damage costs KL: {part.Quantized}");
        Assert.True(part.Adapted < 0.5 * part.Quantized, $"the block's own pairs win most of it back: {part.Quantized} -> {part.Adapted}");
        Assert.Equal(part.Quantized, cache["layers.1"], 6);
        Assert.All(floatModel.named_parameters().Zip(probe.named_parameters()), p => Assert.True(MicroModels.SameValues(p.First.parameter, p.Second.parameter), p.First.name));
    }
}
