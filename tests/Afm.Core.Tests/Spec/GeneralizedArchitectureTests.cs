using Afm.Core.Spec;
using Afm.Core.Spec.Resources;

namespace Afm.Core.Tests.Spec;

/// <summary>
/// The generalized decoder's properties (specs/afmproj.md): HeadDim, AttentionBias, and OpenELM's layer-wise scaling
/// (LayerWiseScaling, QkvMultipliers, FfnMultipliers, GqaGroups, FfnDimDivisor) into ArchitectureSpec, with their diagnostics.
/// </summary>
public sealed class GeneralizedArchitectureTests
{
    private const string Uniform = "<Heads>8</Heads>\n    <KvHeads>2</KvHeads>";

    private static TestProject Scaled(string properties = "<HeadDim>32</HeadDim>") =>
        TestProject.With(Uniform, "<LayerWiseScaling>true</LayerWiseScaling>\n    " + properties);

    /// <summary>Apple's released configurations (config.json of OpenELM-270M, -450M and -1_1B): heads of every layer.</summary>
    [Theory]
    [InlineData(1280, 16, "12,12,12,12,12,16,16,16,16,16,16,16,20,20,20,20")]
    [InlineData(1536, 20, "12,12,12,16,16,16,16,16,16,16,20,20,20,20,20,20,24,24,24,24")]
    [InlineData(2048, 28, "16,16,16,20,20,20,20,20,20,20,24,24,24,24,24,24,24,24,28,28,28,28,28,28,32,32,32,32")]
    public void OpenELM_heads_follow_from_the_qkv_ramp_the_head_width_and_the_gqa_groups(int modelDim, int layers, string heads)
    {
        var shapes = LayerWiseScaling.Shapes(modelDim, layers, headDim: 64, [0.5, 1.0], [0.5, 4.0], gqaGroups: 4, ffnDimDivisor: 256);
        Assert.Equal(heads, string.Join(",", shapes.Select(s => s.Heads)));
        Assert.All(shapes, s => Assert.Equal(s.Heads / 4, s.KvHeads));
    }

    [Fact]
    public void OpenELM_ffn_widths_follow_from_the_ffn_ramp_rounded_by_make_divisible()
    {
        // OpenELM-450M (ModelDim 1536, 20 layers, FFN multipliers 0.5 to 4.0, divisor 256): its published intermediate widths.
        var shapes = LayerWiseScaling.Shapes(1536, 20, 64, [0.5, 1.0], [0.5, 4.0], 4, 256);
        Assert.Equal([768, 1024, 1280, 1536, 1792, 2304, 2560, 2816, 3072, 3328, 3584, 3840, 4096, 4352, 4608, 5120, 5376, 5632, 5888, 6144],
            shapes.Select(s => s.FfnDim));
    }

    [Theory]
    [InlineData(100, 8, 104)]  // 100 + 4 = 104, a multiple of 8
    [InlineData(13, 8, 16)]    // 17 // 8 * 8 = 16
    [InlineData(3, 8, 8)]      // never below the divisor
    [InlineData(153.6, 64, 192)] // 185.6 // 64 * 64 = 128 loses more than 10%: one divisor more
    public void Make_divisible_rounds_to_the_nearest_multiple_and_never_loses_more_than_10_percent(double value, long divisor, long expected) =>
        Assert.Equal(expected, LayerWiseScaling.MakeDivisible(value, divisor));

