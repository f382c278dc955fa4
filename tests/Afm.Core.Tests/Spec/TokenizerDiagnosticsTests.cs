namespace Afm.Core.Tests.Spec;

public sealed class TokenizerDiagnosticsTests
{
    private const string Tokenizer = "<Tokenizer Include=\"bpe\" VocabSize=\"4096\" SpecialTokens=\"&lt;bos&gt;;&lt;eos&gt;\" />";

    [Fact]
    public void A_project_without_a_tokenizer_is_AFM1201_on_the_project_file()
    {
        using var project = TestProject.With(Tokenizer, "");
        DiagnosticAssert.SingleError(project.Read(), "AFM1201", Afm.Core.Diagnostics.SourceLocation.FileOnly(project.ProjectPath));
    }

    [Fact]
    public void A_second_tokenizer_is_AFM1202_at_the_second_element()
    {
        using var project = TestProject.With(Tokenizer, Tokenizer + "\n    <Tokenizer Include=\"bpe\" VocabSize=\"512\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1202", project.Locate("<Tokenizer", occurrence: 2));
    }

    [Fact]
    public void An_unknown_tokenizer_kind_is_AFM1203_at_Include()
    {
        using var project = TestProject.With("Include=\"bpe\"", "Include=\"unigram\"");
        DiagnosticAssert.SingleError(project.Read(), "AFM1203", project.Locate("Include=\"unigram\""));
    }

    [Fact]
    public void A_vocabulary_without_room_for_bytes_special_tokens_and_a_merge_is_AFM1204_at_VocabSize()
    {
        // 256 bytes + 2 special tokens + 1 merge = 259.
        using var project = TestProject.With("VocabSize=\"4096\"", "VocabSize=\"258\"");
        DiagnosticAssert.SingleError(project.Read(), "AFM1204", project.Locate("VocabSize="));
    }

    [Fact]
    public void The_smallest_vocabulary_that_fits_is_accepted()
    {
        using var project = TestProject.With("VocabSize=\"4096\"", "VocabSize=\"259\"");
        Assert.Equal(259, project.Read().Spec!.Architecture.VocabSize);
    }

    [Fact]
    public void A_tokenizer_without_VocabSize_is_AFM1007_at_the_element()
    {
        using var project = TestProject.With(" VocabSize=\"4096\"", "");
        DiagnosticAssert.SingleError(project.Read(), "AFM1007", project.Locate("<Tokenizer"));
    }

    [Fact]
    public void A_special_token_listed_twice_is_AFM1205()
    {
        using var project = TestProject.With("&lt;bos&gt;;&lt;eos&gt;", "&lt;bos&gt;;&lt;bos&gt;");
        DiagnosticAssert.SingleError(project.Read(), "AFM1205", project.Locate("SpecialTokens="));
    }

    [Fact]
    public void Unknown_metadata_is_warning_AFM1006_and_the_spec_is_still_produced()
    {
        using var project = TestProject.With("VocabSize=\"4096\"", "VocabSize=\"4096\" VocabSise=\"8192\"");
        var result = project.Read();
        Assert.NotNull(result.Spec);
        var warning = Assert.Single(result.Diagnostics);
        Assert.Equal(("AFM1006", false, project.Locate("VocabSise")), (warning.Code, warning.IsError, warning.Location));
    }
}
