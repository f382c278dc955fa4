using Afm.Core.Diagnostics;

namespace Afm.Core.Tests.Spec;

public sealed class CorpusDiagnosticsTests
{
    private const string Corpora = """
        <Corpus Include="data/web/*.txt" Name="web" />
            <Corpus Include="data/code/**/*.cs" Name="code" />
        """;

    [Fact]
    public void A_project_without_a_corpus_is_AFM1301_on_the_project_file()
    {
        using var project = TestProject.With(Corpora, "");
        // Only AFM1301: the stage's Mix naming 'web' and 'code' is not reported again.
        DiagnosticAssert.SingleError(project.Read(), "AFM1301", SourceLocation.FileOnly(project.ProjectPath));
    }

    [Fact]
    public void A_corpus_file_that_does_not_exist_is_AFM1302_at_Include()
    {
        using var project = TestProject.With("data/code/**/*.cs", "data/code/missing.cs");
        DiagnosticAssert.SingleError(project.Read(), "AFM1302", project.Locate("Include=\"data/code/missing.cs\""));
    }

    [Fact]
    public void A_wildcard_that_matches_no_files_is_AFM1303_at_Include()
    {
        using var project = TestProject.With(Corpora, Corpora + "\n    <Corpus Include=\"data/books/*.txt\" Name=\"web\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1303", project.Locate("Include=\"data/books/*.txt\""));
    }

    [Fact]
    public void A_Mix_naming_a_corpus_whose_wildcard_matched_nothing_reports_only_AFM1303()
    {
        using var project = TestProject.With("data/code/**/*.cs", "data/books/*.txt");
        DiagnosticAssert.SingleError(project.Read(), "AFM1303", project.Locate("Include=\"data/books/*.txt\""));
    }

    [Fact]
    public void A_wildcard_under_a_condition_may_match_nothing()
    {
        using var project = TestProject.With(Corpora, Corpora + "\n    <Corpus Include=\"data/books/*.txt\" Name=\"web\" Condition=\"'$(Books)' == 'true'\" />");
        Assert.NotNull(project.Read().Spec);
    }

    [Fact]
    public void The_only_corpus_matching_nothing_is_AFM1303_not_AFM1301()
    {
        using var project = TestProject.With(Corpora, "<Corpus Include=\"data/books/*.txt\" Name=\"web\" />");
        var result = project.Read();
        DiagnosticAssert.Error(result, "AFM1303", project.Locate("Include=\"data/books/*.txt\""));
        Assert.DoesNotContain(result.Diagnostics, d => d.Code == "AFM1301");
    }

    [Fact]
    public void A_corpus_without_Name_is_AFM1007_at_the_element()
    {
        using var project = TestProject.With("<Corpus Include=\"data/code/**/*.cs\" Name=\"code\" />", "<Corpus Include=\"data/code/**/*.cs\" />");
        // Only AFM1007: the Mix naming 'code' is not also reported as naming an unknown corpus.
        DiagnosticAssert.SingleError(project.Read(), "AFM1007", project.Locate("<Corpus Include=\"data/code"));
    }

    [Fact]
    public void Two_corpora_sharing_a_name_but_not_a_format_is_AFM1304_at_the_later_Format()
    {
        using var project = TestProject.With("Name=\"code\" />", "Name=\"web\" Format=\"jsonl\" />");
        DiagnosticAssert.Error(project.Read(), "AFM1304", project.Locate("Format=\"jsonl\""));
    }

    [Fact]
    public void Files_of_one_name_with_different_extensions_are_AFM1304_at_the_later_Include()
    {
        using var project = TestProject.With(Corpora, Corpora + "\n    <Corpus Include=\"data/chat.jsonl\" Name=\"web\" />");
        project.WriteFile("data/chat.jsonl", "{\"text\":\"hi\"}\n");
        DiagnosticAssert.SingleError(project.Read(), "AFM1304", project.Locate("Include=\"data/chat.jsonl\""));
    }

    [Fact]
    public void An_unknown_format_is_AFM1305_at_Format()
    {
        using var project = TestProject.With("Name=\"code\" />", "Name=\"code\" Format=\"csv\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1305", project.Locate("Format=\"csv\""));
    }

    [Fact]
    public void An_eval_set_file_that_does_not_exist_is_AFM1302_at_Include()
    {
        using var project = TestProject.With("data/eval/*.txt", "data/eval/gone.txt");
        DiagnosticAssert.SingleError(project.Read(), "AFM1302", project.Locate("Include=\"data/eval/gone.txt\""));
    }

    [Fact]
    public void A_missing_file_written_with_backslashes_is_located_at_its_Include()
    {
        using var project = TestProject.With("data/code/**/*.cs", @"data\code\missing.cs");
        DiagnosticAssert.SingleError(project.Read(), "AFM1302", project.Locate(@"Include=""data\code\missing.cs"""));
    }

    [Fact]
    public void A_mistake_in_a_wildcard_declaration_is_reported_once_not_once_per_file()
    {
        using var project = TestProject.With("Name=\"web\" />", "Name=\"web\" Format=\"csv\" Fromat=\"text\" />");
        var result = project.Read();
        Assert.Equal(["AFM1006", "AFM1305"], result.Diagnostics.Select(d => d.Code));
        Assert.Contains("Format of Corpus 'web'", result.Diagnostics[1].Message);
    }

    [Fact]
    public void An_item_whose_defining_file_is_the_SDK_target_that_copied_it_is_still_located_in_the_project()
    {
        using var project = TestProject.With("data/code/**/*.cs", "data/code/missing.cs");
        var targets = project.WriteFile("sdk/Afm.Stages.targets", "<Project><Target Name=\"_AfmWriteProjectSnapshot\" /></Project>");
        var snapshot = project.Snapshot();
        snapshot = snapshot with { Items = snapshot.Items.Select(i => i with { DefiningFile = targets }).ToList() };
        var result = Afm.Core.Spec.ProjectSpecReader.Read(snapshot);
        DiagnosticAssert.SingleError(result, "AFM1302", project.Locate("Include=\"data/code/missing.cs\""));
    }

    [Fact]
    public void A_corpus_declared_in_an_imported_file_is_located_there()
    {
        using var project = TestProject.With(Corpora, "<Corpus Include=\"data/web/*.txt\" Name=\"web\" />");
        const string imported = """
            <Project>
              <ItemGroup>
                <Corpus Include="data/code/missing.cs" Name="code" />
              </ItemGroup>
            </Project>
            """;
        var importPath = project.WriteFile("corpora.props", imported);
        var snapshot = project.Snapshot();
        FakeSdkEvaluation.Evaluate(project.ProjectPath, definingFile: importPath, into: snapshot);
        var result = Afm.Core.Spec.ProjectSpecReader.Read(snapshot);
        DiagnosticAssert.SingleError(result, "AFM1302", TestProject.LocateIn(importPath, imported, "Include=\"data/code/missing.cs\""));
    }
}
