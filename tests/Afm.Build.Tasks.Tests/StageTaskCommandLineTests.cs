using Snapshooter.Xunit;

namespace Afm.Build.Tasks.Tests;

/// <summary>What each stage task hands the compiler: `exec afm.dll &lt;command&gt;` plus one option per response-file line.</summary>
public sealed class StageTaskCommandLineTests
{
    private const string Compiler = "/toolchain/afm.dll";

    [Fact]
    public void Validate_passes_the_snapshot_and_output_folder()
    {
        var task = new AfmValidate { CompilerPath = Compiler, SnapshotFile = "/p/obj/afm/project.snapshot.json", OutputDirectory = "/p/obj/afm/spec/" };
        Snapshot.Match(Render(task));
    }

    [Fact]
    public void Package_passes_every_stage_folder_and_the_artifact_path()
    {
        var task = new AfmPackage
        {
            CompilerPath = Compiler, SpecFile = "/p/obj/afm/spec/spec.json", TokenizerDirectory = "/p/obj/afm/tokenizer/",
            DataDirectory = "/p/obj/afm/data/", TrainDirectory = "/p/obj/afm/train/", OutputPath = "/p/bin/Debug/m.1.0.0.afmpkg",
        };
        Snapshot.Match(Render(task));
    }

    [Fact]
    public void Package_passes_sources_only_when_AfmPackageSources_is_true()
    {
        AfmPackage Task(bool sources) => new()
        {
            CompilerPath = Compiler, SpecFile = "/p/obj/afm/spec/spec.json", TokenizerDirectory = "/p/obj/afm/tokenizer/",
            DataDirectory = "/p/obj/afm/data/", TrainDirectory = "/p/obj/afm/train/", OutputPath = "/p/bin/Debug/m.1.0.0.afmpkg",
            PackageSources = sources,
        };
        Assert.Contains("--sources \"true\"\n", Task(sources: true).GetCommandsForTesting().ResponseFile);
        Assert.DoesNotContain("--sources", Task(sources: false).GetCommandsForTesting().ResponseFile);
    }

    [Fact]
    public void Package_passes_the_signing_certificate_and_key_only_when_set()
    {
        AfmPackage Task(string certificate, string key) => new()
        {
            CompilerPath = Compiler, SpecFile = "/p/obj/afm/spec/spec.json", TokenizerDirectory = "/p/obj/afm/tokenizer/",
            DataDirectory = "/p/obj/afm/data/", TrainDirectory = "/p/obj/afm/train/", OutputPath = "/p/bin/Debug/m.1.0.0.afmpkg",
            SigningCertificate = certificate, SigningKey = key,
        };
        var signed = Task("/p/keys/ci.pem", "/p/keys/ci.key").GetCommandsForTesting().ResponseFile;
        Assert.Contains("--signing-certificate \"/p/keys/ci.pem\"\n--signing-key \"/p/keys/ci.key\"\n", signed);
        Assert.DoesNotContain("--signing", Task("", "").GetCommandsForTesting().ResponseFile);
    }

    [Fact]
    public void Export_gguf_passes_the_quantize_and_adapters_folders_only_when_they_exist()
    {
        AfmExportGguf Task(string quantize, string adapters) => new()
        {
            CompilerPath = Compiler, SpecFile = "/p/obj/afm/spec/spec.json", TrainDirectory = "/p/obj/afm/train/",
            TokenizerDirectory = "/p/obj/afm/tokenizer/", QuantizeDirectory = quantize, AdaptersDirectory = adapters, OutputPath = "/p/bin/Debug/",
        };
        var plain = Task("", "").GetCommandsForTesting();
        Assert.Equal("export-gguf", plain.CommandLine.Split(' ')[^1]);
        Assert.Equal("--spec \"/p/obj/afm/spec/spec.json\"\n--train \"/p/obj/afm/train/\"\n--tokenizer \"/p/obj/afm/tokenizer/\"\n--out \"/p/bin/Debug/\"\n", plain.ResponseFile);
        var full = Task("/p/obj/afm/quantize/", "/p/obj/afm/adapters/").GetCommandsForTesting().ResponseFile;
        Assert.Contains("--quantize \"/p/obj/afm/quantize/\"\n", full);
        Assert.Contains("--adapters \"/p/obj/afm/adapters/\"\n", full);
    }

    [Fact]
    public void Export_genai_passes_the_graph_adapters_and_tokenizer_folders()
    {
        var task = new AfmExportGenAI
        {
            CompilerPath = Compiler, SpecFile = "/p/obj/afm/spec/spec.json", ExportDirectory = "/p/obj/afm/export/",
            OnnxAdaptersDirectory = "/p/obj/afm/export-adapters/", TokenizerDirectory = "/p/obj/afm/tokenizer/", OutputPath = "/p/bin/Debug/m.genai/",
        };
        Assert.Equal("--spec \"/p/obj/afm/spec/spec.json\"\n--export \"/p/obj/afm/export/\"\n--onnx-adapters \"/p/obj/afm/export-adapters/\"\n--tokenizer \"/p/obj/afm/tokenizer/\"\n--out \"/p/bin/Debug/m.genai/\"\n",
            task.GetCommandsForTesting().ResponseFile);
    }

    [Fact]
    public void Paths_with_spaces_and_quotes_stay_one_argument()
    {
        var task = new AfmTokenizer { CompilerPath = "/my tools/afm.dll", SpecFile = "/a b/\"q\".json", OutputPath = "/out dir/" };
        var (commandLine, responseFile) = task.GetCommandsForTesting();
        Assert.Equal("exec \"/my tools/afm.dll\" tokenizer", commandLine);
        Assert.Equal("--spec \"/a b/\\\"q\\\".json\"\n--out \"/out dir/\"\n", responseFile);
    }

    private static string Render(AfmCompilerTask task)
    {
        var (commandLine, responseFile) = task.GetCommandsForTesting();
        return commandLine + "\n" + responseFile;
    }
}