    [Fact]
    public void Layer_wise_scaling_gives_the_spec_each_layers_shape_with_the_largest_as_the_uniform_fields()
    {
        // ModelDim 256, 6 layers, HeadDim 32, qkv 0.5 to 1.0 -> 0.5, 0.6, 0.7, 0.8, 0.9, 1.0 x 256 = 128, 153.6, 179.2, 204.8,
        // 230.4, 256 made divisible by 32 x 2 = 64: 128, 192 (128 would lose more than 10%), 192, 192, 256, 256 -> 4, 6, 6, 6,
        // 8, 8 heads of 32, and half as many key/value heads; FFN 1.0 to 3.0 x 256 in multiples of 64.
        using var project = Scaled("<HeadDim>32</HeadDim>\n    <QkvMultipliers>0.5;1.0</QkvMultipliers>\n    <FfnMultipliers>1;3</FfnMultipliers>\n"
            + "    <GqaGroups>2</GqaGroups>\n    <FfnDimDivisor>64</FfnDimDivisor>");
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        var arch = result.Spec!.Architecture;
        Assert.Equal([4, 6, 6, 6, 8, 8], arch.LayerShapes!.Select(s => s.Heads));
        Assert.Equal([2, 3, 3, 3, 4, 4], arch.LayerShapes!.Select(s => s.KvHeads));
        // 1.0, 1.4, 1.8, 2.2, 2.6, 3.0 x 256 = 256, 358.4, 460.8, 563.2, 665.6, 768.
        Assert.Equal([256, 384, 448, 576, 640, 768], arch.LayerShapes!.Select(s => s.FfnDim));
        Assert.Equal((8, 4, 768, 32), (arch.Heads, arch.KvHeads, arch.FfnDim, arch.HeadDim));
        Assert.Equal(32, arch.ExplicitHeadDim);
        Assert.False(arch.IsUniform);
    }

    [Fact]
    public void Openelms_defaults_apply_to_what_is_not_set()
    {
        using var project = Scaled("<HeadDim>32</HeadDim>");
        var arch = project.Read().Spec!.Architecture;
        // qkv 0.5 to 1.0 over 6 layers in multiples of 32 x 4 (GqaGroups 4): 128, 256 x 5; FFN 0.5, 1.2, 1.9, 2.6, 3.3, 4.0 x 256
        // in multiples of 256 (FfnDimDivisor 256).
        Assert.Equal([4, 8, 8, 8, 8, 8], arch.LayerShapes!.Select(s => s.Heads));
        Assert.Equal([1, 2, 2, 2, 2, 2], arch.LayerShapes!.Select(s => s.KvHeads));
        Assert.Equal([256, 512, 512, 768, 768, 1024], arch.LayerShapes!.Select(s => s.FfnDim));
    }

    [Fact]
    public void Layer_wise_scaling_without_HeadDim_is_AFM1110_at_LayerWiseScaling()
    {
        using var project = TestProject.With(Uniform, "<LayerWiseScaling>true</LayerWiseScaling>");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1110", project.Locate("<LayerWiseScaling>"));
        Assert.Contains("<HeadDim>", error.Message);
    }

    [Theory]
    [InlineData("<Heads>8</Heads>", "<Heads>")]
    [InlineData("<KvHeads>2</KvHeads>", "<KvHeads>")]
    [InlineData("<FfnDim>512</FfnDim>", "<FfnDim>")]
    public void A_property_layer_wise_scaling_derives_is_AFM1111_at_that_property(string property, string at)
    {
        using var project = Scaled("<HeadDim>32</HeadDim>\n    " + property);
        DiagnosticAssert.SingleError(project.Read(), "AFM1111", project.Locate(at));
    }

    [Theory]
    [InlineData("0.5;1.0;2.0")]
    [InlineData("0.5;zero")]
    [InlineData("-1")]
    [InlineData(";")]
    [InlineData("1e300")]
    public void A_multiplier_list_that_is_not_one_or_two_positive_numbers_is_AFM1112(string text)
    {
        using var project = Scaled($"<HeadDim>32</HeadDim>\n    <FfnMultipliers>{text}</FfnMultipliers>");
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1112", project.Locate("<FfnMultipliers>"));
        Assert.Contains("0.5;4.0", error.Message);
    }

    [Theory]
    [InlineData("<Layers>6</Layers>", "<Layers>2000000000</Layers>", "<Layers>")]
    [InlineData("<ModelDim>256</ModelDim>", "<ModelDim>2000000000</ModelDim>", "<ModelDim>")]
    public void Sizes_beyond_any_sane_model_are_AFM1009_without_listing_their_layers(string find, string replace, string at)
    {
        using var project = new TestProject(TestProject.ValidXml.Replace(Uniform, "<LayerWiseScaling>true</LayerWiseScaling>\n    <HeadDim>2</HeadDim>")
            .Replace(find, replace));
        DiagnosticAssert.SingleError(project.Read(), "AFM1009", project.Locate(at));
    }

