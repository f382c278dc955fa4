using System.Text.Json.Nodes;
using Afm.Core.IO;
using Afm.Interchange.HuggingFace;
using static Afm.Interchange.Tests.HfFixture;

namespace Afm.Interchange.Tests;

/// <summary>The Hugging Face layout written: transformers' config keys and tensor names, PEFT's adapter layout, and a folder that imports as itself.</summary>
public sealed class HfExportSpecs
{
    private static InMemoryDecoderWeights Weights(HfCheckpoint checkpoint) => new(checkpoint.Map.OurTensors
        .ToDictionary(p => p.Name, p => (p.Shape, checkpoint.ReadTensor(p.Name))));

    /// <summary>Imports a checkpoint, exports it, and returns both opened.</summary>
    private static (HfCheckpoint Source, HfCheckpoint Exported, string Folder) RoundTrip(string source, IReadOnlyList<HfAdapter>? adapters = null)
    {
        var checkpoint = HfCheckpoint.Open(source);
        var folder = Path.Combine(source, "exported");
        HfExporter.Write(folder, new HfExportRequest
        {
            Architecture = checkpoint.Config.Architecture, RopeBase = checkpoint.Config.Architecture.RopeBase, Weights = Weights(checkpoint),
            ModelName = "m", Version = "1.0.0", BosTokenId = checkpoint.Config.BosTokenId, EosTokenIds = checkpoint.Config.EosTokenIds,
            Adapters = adapters ?? [],
        });
        return (checkpoint, HfCheckpoint.Open(folder), folder);
    }

    private static void AssertSameTensors(HfCheckpoint a, HfCheckpoint b)
    {
        Assert.Equal(a.Map.OurTensors.Select(p => p.Name), b.Map.OurTensors.Select(p => p.Name));
        foreach (var part in a.Map.OurTensors) Assert.Equal(a.ReadTensor(part.Name), b.ReadTensor(part.Name));
    }

    [Fact]
    public void A_Qwen2_model_is_written_as_Qwen2ForCausalLM_in_transformers_names_and_reads_back_as_itself()
    {
        var shape = new LlamaShape(16, 2, 4, 2, 24, 40, 4, Tied: false);
        var (source, exported, folder) = RoundTrip(WriteLlamaFamily(NewFolder("export-qwen2"), "Qwen2ForCausalLM", "qwen2", shape, seed: 1, dtype: "BF16", qkvBias: true));
        using (source) using (exported)
        {
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "config.json")))!;
            Assert.Equal("Qwen2ForCausalLM", config["architectures"]![0]!.GetValue<string>());
            Assert.Equal("qwen2", config["model_type"]!.GetValue<string>());
            Assert.Equal(24, config["intermediate_size"]!.GetValue<int>());
            Assert.Equal([2, 3], JsonNode.Parse(File.ReadAllText(Path.Combine(folder, "generation_config.json")))!["eos_token_id"]!.AsArray().Select(n => n!.GetValue<int>()));
            var names = SafeTensorsHeader.Read(Path.Combine(folder, "model.safetensors")).Tensors;
            Assert.Contains("model.layers.1.self_attn.v_proj.bias", names.Keys);
            Assert.All(names.Values, t => Assert.Equal("F32", t.DType));
            Assert.Equal(LlamaTensors(shape, new Random(1), qkvBias: true).Select(t => t.Name).Order(), names.Keys.Order());
            AssertSameTensors(source, exported);
            Assert.Contains("float32 weights", File.ReadAllText(Path.Combine(folder, "README.md")));
        }
    }

    [Fact]
    public void An_OpenELM_model_with_per_layer_shapes_is_written_fused_and_reads_back_as_itself()
    {
        var (source, exported, folder) = RoundTrip(OpenElmFixture.Write(NewFolder("export-openelm"), seed: 2, tied: false));
        using (source) using (exported)
        {
            Assert.Equal(HfFamily.OpenElm, exported.Config.Family);
            Assert.Equal(source.Config.Architecture.LayerShapes, exported.Config.Architecture.LayerShapes);
            var written = SafeTensorsHeader.Read(Path.Combine(folder, "model.safetensors")).Tensors;
            Assert.Equal([64L, 32L], written["transformer.layers.1.attn.qkv_proj.weight"].Shape);
            Assert.Equal([128L, 32L], written["transformer.layers.2.ffn.proj_1.weight"].Shape);
            AssertSameTensors(source, exported);
        }
    }

    [Fact]
    public void Adapters_are_written_in_PEFT_layout_with_its_key_names()
    {
        var shape = new LlamaShape(16, 1, 4, 2, 24, 40, 4, Tied: true);
        var rank = 2;
        var adapter = new HfAdapter("summarize", rank, new Dictionary<string, (long[], float[])>
        {
            ["layers.0.attn.q_proj.weight.lora_A"] = ([rank, 16], Random(new Random(3), rank * 16)),
            ["layers.0.attn.q_proj.weight.lora_B"] = ([16, rank], Random(new Random(4), 16 * rank)),
            ["layers.0.mlp.down_proj.weight.lora_A"] = ([rank, 24], Random(new Random(5), rank * 24)),
            ["layers.0.mlp.down_proj.weight.lora_B"] = ([16, rank], Random(new Random(6), 16 * rank)),
        });
        var (source, exported, folder) = RoundTrip(WriteLlamaFamily(NewFolder("export-peft"), "Qwen3ForCausalLM", "qwen3", shape, seed: 7, qkNorm: true, explicitHeadDim: true), [adapter]);
        using (source) using (exported)
        {
            var peft = Path.Combine(folder, "adapters", "summarize");
            var keys = SafeTensorsHeader.Read(Path.Combine(peft, "adapter_model.safetensors")).Tensors;
            Assert.Equal(
                ["base_model.model.model.layers.0.mlp.down_proj.lora_A.weight", "base_model.model.model.layers.0.mlp.down_proj.lora_B.weight",
                 "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight", "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"],
                keys.Keys.Order(StringComparer.Ordinal));
            Assert.Equal([16L, 2L], keys["base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight"].Shape);
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(peft, "adapter_config.json")))!;
            Assert.Equal(("LORA", 2, 2), (config["peft_type"]!.GetValue<string>(), config["r"]!.GetValue<int>(), config["lora_alpha"]!.GetValue<int>()));
            Assert.Equal(["down_proj", "q_proj"], config["target_modules"]!.AsArray().Select(n => n!.GetValue<string>()));
        }
    }

    [Fact]
    public void A_model_with_qk_norm_and_biases_is_none_of_the_families()
    {
        var a = new Afm.Core.Spec.ArchitectureSpec
        {
            ModelDim = 8, Layers = 1, Heads = 2, KvHeads = 2, FfnDim = 8, VocabSize = 10, RopeBase = 1e4, TieEmbeddings = true,
            QkNorm = true, AttentionBias = true, MaxSequenceLength = 16, NormEpsilon = 1e-5,
        };
        Assert.Throws<NotSupportedException>(() => HfTensorMap.FamilyOf(a));
    }
}
