using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

public sealed class DataCleaningMetadataTests
{
    private const string EvalSet = "<EvalSet Include=\"data/eval/*.txt\" />";

    [Fact]
    public void Without_metadata_the_AFM_report_defaults_apply()
    {
        using var project = new TestProject();
        var spec = project.Read().Spec!;
        Assert.All(spec.Corpora, c => Assert.Equal(0.8, c.NearDuplicateThreshold));
        var evalSet = Assert.Single(spec.EvalSets);
        Assert.Equal((4, 13, 1000), (evalSet.DecontaminationMinN, evalSet.DecontaminationMaxN, evalSet.CommonNGramThreshold));
    }

    [Fact]
    public void Cleaning_metadata_is_read_into_the_spec()
    {
        using var project = TestProject.With(EvalSet, "<EvalSet Include=\"data/eval/*.txt\" DecontaminationNGrams=\"8-20\" CommonNGramThreshold=\"50\" />");
        var spec = project.Read().Spec!;
        var evalSet = Assert.Single(spec.EvalSets);
        Assert.Equal((8, 20, 50), (evalSet.DecontaminationMinN, evalSet.DecontaminationMaxN, evalSet.CommonNGramThreshold));
    }

    [Fact]
    public void A_single_n_means_that_length_only()
    {
        using var project = TestProject.With(EvalSet, "<EvalSet Include=\"data/eval/*.txt\" DecontaminationNGrams=\"13\" />");
        var evalSet = Assert.Single(project.Read().Spec!.EvalSets);
        Assert.Equal((13, 13), (evalSet.DecontaminationMinN, evalSet.DecontaminationMaxN));
    }

    [Theory]
    [InlineData("13-4")]
    [InlineData("0-5")]
    [InlineData("4..13")]
    [InlineData("4-65")]
    public void A_bad_n_gram_range_is_AFM1350_at_the_attribute(string range)
    {
        using var project = TestProject.With(EvalSet, $"<EvalSet Include=\"data/eval/*.txt\" DecontaminationNGrams=\"{range}\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1350", project.Locate("DecontaminationNGrams="));
    }

    [Theory]
    [InlineData("0")]
    [InlineData("1.5")]
    public void A_near_duplicate_threshold_outside_0_to_1_is_AFM1003(string threshold)
    {
        using var project = TestProject.With("Name=\"web\" />", $"Name=\"web\" NearDuplicateThreshold=\"{threshold}\" />");
        DiagnosticAssert.SingleError(project.Read(), "AFM1003", project.Locate("NearDuplicateThreshold="));
    }

    [Fact]
    public void Items_of_one_corpus_disagreeing_on_the_threshold_are_AFM1304()
    {
        using var project = TestProject.With("<Corpus Include=\"data/web/*.txt\" Name=\"web\" />",
            "<Corpus Include=\"data/web/*.txt\" Name=\"web\" NearDuplicateThreshold=\"0.9\" />\n    <Corpus Include=\"data/extra.txt\" Name=\"web\" NearDuplicateThreshold=\"0.7\" />");
        project.WriteFile("data/extra.txt", "More text.");
        DiagnosticAssert.Error(project.Read(), "AFM1304", project.Locate("NearDuplicateThreshold=\"0.7\""));
    }

    [Fact]
    public void Cleaning_metadata_is_not_unknown_metadata()
    {
        using var project = TestProject.With("Name=\"web\" />", "Name=\"web\" NearDuplicateThreshold=\"0.9\" />");
        var result = project.Read();
        Assert.DoesNotContain(result.Diagnostics, d => d.Code == "AFM1006");
        Assert.Equal(0.9, result.Spec!.Corpora.Single(c => c.Name == "web").NearDuplicateThreshold);
    }
}
