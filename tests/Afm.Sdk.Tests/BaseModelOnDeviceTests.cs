using System.Text.Json;
using Afm.Interchange.Tests;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// AFM's on-device flow on a real checkpoint (issue #15): a BaseModel project with no TrainingStage palettizes the base
/// as it is (calibrated on the corpora), trains a recovery adapter on the frozen quantized base, exports and packages,
/// and `afm run` generates from the artifact with and without the adapter. Nothing is trained on the base itself.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class BaseModelOnDeviceTests
{
    private static string Compiler => RepositoryLayout.Compiler;

    // A Qwen3 checkpoint (QK-norm, GQA, head_dim 8) over a byte-level tokenizer of 256 bytes and one special token.
    private static readonly HfFixture.LlamaShape Shape = new(Hidden: 32, Layers: 2, Heads: 4, KvHeads: 2, Intermediate: 48, Vocab: 260, HeadDim: 8, Tied: true);

    [Fact]
    public void A_base_without_a_training_stage_is_quantized_adapted_packaged_and_runs()
    {
        using var project = ModelProject.Create(MicroModel.Project(properties: "<ModelName>ondevice</ModelName>", items: """
                <BaseModel Include="models/qwen3" />
                <Corpus Include="data/corpus.jsonl" Name="stories" />
                <QuantizationPlan Include="device" Bits="4" GroupSize="16" CalibrationSequences="4" />
                <Adapter Include="recovery" Kind="accuracy-recovery" Ranks="4" Tokens="2k" />
            """), "ondevice");
        var folder = project.PathOf("models/qwen3");
        Directory.CreateDirectory(folder);
        HfFixture.WriteLlamaFamily(folder, "Qwen3ForCausalLM", "qwen3", Shape, seed: 3, dtype: "BF16", qkNorm: true, explicitHeadDim: true);
        HfFixture.WriteJson(folder, "generation_config.json", new { bos_token_id = 256, eos_token_id = new[] { 256 } });
        WriteByteLevelTokenizer(folder);

        var build = project.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("no TrainingStage; the model is BaseModel Qwen3ForCausalLM as it is", build.Output);
        foreach (var stage in new[] { "quantize: ", "adapters recovery-r4: done", "export: " })
            Assert.Contains(stage, build.Output);
        Assert.DoesNotContain("train calibration", build.Output);

        // The quantize stage calibrated on the packed calibration data, which holds the adapter's 2k tokens.
        using (var index = JsonDocument.Parse(File.ReadAllText(project.PathOf("obj/Debug/afm/data/index.json"))))
        {
            var stage = Assert.Single(index.RootElement.GetProperty("stages").EnumerateArray());
            Assert.Equal("calibration", stage.GetProperty("name").GetString());
        }
        using (var adapters = JsonDocument.Parse(File.ReadAllText(project.PathOf("obj/Debug/afm/adapters/report.json"))))
            Assert.Equal("quantized", adapters.RootElement.GetProperty("base").GetString());

        var package = project.PathOf("bin/Debug/ondevice.1.0.0.afmpkg");
        var artifact = ArtifactReader.Open(package);
        foreach (var entry in new[] { "model/model.onnx", "model/quantized.safetensors", "adapters/recovery-r4.onnx_adapter" })
            Assert.True(artifact.Entries.ContainsKey(entry), entry);
        var run = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada has a", "--max-tokens", "6", "--temperature", "0");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Matches(@"\[ondevice: \d+ prompt tokens, [1-9]\d* generated", run.Output);
        var adapted = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada has a", "--max-tokens", "6", "--temperature", "0", "--adapter", "recovery-r4");
        Assert.True(adapted.ExitCode == 0, adapted.ToString());
        Assert.Contains("[ondevice:recovery-r4: ", adapted.Output);
        Assert.True(project.Build("-question").ExitCode == 0, "an unchanged project is up to date");
    }

    /// <summary>
    /// tokenizer.json of a byte-level BPE with no merges, written from the format's rules: one token per byte, spelled by
    /// GPT-2's byte-to-character map (printable Latin-1 stands for itself, every other byte is shifted to U+0100 and up
    /// in byte order), and &lt;|endoftext|&gt; as a special added token.
    /// </summary>
    private static void WriteByteLevelTokenizer(string folder)
    {
        var vocab = new Dictionary<string, int>();
        int shifted = 256;
        for (int b = 0; b < 256; b++)
        {
            bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            vocab[((char)(printable ? b : shifted++)).ToString()] = b;
        }
        vocab["<|endoftext|>"] = 256;
        var byteLevel = new { type = "ByteLevel", add_prefix_space = false, trim_offsets = true, use_regex = true };
        HfFixture.WriteJson(folder, "tokenizer.json", new Dictionary<string, object?>
        {
            ["version"] = "1.0", ["truncation"] = null, ["padding"] = null,
            ["added_tokens"] = new[] { new { id = 256, content = "<|endoftext|>", single_word = false, lstrip = false, rstrip = false, normalized = false, special = true } },
            ["normalizer"] = null, ["pre_tokenizer"] = byteLevel, ["post_processor"] = null, ["decoder"] = byteLevel,
            ["model"] = new Dictionary<string, object?>
            {
                ["type"] = "BPE", ["dropout"] = null, ["unk_token"] = null, ["continuing_subword_prefix"] = null, ["end_of_word_suffix"] = null,
                ["fuse_unk"] = false, ["byte_fallback"] = false, ["ignore_merges"] = false, ["vocab"] = vocab, ["merges"] = Array.Empty<string>(),
            },
        });
        HfFixture.WriteJson(folder, "tokenizer_config.json", new { eos_token = "<|endoftext|>", bos_token = (string?)null, add_bos_token = false });
    }
}
