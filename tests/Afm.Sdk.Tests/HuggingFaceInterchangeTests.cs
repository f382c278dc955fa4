using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Afm.Interchange.Tests;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// The Hugging Face layout through real builds (issues #15, #16): AfmExportFormats=huggingface writes the folder beside the
/// package as its own incremental target, and that folder is a BaseModel another project validates, with every problem
/// located at the element that caused it.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class HuggingFaceInterchangeTests
{
    private const string ExportingItems = MicroModel.ItemsWithRecoveryAdapter;

    [Fact]
    public void The_export_is_its_own_target_and_the_folder_it_writes_is_a_base_model_another_project_reads()
    {
        using var trained = ModelProject.Create(MicroModel.Project(items: ExportingItems));
        Assert.Equal(0, trained.Build().ExitCode);
        // Turning the format on retrains nothing. (The package is written again: spec.json records AfmExportFormats.)
        var package = trained.PathOf("bin/Debug/micro.0.3.0.afmpkg");
        var build = trained.Build("-p:AfmExportFormats=huggingface");
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.DoesNotContain("train core:", build.Output);

        var hf = trained.PathOf("bin/Debug/micro.0.3.0.hf");
        using (var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(hf, "config.json"))))
        {
            // The micro model has QK-norm (the default): Qwen3's tensors.
            Assert.Equal("Qwen3ForCausalLM", config.RootElement.GetProperty("architectures")[0].GetString());
            Assert.Equal(32, config.RootElement.GetProperty("hidden_size").GetInt32());
            Assert.Equal(8, config.RootElement.GetProperty("head_dim").GetInt32());
        }
        Assert.Contains("model.layers.1.self_attn.k_norm.weight", HeaderNames(Path.Combine(hf, "model.safetensors")));
        Assert.Contains("base_model.model.model.layers.0.mlp.up_proj.lora_B.weight", HeaderNames(Path.Combine(hf, "adapters", "recovery-r4", "adapter_model.safetensors")));
        Assert.True(File.Exists(Path.Combine(hf, "adapters", "recovery-r4", "adapter_config.json")));
        Assert.Contains("float32 weights", File.ReadAllText(Path.Combine(hf, "README.md")));
        var question = trained.Build("-p:AfmExportFormats=huggingface", "-question");
        Assert.True(question.ExitCode == 0, "an unchanged project with the export is up to date\n" + question);

        // Round trip: another project starts from the exported folder and packages it as it is (no TrainingStage). Its
        // weights are the trained model's bit for bit, and afm run generates the same tokens from the same prompt.
        var baseItems = $"""
                <BaseModel Include="{hf}" />
                <Corpus Include="data/corpus.jsonl" Name="stories" />
            """;
        using var imported = ModelProject.Create(MicroModel.Project(properties: "<Layers>2</Layers>", items: baseItems), "imported");
        var importedBuild = imported.Build();
        Assert.True(importedBuild.ExitCode == 0, importedBuild.ToString());
        Assert.Contains("no TrainingStage; the model is BaseModel Qwen3ForCausalLM as it is", importedBuild.Output);
        Assert.Equal(File.ReadAllBytes(trained.PathOf("obj/Debug/afm/train/model.safetensors")), File.ReadAllBytes(imported.PathOf("obj/Debug/afm/train/model.safetensors")));
        Assert.Equal(Generate(trained, package), Generate(imported, imported.PathOf("bin/Debug/imported.1.0.0.afmpkg")));
        var importedQuestion = imported.Build("-question");
        Assert.True(importedQuestion.ExitCode == 0, "an unchanged BaseModel project is up to date\n" + importedQuestion);

        // A changed checkpoint re-runs what depends on it: one weight of the base changed, the base is converted again and
        // the package changes (validate listed the base's files as its Inputs and hashed them into the fingerprints).
        var importedPackage = imported.PathOf("bin/Debug/imported.1.0.0.afmpkg");
        var before = File.ReadAllBytes(importedPackage);
        using (var weights = File.Open(Path.Combine(hf, "model.safetensors"), FileMode.Open, FileAccess.ReadWrite))
        {
            weights.Seek(-4, SeekOrigin.End);
            weights.Write(BitConverter.GetBytes(0.125f));
        }
        var changed = imported.Build();
        Assert.True(changed.ExitCode == 0, changed.ToString());
        Assert.Contains("converted base model Qwen3ForCausalLM", changed.Output);
        Assert.NotEqual(before, File.ReadAllBytes(importedPackage));

        // A property that disagrees with the base is an error at the property.
        imported.WriteProject(MicroModel.Project(properties: "<Layers>3</Layers>", items: baseItems));
        Assert.Matches($@"imported\.afmproj\({LineOf(imported, "<Layers>")},\d+\): error AFM1603", imported.Build().Output);

        // Another family from the same tokenizer: an untied OpenELM with per-layer heads and FFN widths, bf16 in two shards,
        // whose first TrainingStage continues from it, then quantized; the package runs.
        var openElm = Path.Combine(trained.Directory, "openelm");
        Directory.CreateDirectory(openElm);
        HfFixture.WriteJson(openElm, "config.json", OpenElmFixture.Config(tied: false, vocab: 320));
        HfFixture.WriteWeights(openElm, OpenElmFixture.Tensors(new Random(5), tied: false, vocab: 320), "BF16", shards: 2);
        foreach (var file in new[] { "tokenizer.json", "tokenizer_config.json" }) File.Copy(Path.Combine(hf, file), Path.Combine(openElm, file));
        using var tuned = ModelProject.Create(MicroModel.Project(properties: "<ModelName>tuned</ModelName>", items: $"""
                <BaseModel Include="{openElm}" />
                <Corpus Include="data/corpus.jsonl" Name="stories" />
                <TrainingStage Include="tune" Tokens="4k" SequenceLength="32" BatchSize="4" LearningRate="1e-3" />
                <QuantizationPlan Include="device" Bits="4" GroupSize="16" CalibrationSequences="8" />
            """), "tuned");
        var tunedBuild = tuned.Build();
        Assert.True(tunedBuild.ExitCode == 0, tunedBuild.ToString());
        Assert.Contains("converted base model OpenELMForCausalLM", tunedBuild.Output);
        Assert.Contains("train tune:", tunedBuild.Output);
        Assert.Contains("[tuned: ", ProcessRunner.Dotnet(tuned.Directory, Compiler, "run", tuned.PathOf("bin/Debug/tuned.1.0.0.afmpkg"),
            "--prompt", "Ada has a", "--max-tokens", "6", "--temperature", "0").Output);
    }

    private static string Compiler => RepositoryLayout.Compiler;

    /// <summary>Greedy text from a prompt (the stats line after it names the model, so it is left out).</summary>
    private static string Generate(ModelProject project, string package)
    {
        var run = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada has a", "--max-tokens", "12", "--temperature", "0");
        Assert.True(run.ExitCode == 0, run.ToString());
        return run.Output[..run.Output.LastIndexOf("\n[", StringComparison.Ordinal)];
    }

    [Fact]
    public void Broken_checkpoints_and_unknown_formats_are_located_errors()
    {
        using var project = ModelProject.Create(MicroModel.Project(
            properties: MicroModel.Properties.Replace("<ModelDim>32</ModelDim>", "") + "\n    <AfmExportFormats>huggingface;gguf-q9</AfmExportFormats>",
            items: """
                <BaseModel Include="models/empty" />
                <Corpus Include="data/corpus.jsonl" Name="stories" />
            """));
        project.WriteFile("models/empty/notes.txt", "no config here");
        var build = project.Build();
        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("error AFM6103", build.Output);
        Assert.Contains("'gguf-q9'", build.Output);
        Assert.Matches(@"micro\.afmproj\(\d+,\d+\): error AFM1620: BaseModel 'models/empty'", build.Output);
        Assert.Empty(InternalErrorScan.Find(build.Output));
    }

    private static int LineOf(ModelProject project, string text)
    {
        var lines = File.ReadAllLines(project.ProjectPath);
        return Array.FindIndex(lines, l => l.Contains(text, StringComparison.Ordinal)) + 1;
    }

    private static IReadOnlyCollection<string> HeaderNames(string path)
    {
        var bytes = File.ReadAllBytes(path);
        var length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, length));
        return header.RootElement.EnumerateObject().Select(p => p.Name).ToList();
    }
}
