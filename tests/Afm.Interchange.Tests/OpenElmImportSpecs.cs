using Afm.Interchange.HuggingFace;

namespace Afm.Interchange.Tests;

/// <summary>OpenELM's layer-wise scaling and fused projections, read by configuration_openelm.py's and modeling_openelm.py's rules.</summary>
public sealed class OpenElmImportSpecs
{
    [Fact]
    public void Per_layer_heads_and_ffn_widths_follow_configuration_openelm()
    {
        var folder = OpenElmFixture.Write(HfFixture.NewFolder("openelm"), seed: 1);
        var a = HfConfig.Read(folder).Architecture;
        Assert.NotNull(a.LayerShapes);
        Assert.Equal(OpenElmFixture.Layers.Select(l => (l.Q, l.Kv, l.Ffn)), a.LayerShapes!.Select(s => (s.Heads, s.KvHeads, s.FfnDim)));
        Assert.Equal(8, a.HeadDim);
        Assert.Equal((4, 2, 64), (a.Heads, a.KvHeads, a.FfnDim));
        Assert.False(a.IsUniform);
        Assert.True(a.QkNorm);
        Assert.True(a.TieEmbeddings);
        Assert.Equal(1e-6, a.NormEpsilon);
        Assert.Equal(2048, a.MaxSequenceLength);
    }

    [Fact]
    public void The_fused_qkv_splits_into_query_then_key_then_value_rows()
    {
        var folder = OpenElmFixture.Write(HfFixture.NewFolder("openelm-qkv"), seed: 2);
        var fused = OpenElmFixture.Tensors(new Random(2)).Single(t => t.Name == "transformer.layers.1.attn.qkv_proj.weight").Values;
        using var checkpoint = HfCheckpoint.Open(folder);
        // Layer 1: 4 query heads, 2 key heads, 2 value heads of width 8, rows of 32: q = rows 0..31, k = 32..47, v = 48..63.
        Assert.Equal(fused[..(32 * 32)], checkpoint.ReadTensor("layers.1.attn.q_proj.weight"));
        Assert.Equal(fused[(32 * 32)..(48 * 32)], checkpoint.ReadTensor("layers.1.attn.k_proj.weight"));
        Assert.Equal(fused[(48 * 32)..], checkpoint.ReadTensor("layers.1.attn.v_proj.weight"));
    }

    [Fact]
    public void Proj_1_splits_into_the_gate_half_then_the_up_half()
    {
        var folder = OpenElmFixture.Write(HfFixture.NewFolder("openelm-ffn"), seed: 3, tied: false);
        var fused = OpenElmFixture.Tensors(new Random(3), tied: false).Single(t => t.Name == "transformer.layers.2.ffn.proj_1.weight").Values;
        using var checkpoint = HfCheckpoint.Open(folder);
        // y_1, y_2 = proj_1(x).chunk(2): act(y_1) is the gate; FFN width 64 at layer 2.
        Assert.Equal(fused[..(64 * 32)], checkpoint.ReadTensor("layers.2.mlp.gate_proj.weight"));
        Assert.Equal(fused[(64 * 32)..], checkpoint.ReadTensor("layers.2.mlp.up_proj.weight"));
        Assert.Contains(checkpoint.Map.OurTensors, p => p.Name == "lm_head.weight");
    }

    [Theory]
    [InlineData(0.5 * 32, 16, 16)]
    [InlineData(1.25 * 32, 16, 48)]
    [InlineData(2.0 * 32, 16, 64)]
    [InlineData(0.5 * 1280, 256, 768)]   // OpenELM-270M's first FFN: 640 rounds up to 768 (never 10% below)
    [InlineData(4.0 * 1280, 256, 5120)]
    [InlineData(0.5 * 1280, 128, 640)]   // its first attention layer: 640 query dims with head_dim 64 x 2 groups
    public void Make_divisible_rounds_as_the_reference_does(double value, int divisor, int expected) =>
        Assert.Equal(expected, Afm.Core.Spec.LayerWiseScaling.MakeDivisible(value, divisor));
}
