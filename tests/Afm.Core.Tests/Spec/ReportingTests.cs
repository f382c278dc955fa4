using Afm.Core.Diagnostics;
using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>How problems are reported as a whole: all at once, in the canonical format, never as an exception.</summary>
public sealed class ReportingTests
{
    [Fact]
    public void Every_error_in_a_project_is_reported_in_one_pass()
    {
        using var project = new TestProject(TestProject.ValidXml
            .Replace("<Layers>6</Layers>", "<Layers>-2</Layers>")
            .Replace("<Heads>8</Heads>", "<Heads>6</Heads>")
            .Replace("Tokens=\"4M\"", "Tokens=\"4MM\"")
            .Replace("LearningRate=\"0.01\"", "LearningRate=\"fast\"")
            .Replace("Include=\"context\"", "Include=\"core\" Kind=\"finetune\"")
            .Replace("Mix=\"web=3;code=1\"", "Mix=\"web=3;books=1\"")
            .Replace("VocabSize=\"4096\"", "VocabSize=\"100\"")
            .Replace("data/code/**/*.cs", "data/books/*.txt"));
        var result = project.Read();
        Assert.Null(result.Spec);
        Assert.Equal(
            ["AFM1002", "AFM1002", "AFM1003", "AFM1101", "AFM1204", "AFM1303", "AFM1402", "AFM1403", "AFM1406"],
            result.Diagnostics.Where(d => d.IsError).Select(d => d.Code).Order(StringComparer.Ordinal));
    }

    [Fact]
    public void A_diagnostic_prints_as_path_line_column_severity_code_message()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>-2</Layers>");
        var error = Assert.Single(project.Read().Diagnostics);
        var (line, column) = (project.Locate("<Layers>").Line, project.Locate("<Layers>").Column);
        Assert.Equal($"{project.ProjectPath}({line},{column}): error AFM1003: Layers is -2, but it must be greater than 0.", error.ToString());
    }

    [Fact]
    public void A_malformed_snapshot_is_internal_error_AFM9001_not_an_exception()
    {
        var snapshot = new ProjectSnapshot { ProjectPath = "relative.afmproj", Properties = new(), Items = [] };
        var error = Assert.Single(ProjectSpecReader.Read(snapshot).Diagnostics);
        Assert.Equal("AFM9001", error.Code);
    }

    [Fact]
    public void A_snapshot_with_metadata_names_differing_only_in_case_is_AFM9001()
    {
        using var project = new TestProject();
        var snapshot = project.Snapshot();
        snapshot.Items[0].Metadata["vocabsize"] = "1";
        Assert.Equal("AFM9001", Assert.Single(ProjectSpecReader.Read(snapshot).Diagnostics).Code);
    }

    [Fact]
    public void A_project_file_that_is_gone_degrades_locations_to_the_file_name()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>-2</Layers>");
        var snapshot = project.Snapshot();
        File.Delete(project.ProjectPath);
        var error = Assert.Single(ProjectSpecReader.Read(snapshot).Diagnostics);
        Assert.Equal(SourceLocation.FileOnly(project.ProjectPath), error.Location);
    }

    [Fact]
    public void Adapter_and_Teacher_items_are_built_so_neither_is_warning_AFM1501()
    {
        using var project = TestProject.With("<EvalSet", "<Adapter Include=\"recovery\" Kind=\"accuracy-recovery\" Ranks=\"16\" Tokens=\"10k\" />\n    <Teacher Include=\"big.afmproj\" />\n    <EvalSet");
        Assert.DoesNotContain(project.Read().Diagnostics, d => d.Code == "AFM1501");
    }
}
