using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>
/// The BaseModel item: the architecture and tokenizer come from the checkpoint (read here by a stand-in for
/// Afm.Interchange's reader, which has its own tests), properties that disagree are located errors.
/// </summary>
public sealed class BaseModelTests
{
    private const string Project = """
        <Project Sdk="Afm.Sdk">
          <PropertyGroup>
          </PropertyGroup>
          <ItemGroup>
            <BaseModel Include="models/base" />
            <Corpus Include="data/web/*.txt" Name="web" />
            <TrainingStage Include="sft" Tokens="4k" SequenceLength="64" />
          </ItemGroup>
        </Project>
        """;

    private static readonly ArchitectureSpec BaseArchitecture = new()
    {
        ModelDim = 64, Layers = 2, Heads = 4, KvHeads = 2, FfnDim = 96, VocabSize = 300, RopeBase = 1_000_000, TieEmbeddings = true,
        QkNorm = true, MaxSequenceLength = 4096, NormEpsilon = 1e-6, ExplicitHeadDim = 24,
    };

    private sealed class StandIn(ArchitectureSpec architecture, BaseModelException? refusal = null) : IBaseModelFormat
    {
        public BaseModelDescription Describe(string folder) => refusal is not null ? throw refusal : new BaseModelDescription
        {
            Format = "huggingface", Architecture = "Qwen3ForCausalLM", Spec = architecture,
            Files = [Path.Combine(folder, "config.json"), Path.Combine(folder, "model.safetensors")], BosTokenId = 1, EosTokenIds = [2, 3],
        };
    }

    private static TestProject Make(string xml = Project)
    {
        var project = new TestProject(xml);
        project.WriteFile("models/base/config.json", "{}");
        project.WriteFile("models/base/model.safetensors", "weights");
        return project;
    }

    private static SpecResult Read(TestProject project, IBaseModelFormat? format = null) =>
        ProjectSpecReader.Read(project.Snapshot(), format ?? new StandIn(BaseArchitecture));

    [Fact]
    public void The_architecture_and_tokenizer_come_from_the_base_and_its_files_are_hashed()
    {
        using var project = Make();
        var result = Read(project);
        Assert.DoesNotContain(result.Diagnostics, d => d.IsError);
        var spec = result.Spec!;
        Assert.Equal(BaseArchitecture, spec.Architecture);
        Assert.Equal(TokenizerSpec.BaseModelKind, spec.Tokenizer.Kind);
        Assert.Equal(300, spec.Tokenizer.VocabSize);
        var baseModel = spec.BaseModel!;
        Assert.Equal(Path.Combine(project.Directory, "models", "base"), baseModel.Folder);
        Assert.Equal(["config.json", "model.safetensors"], baseModel.Files.Select(f => f.Path));
        Assert.Equal(Afm.Core.Artifacts.Hashing.Sha256(System.Text.Encoding.UTF8.GetBytes("weights")), baseModel.Files[1].Sha256);
        Assert.Equal(1, baseModel.BosTokenId);
        Assert.Equal([2, 3], baseModel.EosTokenIds);
    }

    [Fact]
    public void A_property_that_agrees_with_the_base_is_allowed_and_one_that_disagrees_is_an_error_at_it()
    {
        using (var agreeing = Make(Project.Replace("<PropertyGroup>", "<PropertyGroup>\n    <ModelDim>64</ModelDim>\n    <QkNorm>true</QkNorm>")))
            Assert.DoesNotContain(Read(agreeing).Diagnostics, d => d.IsError);
        using var project = Make(Project.Replace("<PropertyGroup>", "<PropertyGroup>\n    <Layers>12</Layers>"));
        var error = DiagnosticAssert.SingleError(Read(project), "AFM1603", project.Locate("<Layers>"));
        Assert.Contains("has 2", error.Message);
    }

    [Fact]
    public void MaxSequenceLength_may_shorten_the_bases_context_but_not_lengthen_it()
    {
        using (var shorter = Make(Project.Replace("<PropertyGroup>", "<PropertyGroup>\n    <MaxSequenceLength>512</MaxSequenceLength>")))
            Assert.Equal(512, Read(shorter).Spec!.Architecture.MaxSequenceLength);
        using var longer = Make(Project.Replace("<PropertyGroup>", "<PropertyGroup>\n    <MaxSequenceLength>8192</MaxSequenceLength>"));
        DiagnosticAssert.SingleError(Read(longer), "AFM1605", longer.Locate("<MaxSequenceLength>"));
    }

