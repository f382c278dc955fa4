using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>AfmExportFormats and AfmGgufTypes: the runtime formats written beside the package.</summary>
public sealed class ExportFormatsTests
{
    [Fact]
    public void No_format_is_written_by_default_and_every_gguf_type_is_listed()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>6</Layers>");
        var spec = project.Read().Spec!;
        Assert.Empty(spec.Exports.Formats);
        Assert.Equal(["f32", "f16", "q8_0", "q4_0"], spec.Exports.GgufTypes);
    }

    [Fact]
    public void Formats_are_read_case_insensitively_in_one_order_whatever_order_they_are_written_in()
    {
        using var project = TestProject.With("<Layers>6</Layers>",
            "<Layers>6</Layers><AfmExportFormats> GenAI;gguf;;genai </AfmExportFormats><AfmGgufTypes>Q8_0;f32</AfmGgufTypes>");
        var spec = project.Read().Spec!;
        Assert.Equal([ExportFormatNames.Gguf, ExportFormatNames.GenAI], spec.Exports.Formats);
        Assert.Equal(["f32", "q8_0"], spec.Exports.GgufTypes);
    }

    [Fact]
    public void An_unknown_format_is_AFM6103_at_the_property()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>6</Layers><AfmExportFormats>gguf;mlx</AfmExportFormats>");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM6103", project.Locate("<AfmExportFormats>"));
        Assert.Contains("'mlx'", error.Message);
    }

    [Fact]
    public void An_unknown_gguf_type_is_AFM6104_at_the_property()
    {
        using var project = TestProject.With("<Layers>6</Layers>", "<Layers>6</Layers><AfmGgufTypes>q4_k</AfmGgufTypes>");
        DiagnosticAssert.SingleError(project.Read(), "AFM6104", project.Locate("<AfmGgufTypes>"));
    }
}
