using Afm.Core.Spec;
using Afm.Interchange.HuggingFace;
using static Afm.Interchange.Tests.HfFixture;

namespace Afm.Interchange.Tests;

/// <summary>Checkpoints of each family, written in transformers' names, read into the decoder's architecture and tensors.</summary>
public sealed class HfImportSpecs
{
    private static readonly LlamaShape Gqa = new(Hidden: 16, Layers: 2, Heads: 4, KvHeads: 2, Intermediate: 24, Vocab: 40, HeadDim: 4, Tied: false);

    [Fact]
    public void A_Llama_config_becomes_the_uniform_decoder_with_its_defaults()
    {
        var folder = WriteLlamaFamily(NewFolder("llama"), "LlamaForCausalLM", "llama", Gqa, seed: 1);
        var config = HfConfig.Read(folder);
        var a = config.Architecture;
        Assert.Equal(HfFamily.Llama, config.Family);
        Assert.Equal((16, 2, 4, 2, 24, 40), (a.ModelDim, a.Layers, a.Heads, a.KvHeads, a.FfnDim, a.VocabSize));
        Assert.Equal((10000.0, 1e-6, 512), (a.RopeBase, a.NormEpsilon, a.MaxSequenceLength));
        Assert.False(a.TieEmbeddings);
        Assert.False(a.QkNorm);
        Assert.False(a.AttentionBias);
        Assert.Null(a.ExplicitHeadDim);
        Assert.Null(a.LayerShapes);
        // generation_config.json wins over config.json, and a list of eos ids is kept whole.
        Assert.Equal(1, config.BosTokenId);
        Assert.Equal([2, 3], config.EosTokenIds);
    }

    [Fact]
    public void Qwen3_keeps_a_head_dim_that_is_not_hidden_over_heads_and_has_qk_norm()
    {
        var shape = Gqa with { HeadDim = 6, Tied = true };
        var folder = WriteLlamaFamily(NewFolder("qwen3"), "Qwen3ForCausalLM", "qwen3", shape, seed: 2, qkNorm: true, explicitHeadDim: true);
        var a = HfConfig.Read(folder).Architecture;
        Assert.Equal(6, a.ExplicitHeadDim);
        Assert.Equal(6, a.HeadDim);
        Assert.True(a.QkNorm);
        Assert.True(a.TieEmbeddings);
        using var checkpoint = HfCheckpoint.Open(folder);
        Assert.Equal([24L, 16L], checkpoint.Map.OurTensors.Single(p => p.Name == "layers.0.attn.q_proj.weight").Shape);
        Assert.Equal([16L, 24L], checkpoint.Map.OurTensors.Single(p => p.Name == "layers.1.attn.o_proj.weight").Shape);
        Assert.DoesNotContain(checkpoint.Map.OurTensors, p => p.Name == "lm_head.weight");
    }

    [Fact]
    public void Qwen2_has_biases_on_q_k_and_v_and_they_are_imported()
    {
        var folder = WriteLlamaFamily(NewFolder("qwen2"), "Qwen2ForCausalLM", "qwen2", Gqa, seed: 3, qkvBias: true);
        using var checkpoint = HfCheckpoint.Open(folder);
        Assert.True(checkpoint.Config.Architecture.AttentionBias);
        var expected = LlamaTensors(Gqa, new Random(3), qkvBias: true).Single(t => t.Name == "model.layers.1.self_attn.k_proj.bias").Values;
        Assert.Equal(expected, checkpoint.ReadTensor("layers.1.attn.k_proj.bias"));
    }

    [Fact]
    public void Mistral_sliding_window_caps_the_context_where_full_attention_equals_it()
    {
        var folder = NewFolder("mistral");
        var config = LlamaConfig("MistralForCausalLM", "mistral", Gqa);
        config["sliding_window"] = 128;
        WriteJson(folder, "config.json", config);
        WriteWeights(folder, LlamaTensors(Gqa, new Random(4)), "F32", 1);
        Assert.Equal(128, HfConfig.Read(folder).Architecture.MaxSequenceLength);
    }

