namespace Afm.Core.Tests.Spec;

public sealed class StageDiagnosticsTests
{
    private const string Context = "<TrainingStage Include=\"context\" Tokens=\"300k\" SequenceLength=\"1024\" RopeBase=\"6315089\" />";

    [Fact]
    public void A_project_without_a_stage_is_AFM1401_on_the_project_file()
    {
        using var project = TestProject.With("<TrainingStage Include=\"core\" Tokens=\"4M\" SequenceLength=\"256\" LearningRate=\"0.01\" Mix=\"web=3;code=1\" />", "");
        var withoutCore = project.Xml;
        using var empty = new TestProject(withoutCore.Replace(Context, ""));
        DiagnosticAssert.SingleError(empty.Read(), "AFM1401", Afm.Core.Diagnostics.SourceLocation.FileOnly(empty.ProjectPath));
    }

    [Theory]
    [InlineData("finetune")]
    [InlineData("rlhf")]
    public void An_unknown_stage_kind_is_AFM1402_at_Kind(string kind)
    {
        using var project = TestProject.With("Include=\"core\"", $"Include=\"core\" Kind=\"{kind}\"");
        DiagnosticAssert.SingleError(project.Read(), "AFM1402", project.Locate("Kind="));
    }

    [Fact]
    public void A_duplicate_stage_name_is_AFM1403_at_the_second_Include()
    {
        using var project = TestProject.With("Include=\"context\"", "Include=\"core\"");
        DiagnosticAssert.SingleError(project.Read(), "AFM1403", project.Locate("Include=\"core\"", occurrence: 2));
    }

    [Theory]
    [InlineData("4MM")]
    [InlineData("4 million")]
    [InlineData("-4M")]
    public void Unparsable_Tokens_are_AFM1002_at_Tokens(string tokens)
    {
        using var project = TestProject.With("Tokens=\"4M\"", $"Tokens=\"{tokens}\"");
        DiagnosticAssert.SingleError(project.Read(), "AFM1002", project.Locate("Tokens=\"" + tokens));
    }

    [Theory]
    [InlineData("0k")]
    [InlineData("1.0005k")]
    [InlineData("99999999999999999999999G")]
    public void Tokens_that_are_zero_fractional_or_too_many_are_AFM1003(string tokens)
    {
        using var project = TestProject.With("Tokens=\"4M\"", $"Tokens=\"{tokens}\"");
        DiagnosticAssert.SingleError(project.Read(), "AFM1003", project.Locate("Tokens=\"" + tokens));
    }

    [Fact]
    public void Unparsable_metadata_written_as_a_child_element_is_reported_at_that_element()
    {
        using var project = TestProject.With(Context, """
            <TrainingStage Include="context">
                  <Tokens>4MM</Tokens>
                  <SequenceLength>1024</SequenceLength>
                </TrainingStage>
            """);
        DiagnosticAssert.SingleError(project.Read(), "AFM1002", project.Locate("<Tokens>"));
    }

    [Fact]
    public void A_learning_rate_that_is_not_a_number_is_AFM1002_at_LearningRate()
    {
        using var project = TestProject.With("LearningRate=\"0.01\"", "LearningRate=\"fast\"");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1002", project.Locate("LearningRate="));
        Assert.Contains("LearningRate of TrainingStage 'core'", error.Message);
    }

    [Fact]
    public void A_stage_without_Tokens_is_AFM1007_at_the_element()
    {
        using var project = TestProject.With(" Tokens=\"300k\"", "");
        DiagnosticAssert.SingleError(project.Read(), "AFM1007", project.Locate("<TrainingStage Include=\"context\""));
    }

    [Fact]
    public void A_sequence_longer_than_MaxSequenceLength_is_AFM1404_at_SequenceLength()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>6</Layers><MaxSequenceLength>512</MaxSequenceLength>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1404", project.Locate("SequenceLength=\"1024\""));
    }

    [Fact]
    public void Mix_without_name_equals_weight_is_AFM1405_at_Mix()
    {
        using var project = TestProject.With("Mix=\"web=3;code=1\"", "Mix=\"web:3\"");
        DiagnosticAssert.SingleError(project.Read(), "AFM1405", project.Locate("Mix="));
    }

    [Fact]
    public void Mix_naming_an_unknown_corpus_is_AFM1406_at_Mix()
    {
        using var project = TestProject.With("Mix=\"web=3;code=1\"", "Mix=\"web=3;books=1\"");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1406", project.Locate("Mix="));
        Assert.Contains("'books'", error.Message);
    }

    [Fact]
    public void Mix_with_a_non_positive_weight_is_AFM1407_at_Mix()
    {
        using var project = TestProject.With("Mix=\"web=3;code=1\"", "Mix=\"web=3;code=0\"");
        DiagnosticAssert.SingleError(project.Read(), "AFM1407", project.Locate("Mix="));
    }

    [Fact]
    public void Mix_naming_a_corpus_twice_is_AFM1408_at_Mix()
    {
        using var project = TestProject.With("Mix=\"web=3;code=1\"", "Mix=\"web=3;code=1;web=1\"");
        DiagnosticAssert.SingleError(project.Read(), "AFM1408", project.Locate("Mix="));
    }

    [Fact]
    public void An_unknown_schedule_is_AFM1409_at_Schedule()
    {
        using var project = TestProject.With("Include=\"core\"", "Include=\"core\" Schedule=\"step\"");
        DiagnosticAssert.SingleError(project.Read(), "AFM1409", project.Locate("Schedule="));
    }

    [Fact]
    public void A_warmup_as_long_as_the_stage_is_warning_AFM1410()
    {
        // The context stage has 36 steps.
        using var project = TestProject.With("RopeBase=\"6315089\"", "RopeBase=\"6315089\" Warmup=\"36\"");
        var result = project.Read();
        Assert.NotNull(result.Spec);
        var warning = Assert.Single(result.Diagnostics);
        Assert.Equal(("AFM1410", project.Locate("Warmup=")), (warning.Code, warning.Location));
    }
}
