using Afm.Core.Diagnostics;

namespace Afm.Core.Tests.Spec;

/// <summary>
/// Values that parse but would eat the machine are refused by validate, at the value that makes the estimate large,
/// with the estimate in the message (specs/afmproj.md, "Resource estimates").
/// </summary>
public sealed class ResourceDiagnosticsTests
{
    private const long Gb = 1_000_000_000;

    [Theory]
    [InlineData("<ModelDim>256</ModelDim>", "<ModelDim>1000000000</ModelDim>", "<ModelDim>")]
    [InlineData("<Layers>6</Layers>", "<Layers>100000</Layers>", "<Layers>")]
    [InlineData("VocabSize=\"4096\"", "VocabSize=\"100000000\"", "VocabSize=")]
    [InlineData("SequenceLength=\"1024\"", "SequenceLength=\"1000000\"", "SequenceLength=\"1000000\"")]
    public void A_size_beyond_any_sane_model_is_AFM1009_at_its_value_whatever_the_machine(string find, string replace, string at)
    {
        using var project = TestProject.With(find, replace);
        var error = DiagnosticAssert.SingleError(project.ReadOn(memoryBytes: 1L << 50, freeDiskBytes: 1L << 50), "AFM1009", project.Locate(at));
        Assert.Matches(@"\d+(\.\d)? (GB|TB|PB|EB)|\d\.?\d*e\d+ parameters", error.Message);
    }

    [Fact]
    public void The_default_FfnDim_of_a_huge_ModelDim_is_refused_instead_of_overflowing()
    {
        using var project = TestProject.With("<ModelDim>256</ModelDim>", "<ModelDim>1000000000</ModelDim>");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1009", project.Locate("<ModelDim>"));
        Assert.Contains("parameters", error.Message);
    }

    [Fact]
    public void Packed_data_larger_than_the_free_disk_is_AFM1009_at_Tokens_with_the_estimate()
    {
        using var project = TestProject.With("Tokens=\"4M\"", "Tokens=\"999G\"");
        var error = DiagnosticAssert.SingleError(project.ReadOn(memoryBytes: 16 * Gb, freeDiskBytes: 100 * Gb), "AFM1009", project.Locate("Tokens=\"999G\""));
        Assert.Contains("2 TB", error.Message);
        Assert.Contains("100 GB", error.Message);
    }

    [Fact]
    public void A_stage_needing_more_memory_than_the_machine_has_is_AFM1009_at_the_value_that_makes_it_large()
    {
        // 6 layers x 8 heads x 8 x 4096^2 attention weights alone take 25 GB.
        using var project = TestProject.With("SequenceLength=\"1024\"", "SequenceLength=\"4096\"");
        var error = DiagnosticAssert.SingleError(project.ReadOn(memoryBytes: 16 * Gb, freeDiskBytes: 100 * Gb), "AFM1009", project.Locate("SequenceLength=\"4096\""));
        Assert.Contains("this machine has 16 GB of memory", error.Message);
        Assert.Contains("AfmAllowExceedingMachine", error.Message);
    }

    [Fact]
    public void A_feature_adapter_whose_packed_data_exceeds_the_free_disk_is_AFM1009_at_its_Tokens()
    {
        var adapter = "<Adapter Include=\"summarize\" Rank=\"8\" Tokens=\"999G\" SequenceLength=\"128\" Data=\"data/sft.jsonl\" />";
        using var project = TestProject.With("<EvalSet Include=\"data/eval/*.txt\" />", "<EvalSet Include=\"data/eval/*.txt\" />\n    " + adapter);
        project.WriteFile("data/sft.jsonl", "{\"prompt\":\"p\",\"response\":\"r\"}\n");
        var error = DiagnosticAssert.SingleError(project.ReadOn(memoryBytes: 16 * Gb, freeDiskBytes: 100 * Gb), "AFM1009", project.Locate("Tokens=\"999G\""));
        Assert.Contains("Adapter 'summarize'", error.Message);
    }

    [Theory]
    [InlineData("100000")]
    [InlineData("0")]
    public void AfmThreads_outside_1_to_256_is_AFM1003(string threads)
    {
        using var project = TestProject.With("<KvHeads>2</KvHeads>", $"<KvHeads>2</KvHeads>\n    <AfmThreads>{threads}</AfmThreads>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1003", project.Locate("<AfmThreads>"));
    }

    [Fact]
    public void AfmAllowExceedingMachine_turns_an_estimate_above_the_machine_into_a_warning()
    {
        using var project = new TestProject(TestProject.ValidXml.Replace("Tokens=\"4M\"", "Tokens=\"999G\"")
            .Replace("<KvHeads>2</KvHeads>", "<KvHeads>2</KvHeads>\n    <AfmAllowExceedingMachine>true</AfmAllowExceedingMachine>"));
        var result = project.ReadOn(memoryBytes: 16 * Gb, freeDiskBytes: 100 * Gb);
        Assert.NotNull(result.Spec);
        Assert.Contains(result.Diagnostics, d => d.Code == "AFM1010" && d.Severity == DiagnosticSeverity.Warning);
    }

    [Fact]
    public void An_estimate_near_the_machine_is_a_warning_AFM1010()
    {
        // The valid project's longest stage needs about 3 GB.
        using var project = new TestProject();
        var result = project.ReadOn(memoryBytes: 3_500_000_000, freeDiskBytes: 100 * Gb);
        Assert.NotNull(result.Spec);
        Assert.Contains(result.Diagnostics, d => d.Code == "AFM1010" && d.Location == project.Locate("SequenceLength=\"1024\""));
    }

    [Fact]
    public void The_valid_project_passes_on_a_small_machine_without_a_resource_diagnostic()
    {
        using var project = new TestProject();
        var result = project.ReadOn(memoryBytes: 8 * Gb, freeDiskBytes: 10 * Gb);
        Assert.NotNull(result.Spec);
        Assert.DoesNotContain(result.Diagnostics, d => d.Code is "AFM1009" or "AFM1010");
    }
}