    [Fact]
    public void A_Tokenizer_item_beside_a_base_is_an_error_at_the_tokenizer()
    {
        const string tokenizer = "<Tokenizer Include=\"bpe\" VocabSize=\"4096\" />";
        using var project = Make(Project.Replace("<Corpus", tokenizer + "\n    <Corpus"));
        DiagnosticAssert.SingleError(Read(project), "AFM1604", project.Locate(tokenizer));
    }

    [Fact]
    public void What_the_checkpoint_reader_refuses_is_reported_at_the_BaseModel_include()
    {
        using var project = Make();
        var refusal = new BaseModelException("AFM1629", "'model.norm.weight' has shape [8], but config.json gives [64].");
        var error = DiagnosticAssert.SingleError(Read(project, new StandIn(BaseArchitecture, refusal)), "AFM1629", project.Locate("Include=\"models/base\""));
        Assert.Contains("BaseModel 'models/base'", error.Message);
        Assert.Contains("model.norm.weight", error.Message);
    }

    [Fact]
    public void A_missing_folder_and_a_second_base_are_errors()
    {
        using (var missing = new TestProject(Project))
            DiagnosticAssert.SingleError(Read(missing), "AFM1602", missing.Locate("Include=\"models/base\""));
        const string second = "<BaseModel Include=\"models/other\" />";
        using var two = Make(Project.Replace("<Corpus", second + "\n    <Corpus"));
        DiagnosticAssert.SingleError(Read(two), "AFM1601", two.Locate(second));
    }

    private const string NoStage = "    <TrainingStage Include=\"sft\" Tokens=\"4k\" SequenceLength=\"64\" />\n";

    [Fact]
    public void Without_a_training_stage_or_a_plan_nothing_is_packed_and_the_base_is_packaged_as_it_is()
    {
        using var plain = Make(Project.Replace(NoStage, ""));
        var spec = Read(plain).Spec!;
        Assert.Empty(spec.TrainingStages);
        Assert.Null(spec.CalibrationData);
        Assert.Empty(spec.PackedStages);
        Assert.Equal(4096, spec.Architecture.MaxSequenceLength);
    }

    [Fact]
    public void Without_a_training_stage_the_plan_calibrates_on_packed_calibration_data_of_the_corpora()
    {
        const string plan = "<QuantizationPlan Include=\"device\" Bits=\"4\" CalibrationSequences=\"10\" />";
        using var project = Make(Project.Replace(NoStage, "").Replace("<Corpus", plan + "\n    <Corpus"));
        var spec = Read(project).Spec!;
        var calibration = spec.CalibrationData!;
        Assert.Same(calibration, spec.CalibrationStage);
        Assert.Equal(ModelSpec.CalibrationDataName, calibration.Name);
        Assert.Equal(256, calibration.SequenceLength);
        Assert.Equal(10 * 256, calibration.Tokens);
        Assert.Equal([new MixEntry("web", 1.0)], calibration.Mix);
        Assert.Equal(project.Locate(plan), calibration.Location);
        Assert.Empty(spec.TrainingStages);
    }

    [Fact]
    public void Without_a_training_stage_a_recovery_adapter_trains_on_the_calibration_data_which_holds_its_tokens()
    {
        const string adapter = "<Adapter Include=\"recovery\" Kind=\"accuracy-recovery\" Ranks=\"4\" Tokens=\"20k\" />";
        using var project = Make(Project.Replace(NoStage, "").Replace("<Corpus", adapter + "\n    <Corpus")
            .Replace("<PropertyGroup>", "<PropertyGroup><MaxSequenceLength>128</MaxSequenceLength>"));
        var result = Read(project);
        var spec = result.Spec!;
        Assert.Equal(ModelSpec.CalibrationDataName, Assert.Single(spec.Adapters).TrainingStage);
        Assert.Equal(128, spec.CalibrationData!.SequenceLength);
        Assert.Equal(20_000, spec.CalibrationData.Tokens);
    }

    [Fact]
    public void With_a_training_stage_the_plan_calibrates_on_its_data_and_nothing_more_is_packed()
    {
        using var project = Make(Project.Replace("<Corpus", "<QuantizationPlan Include=\"device\" Bits=\"4\" />\n    <Corpus"));
        var spec = Read(project).Spec!;
        Assert.Null(spec.CalibrationData);
        Assert.Equal("sft", spec.CalibrationStage!.Name);
    }
}
