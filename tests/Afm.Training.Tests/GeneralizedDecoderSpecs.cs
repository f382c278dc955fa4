using Afm.Core.Spec;
using Afm.Training.Adapters;
using Afm.Training.Checkpoints;
using Afm.Training.Distillation;
using Afm.Training.Model;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

/// <summary>
/// The decoder's generalized shapes (ArchitectureSpec: ExplicitHeadDim, AttentionBias, LayerShapes) through training,
/// checkpoints, LoRA adapters and FFN pruning. Numerical conventions are pinned in tests/Afm.Onnx.Tests (a hand-computed case).
/// </summary>
public sealed class GeneralizedDecoderSpecs
{
    [Fact]
    public void Each_layer_has_its_own_heads_and_ffn_width_and_q_k_v_have_biases_named_after_their_projection()
    {
        using var model = new AfmDecoder(MicroModels.Generalized());
        var shapes = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);

        // Layer 0: 2 query heads and 1 key/value head of width 6, FFN 48; layer 1: 6 and 3 heads, FFN 80.
        Assert.Equal([12L, 32], shapes["layers.0.attn.q_proj.weight"]);
        Assert.Equal([12L], shapes["layers.0.attn.q_proj.bias"]);
        Assert.Equal([6L, 32], shapes["layers.0.attn.k_proj.weight"]);
        Assert.Equal([6L], shapes["layers.0.attn.v_proj.bias"]);
        Assert.Equal([32L, 12], shapes["layers.0.attn.o_proj.weight"]);
        Assert.Equal([48L, 32], shapes["layers.0.mlp.gate_proj.weight"]);
        Assert.Equal([36L, 32], shapes["layers.1.attn.q_proj.weight"]);
        Assert.Equal([18L], shapes["layers.1.attn.k_proj.bias"]);
        Assert.Equal([32L, 80], shapes["layers.1.mlp.down_proj.weight"]);
        Assert.Equal([6L], shapes["layers.1.attn.q_norm.weight"]);
        Assert.DoesNotContain(shapes.Keys, n => n.Contains("o_proj.bias", StringComparison.Ordinal) || n.Contains("mlp.", StringComparison.Ordinal) && n.EndsWith(".bias", StringComparison.Ordinal));
        Assert.Equal(3 * 2, shapes.Keys.Count(n => n.EndsWith(".bias", StringComparison.Ordinal)));
    }

    [Fact]
    public void Biases_start_at_zero_and_a_uniform_decoder_has_none()
    {
        using var generalized = new AfmDecoder(MicroModels.Generalized());
        Assert.All(generalized.named_parameters().Where(p => p.name.EndsWith(".bias", StringComparison.Ordinal)),
            p => Assert.Equal(0f, p.parameter.abs().sum().item<float>()));
        using var uniform = new AfmDecoder(MicroModels.Architecture());
        Assert.DoesNotContain(uniform.named_parameters(), p => p.name.EndsWith(".bias", StringComparison.Ordinal));
    }

    [Fact]
    public void A_generalized_decoder_trains_checkpoints_its_shapes_and_loads_back()
    {
        var spec = MicroModels.Spec(MicroModels.Generalized(), MicroModels.Stage(steps: 30));
        var report = Trainer.Train(spec, MicroModels.CountingData(), MicroModels.TempDirectory());
        var stage = report.Stages.Single();
        Assert.True(stage.FinalValidationLoss < stage.ValidationCurve[0].Loss);

        var metadata = SafeTensors.ReadMetadata(report.FinalWeightsPath);
        Assert.Equal("6", metadata["head_dim"]);
        Assert.Equal("true", metadata["attention_bias"]);
        Assert.Equal("2,6", metadata["layer_heads"]);
        Assert.Equal("1,3", metadata["layer_kv_heads"]);
        Assert.Equal("48,80", metadata["layer_ffn_dims"]);

        using var model = Trainer.LoadModel(spec.Architecture, report.FinalWeightsPath);
        // The biases learned something.
        Assert.All(model.named_parameters().Where(p => p.name.EndsWith(".bias", StringComparison.Ordinal)),
            p => Assert.True(p.parameter.abs().sum().item<float>() > 0, p.name));
    }

    [Fact]
    public void A_uniform_decoders_checkpoint_metadata_has_none_of_the_generalized_keys()
    {
        using var model = new AfmDecoder(MicroModels.Architecture());
        Assert.Equal(
            ["ffn_dim", "format", "heads", "kv_heads", "layers", "model_dim", "norm_epsilon", "qk_norm", "rope_base", "rope_style", "tie_embeddings", "vocab_size"],
            StageCheckpoint.WeightsMetadata(model).Keys.Order());
    }

    [Fact]
    public void Lora_targets_follow_each_layers_shape_and_the_adapter_attaches()
    {
        var architecture = MicroModels.Generalized();
        var targets = LoraAdapter.Targets(architecture).ToDictionary(t => t.Weight, t => (t.Out, t.In));
        Assert.Equal((12L, 32L), targets["layers.0.attn.q_proj.weight"]);
        Assert.Equal((6L, 32L), targets["layers.0.attn.k_proj.weight"]);
        Assert.Equal((32L, 12L), targets["layers.0.attn.o_proj.weight"]);
        Assert.Equal((80L, 32L), targets["layers.1.mlp.up_proj.weight"]);
        Assert.Equal((32L, 80L), targets["layers.1.mlp.down_proj.weight"]);

        using var scope = NewDisposeScope();
        using var model = new AfmDecoder(architecture, seed: 3);
        model.eval();
        using var adapter = LoraAdapter.Create(architecture, rank: 4, alpha: 8, seed: 1);
        using (no_grad()) foreach (var pair in adapter.Pairs) pair.B.copy_(randn(pair.B.shape).mul_(0.1));
        var ids = tensor(new long[] { 1, 5, 3, 9 }, [1, 4]);
        var before = model.forward(ids);
        adapter.Attach(model);
        Assert.False(model.forward(ids).allclose(before, rtol: 0, atol: 1e-4));
        var weights = model.named_parameters().ToDictionary(p => p.name, p => p.parameter.shape);
        Assert.All(adapter.Pairs, p => Assert.Equal(weights[p.Weight], new[] { p.B.shape[0], p.A.shape[1] }));
    }

    [Fact]
    public void Pruning_narrows_each_layer_to_its_own_width()
    {
        using var teacher = new AfmDecoder(MicroModels.Generalized([48, 80]), seed: 1);
        using var student = new AfmDecoder(MicroModels.Generalized([16, 40]), seed: 2);
        Assert.Null(FfnPruning.Incompatibility(teacher.Architecture, student.Architecture));
        var importance = new[] { Enumerable.Range(0, 48).Select(j => (float)j).ToArray(), Enumerable.Range(0, 80).Select(j => (float)(80 - j)).ToArray() };

        var kept = FfnPruning.Apply(teacher, student, importance);

        Assert.Equal(Enumerable.Range(32, 16).ToArray(), kept[0]);
        Assert.Equal(Enumerable.Range(0, 40).ToArray(), kept[1]);
        var t = teacher.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        var s = student.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        Assert.True(MicroModels.SameValues(t["layers.1.attn.k_proj.bias"], s["layers.1.attn.k_proj.bias"]));
        Assert.True(MicroModels.SameValues(t["layers.0.mlp.down_proj.weight"].index_select(1, tensor(kept[0].Select(j => (long)j).ToArray())),
            s["layers.0.mlp.down_proj.weight"]));
    }

    [Fact]
    public void Pruning_says_which_layer_does_not_fit_the_teacher()
    {
        var teacher = MicroModels.Generalized([48, 80]);
        var wider = MicroModels.Generalized([64, 40]);
        Assert.Contains("FfnDim of layer 0 64 is larger than the teacher's 48", FfnPruning.Incompatibility(teacher, wider));
        var otherHeads = teacher with { LayerShapes = [new LayerShape(2, 2, 48), new LayerShape(6, 3, 80)] };
        Assert.Contains("KvHeads of layer 0 2 (teacher 1)", FfnPruning.Incompatibility(teacher, otherHeads));
        Assert.Contains("AttentionBias False (teacher True)", FfnPruning.Incompatibility(teacher, teacher with { AttentionBias = false }));
    }
}
