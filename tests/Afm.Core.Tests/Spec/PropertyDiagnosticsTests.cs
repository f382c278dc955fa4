using Afm.Core.Diagnostics;

namespace Afm.Core.Tests.Spec;

/// <summary>Mistakes in the model's properties, each reported at the property's last definition.</summary>
public sealed class PropertyDiagnosticsTests
{
    [Theory]
    [InlineData("ModelDim", "<ModelDim>256</ModelDim>")]
    [InlineData("Layers", "<Layers>6</Layers>")]
    [InlineData("Heads", "<Heads>8</Heads>")]
    public void A_missing_required_property_is_AFM1001_on_the_project_file(string property, string definition)
    {
        using var project = TestProject.With(definition, "");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1001", SourceLocation.FileOnly(project.ProjectPath));
        Assert.Contains($"<{property}>", error.Message);
    }

    [Fact]
    public void A_negative_layer_count_is_AFM1003_at_the_property()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>-2</Layers>");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1003", project.Locate("<Layers>"));
        Assert.Equal("Layers is -2, but it must be greater than 0.", error.Message);
    }

    [Theory]
    [InlineData("+1")]
    [InlineData(" 6 ")]
    [InlineData("6.0")]
    [InlineData("1_000")]
    public void A_whole_number_that_is_not_digits_only_is_AFM1002(string text)
    {
        using var project = TestProject.With("<Layers>6</Layers>", $"<Layers>{text}</Layers>");
        var result = project.Read();
        if (text.Trim() == "6") { Assert.True(result.Succeeded); return; } // MSBuild trims property values; so do we
        DiagnosticAssert.SingleError(result, "AFM1002", project.Locate("<Layers>"));
    }

    [Fact]
    public void An_unparsable_property_is_AFM1002()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>six</Layers>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1002", project.Locate("<Layers>"));
    }

    [Fact]
    public void A_property_defined_twice_is_reported_at_its_last_definition()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>6</Layers>\n    <Layers>0</Layers>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1003", project.Locate("<Layers>", occurrence: 2));
    }

    [Fact]
    public void Heads_not_dividing_ModelDim_is_AFM1101_at_Heads()
    {
        using var project = TestProject.With("<Heads>8</Heads>", "<Heads>6</Heads>");
        // KvHeads (2) still divides 6, so this is the only error.
        DiagnosticAssert.SingleError(project.Read(), "AFM1101", project.Locate("<Heads>"));
    }

    [Fact]
    public void KvHeads_not_dividing_Heads_is_AFM1102_at_KvHeads()
    {
        using var project = TestProject.With("<KvHeads>2</KvHeads>", "<KvHeads>3</KvHeads>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1102", project.Locate("<KvHeads>"));
    }

    [Fact]
    public void An_odd_head_dimension_is_AFM1103_because_RoPE_rotates_pairs()
    {
        // 264 / 8 = 33.
        using var project = TestProject.With("<ModelDim>256</ModelDim>", "<ModelDim>264</ModelDim>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1103", project.Locate("<Heads>"));
    }

    [Fact]
    public void A_version_that_is_not_SemVer_is_AFM1005()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>6</Layers><Version>1.0</Version>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1005", project.Locate("<Version>"));
    }

    [Fact]
    public void A_model_name_unfit_for_a_file_name_is_AFM1008()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>6</Layers><ModelName>my/model</ModelName>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1008", project.Locate("<ModelName>"));
    }

    [Fact]
    public void A_validation_fraction_above_one_half_is_AFM1003()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>6</Layers><ValidationFraction>0.6</ValidationFraction>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1003", project.Locate("<ValidationFraction>"));
    }

    [Fact]
    public void A_boolean_that_is_not_true_or_false_is_AFM1004()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>6</Layers><QkNorm>yes</QkNorm>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1004", project.Locate("<QkNorm>"));
    }

    [Fact]
    public void Numbers_use_the_invariant_culture_so_a_decimal_comma_is_AFM1002()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>6</Layers><NormEpsilon>0,00001</NormEpsilon>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1002", project.Locate("<NormEpsilon>"));
    }
}
