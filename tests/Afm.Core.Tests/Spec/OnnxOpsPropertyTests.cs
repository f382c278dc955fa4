using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>AfmOnnxOps: which operators the exported graph uses; fused by default where GroupQueryAttention runs the head width.</summary>
public sealed class OnnxOpsPropertyTests
{
    [Fact]
    public void Without_the_property_a_head_width_that_is_a_multiple_of_8_gets_the_fused_graph()
    {
        using var project = new TestProject(); // ModelDim 256, Heads 8: width 32
        Assert.Equal(OnnxOps.Fused, project.Read().Spec!.OnnxOps);
    }

    [Fact]
    public void Without_the_property_a_head_width_GroupQueryAttention_cannot_run_gets_the_standard_graph()
    {
        using var project = TestProject.With("<Heads>8</Heads>", "<Heads>8</Heads>\n    <HeadDim>12</HeadDim>");
        Assert.Equal(OnnxOps.Standard, project.Read().Spec!.OnnxOps);
    }

    [Fact]
    public void Standard_is_kept_when_asked_for()
    {
        using var project = TestProject.With("<Heads>8</Heads>", "<Heads>8</Heads>\n    <AfmOnnxOps>standard</AfmOnnxOps>");
        Assert.Equal(OnnxOps.Standard, project.Read().Spec!.OnnxOps);
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