    [Fact]
    public void An_odd_HeadDim_is_AFM1113_at_HeadDim()
    {
        using var project = TestProject.With(Uniform, Uniform + "\n    <HeadDim>33</HeadDim>");
        DiagnosticAssert.SingleError(project.Read(), "AFM1113", project.Locate("<HeadDim>"));
    }

    [Theory]
    [InlineData("<QkvMultipliers>0.5;1.0</QkvMultipliers>", "<QkvMultipliers>")]
    [InlineData("<GqaGroups>4</GqaGroups>", "<GqaGroups>")]
    public void A_layer_wise_scaling_property_without_LayerWiseScaling_is_AFM1114(string property, string at)
    {
        using var project = TestProject.With(Uniform, Uniform + "\n    " + property);
        var error = DiagnosticAssert.SingleError(project.Read(), "AFM1114", project.Locate(at));
        Assert.Contains("<LayerWiseScaling>true</LayerWiseScaling>", error.Message);
    }

    [Fact]
    public void HeadDim_of_a_uniform_model_need_not_be_ModelDim_over_Heads()
    {
        // Qwen3-style: 8 heads of 48 on a 256-wide model (8 x 48 = 384); Heads need not divide ModelDim then.
        using var project = TestProject.With(Uniform, "<Heads>6</Heads>\n    <KvHeads>2</KvHeads>\n    <HeadDim>48</HeadDim>\n    <AttentionBias>true</AttentionBias>");
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        var arch = result.Spec!.Architecture;
        Assert.Equal((48, 6, true, true), (arch.HeadDim, arch.Heads, arch.AttentionBias, arch.IsUniform));
        Assert.Null(arch.LayerShapes);
    }

    [Fact]
    public void A_uniform_project_without_the_new_properties_keeps_its_spec()
    {
        var arch = new TestProject().Read().Spec!.Architecture;
        Assert.Equal((null, false, (IReadOnlyList<LayerShape>?)null, 32), (arch.ExplicitHeadDim, arch.AttentionBias, arch.LayerShapes, arch.HeadDim));
    }

    [Fact]
    public void An_architecture_built_in_code_says_why_no_decoder_can_have_it()
    {
        var arch = new TestProject().Read().Spec!.Architecture;
        Assert.Null(arch.Inconsistency());
        Assert.Contains("5 layer shapes for 6 layers", (arch with { LayerShapes = Enumerable.Repeat(new LayerShape(8, 2, 512), 5).ToList() }).Inconsistency());
        Assert.Contains("layer 2 has 8 heads, 3 key/value heads", (arch with
        {
            LayerShapes = Enumerable.Range(0, 6).Select(i => new LayerShape(8, i == 2 ? 3 : 2, 512)).ToList(),
        }).Inconsistency());
        Assert.Contains("must be even", (arch with { ExplicitHeadDim = 7 }).Inconsistency());
        Assert.Contains("must divide ModelDim", (arch with { Heads = 6 }).Inconsistency());
        Assert.Null((arch with { Heads = 6, ExplicitHeadDim = 48 }).Inconsistency());
    }

    [Fact]
    public void The_parameter_estimate_counts_each_layers_shape_the_head_width_and_the_biases()
    {
        var uniform = new ModelShape(64, 2, 4, 2, 128, 100, true, false, 16);
        // 100 x 64 embedding + 2 x (2 x 64 x 64 + 2 x 64 x 32 + 3 x 64 x 128 + 2 x 64) + 64.
        Assert.Equal(6400 + 2 * (8192 + 4096 + 24576 + 128) + 64, ResourceEstimate.Parameters(uniform));
        var generalized = uniform with
        {
            ExplicitHeadDim = 8, AttentionBias = true, LayerShapes = [new LayerShape(2, 1, 64), new LayerShape(4, 2, 128)],
        };
        // Layer 0: q 16 wide, kv 8: 2 x 64 x 16 + 2 x 64 x 8 + 3 x 64 x 64 + 128 + biases 16 + 16; layer 1: q 32, kv 16.
        double layer0 = 2048 + 1024 + 12288 + 128 + 32, layer1 = 4096 + 2048 + 24576 + 128 + 64;
        Assert.Equal(6400 + layer0 + layer1 + 64, ResourceEstimate.Parameters(generalized));
    }
}
