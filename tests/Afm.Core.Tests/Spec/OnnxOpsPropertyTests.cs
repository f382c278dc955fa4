using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>AfmOnnxOps: which operators the exported graph uses; standard unless the project asks for fused.</summary>
public sealed class OnnxOpsPropertyTests
{
    [Fact]
    public void Without_the_property_the_graph_is_standard()
    {
        using var project = new TestProject();
        Assert.Equal(OnnxOps.Standard, project.Read().Spec!.OnnxOps);
    }

    [Fact]
    public void Fused_is_taken_when_asked_for_and_the_head_width_allows_it()
    {
        using var project = TestProject.With("<Heads>8</Heads>", "<Heads>8</Heads>\n    <AfmOnnxOps>fused</AfmOnnxOps>"); // width 256/8 = 32
        Assert.Equal(OnnxOps.Fused, project.Read().Spec!.OnnxOps);
    }

    [Fact]
    public void An_unknown_value_is_AFM1035_at_the_property()
    {
        using var project = TestProject.With("<Heads>8</Heads>", "<Heads>8</Heads>\n    <AfmOnnxOps>contrib</AfmOnnxOps>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1035", project.Locate("<AfmOnnxOps>"));
    }

    [Fact]
    public void Fused_with_a_head_width_that_is_not_a_multiple_of_8_is_AFM1036_at_the_property()
    {
        using var project = TestProject.With("<Heads>8</Heads>", "<Heads>8</Heads>\n    <HeadDim>12</HeadDim>\n    <AfmOnnxOps>fused</AfmOnnxOps>");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1036", project.Locate("<AfmOnnxOps>"));
        Assert.Contains("12", error.Message);
    }
}
