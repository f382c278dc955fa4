using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Adapters;
using Afm.Training.Model;
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

    /// <summary>
    /// A trained micro model as float model, a copy of it with the weights <paramref name="damage"/> accepts perturbed by
    /// Gaussian noise of <paramref name="scale"/> x their standard deviation (the "quantized" base), a float probe, and a
    /// rank-4 adapter distilled on the damaged copy for <paramref name="steps"/> steps.
    /// </summary>
    private sealed class Damaged : IDisposable
    {
        public AfmDecoder Float { get; }
        public AfmDecoder Base { get; }
        public AfmDecoder Probe { get; }
        public LoraAdapter Adapter { get; }
        public IPackedSequences Validation { get; } = MicroModels.CountingData()("core", "validation");
        public string WeightsPath { get; }

        public Damaged(Func<string, bool> damage, double scale, int seed, int steps)
        {
            WeightsPath = Trainer.Train(MicroModels.Spec(), MicroModels.CountingData(), MicroModels.TempDirectory()).FinalWeightsPath;
            var architecture = MicroModels.Architecture();
            Float = AdapterBase.FromFloat(architecture, WeightsPath);
            Base = AdapterBase.FromFloat(architecture, WeightsPath);
            Probe = AdapterBase.FromFloat(architecture, WeightsPath);
            using (no_grad())
            {
                var generator = new Generator((ulong)seed);
                foreach (var (name, p) in Base.named_parameters())
                    if (damage(name)) p.add_(randn(p.shape, generator: generator).mul(p.std()).mul(scale));
            }
            Adapter = LoraAdapter.Create(architecture, 4, 8, seed: 1);
            var spec = new AdapterSpec
            {
                Name = "recovery-r4", Item = "recovery", Kind = AdapterKind.AccuracyRecovery, Rank = 4, Alpha = 8, Version = "0.0.1",
                Tokens = steps * 16 * 8, SequenceLength = 16, BatchSize = 8, LearningRate = 1e-2, WarmupSteps = Math.Max(1, steps / 12),
                FinalLearningRateRatio = 0.1, TrainingStage = "core", Distillation = 1,
            };
            new AdapterTrainer(Base, Adapter, spec, null).Train(MicroModels.CountingData()("core", "train"), 11, Float);
        }

        public void Dispose()
        {
            Adapter.Dispose();
            Probe.Dispose();
            Base.Dispose();
            Float.Dispose();
        }
    }

    private static bool Projection(string name, params string[] blocks) =>
        blocks.Any(b => name.StartsWith(b + ".", StringComparison.Ordinal)) && name.Contains("_proj", StringComparison.Ordinal);

    [Fact]
    public void Only_the_damaged_block_carries_kl_its_adapter_pairs_lower_it_and_the_probe_is_left_as_the_float_model()
    {
        using var m = new Damaged(name => Projection(name, "layers.1"), scale: 3, seed: 7, steps: 60);
        var cache = new Dictionary<string, double>();

        var layers = LayerDivergences.Measure(m.Float, m.Base, m.Probe, m.Adapter, m.Validation, cache);

        var part = Assert.Single(layers);
        Assert.Equal("layers.1", part.Part);
        Assert.True(part.Quantized > 0.02, $"the damage costs KL: {part.Quantized}");
        Assert.True(part.Adapted < 0.5 * part.Quantized, $"the block's own pairs win most of it back: {part.Quantized} -> {part.Adapted}");
        Assert.Equal(part.Quantized, cache["layers.1"], 6);
        Assert.All(m.Float.named_parameters().Zip(m.Probe.named_parameters()), p => Assert.True(MicroModels.SameValues(p.First.parameter, p.Second.parameter), p.First.name));
    }

    [Fact]
    public void One_float_pass_for_all_parts_gives_what_a_pass_per_part_gives_with_and_without_the_cache()
    {
        // Two damaged blocks (the LoRA pairs cover them) and a damaged embedding (no pairs): every kind of variant.
        using var m = new Damaged(name => Projection(name, "layers.0", "layers.1") || name == "embed.weight", scale: 1, seed: 3, steps: 20);
        var indices = Evaluator.Spread(m.Validation, AdapterEvaluator.MaxSequences);

        // A pass of its own per variant, on a separate float copy: the part swapped in, with and without its pairs.
        using var reference = AdapterBase.FromFloat(MicroModels.Architecture(), m.WeightsPath);
        var floats = m.Float.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var expected = new List<LayerDivergence>();
        foreach (string part in new[] { "embed", "layers.0", "layers.1" })
        {
            using (no_grad())
                foreach (var ((name, p), (_, q)) in reference.named_parameters().Zip(m.Base.named_parameters()))
                    p.copy_(LayerDivergences.PartOf(name) == part ? q : floats[name]);
            double bare = Evaluator.MeanLossAndDivergence(m.Float, reference, m.Validation, indices).Divergence;
            double? withPairs = null;
            if (part != "embed")
            {
                m.Adapter.Attach(reference, weight => LayerDivergences.PartOf(weight) == part);
                withPairs = AdapterTrainer.Round(Evaluator.MeanLossAndDivergence(m.Float, reference, m.Validation, indices).Divergence);
                m.Adapter.Detach();
            }
            expected.Add(new LayerDivergence(part, AdapterTrainer.Round(bare), withPairs));
        }

        var cache = new Dictionary<string, double>();
        var first = LayerDivergences.Measure(m.Float, m.Base, m.Probe, m.Adapter, m.Validation, cache);
        var cached = LayerDivergences.Measure(m.Float, m.Base, m.Probe, m.Adapter, m.Validation, cache);

        Assert.Equal(expected, first.OrderBy(l => l.Part, StringComparer.Ordinal));
        Assert.Equal(first, cached);
        Assert.True(first.Single(l => l.Part == "layers.0").Quantized > 0, "the damage costs KL");
        Assert.All(m.Float.named_parameters().Zip(m.Probe.named_parameters()), p => Assert.True(MicroModels.SameValues(p.First.parameter, p.Second.parameter), p.First.name));
    }
}