    [Theory]
    [InlineData("F32")]
    [InlineData("F16")]
    [InlineData("BF16")]
    public void Every_tensor_arrives_under_the_decoders_name_widened_exactly_to_fp32(string dtype)
    {
        var folder = WriteLlamaFamily(NewFolder("dtype-" + dtype), "LlamaForCausalLM", "llama", Gqa, seed: 5, dtype: dtype);
        var written = LlamaTensors(Gqa, new Random(5)).ToDictionary(t => t.Name, t => t.Values);
        float Stored(float v) => dtype switch { "F16" => (float)(Half)v, "BF16" => FromBFloat16(ToBFloat16(v)), _ => v };
        using var checkpoint = HfCheckpoint.Open(folder);
        var pairs = new (string Hf, string Ours)[]
        {
            ("model.embed_tokens.weight", "embed.weight"), ("model.layers.0.self_attn.q_proj.weight", "layers.0.attn.q_proj.weight"),
            ("model.layers.1.self_attn.o_proj.weight", "layers.1.attn.o_proj.weight"), ("model.layers.0.mlp.gate_proj.weight", "layers.0.mlp.gate_proj.weight"),
            ("model.layers.1.mlp.down_proj.weight", "layers.1.mlp.down_proj.weight"), ("model.layers.0.input_layernorm.weight", "layers.0.attn_norm.weight"),
            ("model.layers.0.post_attention_layernorm.weight", "layers.0.mlp_norm.weight"), ("model.norm.weight", "norm.weight"), ("lm_head.weight", "lm_head.weight"),
        };
        foreach (var (hf, ours) in pairs)
            Assert.Equal(written[hf].Select(Stored).ToArray(), checkpoint.ReadTensor(ours));
        Assert.Equal(written.Count, checkpoint.Map.OurTensors.Count());
    }

    [Fact]
    public void Sharded_weights_are_found_through_the_index()
    {
        var folder = WriteLlamaFamily(NewFolder("sharded"), "Qwen2ForCausalLM", "qwen2", Gqa, seed: 6, dtype: "BF16", shards: 3, qkvBias: true);
        using var checkpoint = HfCheckpoint.Open(folder);
        Assert.Contains(checkpoint.Files, f => f.EndsWith("model-00003-of-00003.safetensors", StringComparison.Ordinal));
        Assert.Contains(checkpoint.Files, f => f.EndsWith("model.safetensors.index.json", StringComparison.Ordinal));
        var written = LlamaTensors(Gqa, new Random(6), qkvBias: true).Single(t => t.Name == "model.layers.1.mlp.up_proj.weight").Values;
        Assert.Equal(written.Select(v => FromBFloat16(ToBFloat16(v))).ToArray(), checkpoint.ReadTensor("layers.1.mlp.up_proj.weight"));
    }

    [Fact]
    public void A_tied_checkpoint_that_also_saves_lm_head_is_read_without_it()
    {
        var shape = Gqa with { Tied = true };
        var folder = NewFolder("tied-with-head");
        WriteJson(folder, "config.json", LlamaConfig("LlamaForCausalLM", "llama", shape));
        var tensors = LlamaTensors(shape, new Random(7));
        tensors.Add(new Tensor("lm_head.weight", [40, 16], tensors[0].Values));
        WriteWeights(folder, tensors, "F32", 1);
        using var checkpoint = HfCheckpoint.Open(folder);
        Assert.DoesNotContain(checkpoint.Map.OurTensors, p => p.Name == "lm_head.weight");
    }

    [Fact]
    public void Decoder_weights_written_from_a_checkpoint_hold_every_tensor_as_fp32()
    {
        var folder = WriteLlamaFamily(NewFolder("convert"), "LlamaForCausalLM", "llama", Gqa, seed: 8, dtype: "BF16", shards: 2);
        var output = Path.Combine(folder, "converted.safetensors");
        using (var checkpoint = HfCheckpoint.Open(folder))
            checkpoint.WriteDecoderWeights(output, new Dictionary<string, string> { ["rope_base"] = "10000" });
        var file = Afm.Core.IO.SafeTensorsFile.Read(output);
        Assert.Equal(LlamaTensors(Gqa, new Random(8)).Count, file.Tensors.Count);
        Assert.All(file.Tensors.Values, t => Assert.Equal("F32", t.DType));
        var written = LlamaTensors(Gqa, new Random(8)).Single(t => t.Name == "model.layers.0.self_attn.v_proj.weight").Values;
        var stored = System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(file.Tensors["layers.0.attn.v_proj.weight"].Bytes.Span).ToArray();
        Assert.Equal(written.Select(v => FromBFloat16(ToBFloat16(v))).ToArray(), stored);
    }
}
