using System.Buffers.Binary;
using Afm.Interchange.Gguf;
using Xunit;

namespace Afm.Interchange.Tests;

/// <summary>The GGUF container and ggml's block formats against their published rules, on hand-computed cases.</summary>
public sealed class GgufFormatTests
{
    [Fact]
    public void Q8_0_block_is_fp16_scale_then_rounded_int8()
    {
        var x = new float[32];
        x[0] = 1.27f; x[1] = -0.635f; x[2] = 0.005f; x[3] = -1.27f;
        var block = GgmlBlocks.Encode(GgmlType.Q8_0, x);
        Assert.Equal(34, block.Length);
        float d = (float)BinaryPrimitives.ReadHalfLittleEndian(block);
        Assert.Equal((float)(Half)(1.27f / 127f), d);
        // 1.27/d = 127, -0.635/d = -63.5 -> -64 (half away from zero), 0.005/d = 0.5 -> 1.
        Assert.Equal([127, -64, 1, -127], block.Skip(2).Take(4).Select(b => (int)(sbyte)b));
        Assert.All(block.Skip(6), b => Assert.Equal(0, b));
    }

    [Fact]
    public void Q4_0_block_scales_by_the_signed_extreme_and_packs_j_with_j_plus_16()
    {
        var x = new float[32];
        x[0] = -8f;   // largest magnitude, negative: d = -8 / -8 = 1
        x[1] = 3f;    // 3 + 8.5 = 11.5 -> 11
        x[16] = 7.4f; // 15.9 -> 15
        x[17] = -2f;  // 6.5 -> 6
        var block = GgmlBlocks.Encode(GgmlType.Q4_0, x);
        Assert.Equal(18, block.Length);
        Assert.Equal(1f, (float)BinaryPrimitives.ReadHalfLittleEndian(block));
        Assert.Equal(0 | (15 << 4), block[2]);   // x[0] -> 0, x[16] -> 15
        Assert.Equal(11 | (6 << 4), block[3]);   // x[1] -> 11, x[17] -> 6
        Assert.Equal(8 | (8 << 4), block[4]);    // zeros -> 8
        var back = GgmlBlocks.Decode(GgmlType.Q4_0, block, 32);
        Assert.Equal([-8f, 3f], back.Take(2));
        Assert.Equal([7f, -2f], back.Skip(16).Take(2));
    }

    [Fact]
    public void Positive_extreme_gives_a_negative_Q4_0_scale()
    {
        var x = new float[32];
        x[5] = 4f;
        var block = GgmlBlocks.Encode(GgmlType.Q4_0, x);
        Assert.Equal(-0.5f, (float)BinaryPrimitives.ReadHalfLittleEndian(block));
        Assert.Equal(4f, GgmlBlocks.Decode(GgmlType.Q4_0, block, 32)[5]);
    }

    [Fact]
    public void Written_file_reads_back_with_aligned_tensors_and_every_value()
    {
        var a = GgmlBlocks.Encode(GgmlType.F32, [1f, 2f, 3f]);
        var b = GgmlBlocks.Encode(GgmlType.F16, Enumerable.Range(0, 64).Select(i => i / 8f).ToArray());
        var stream = new MemoryStream();
        GgufWriter.Write(stream,
            [new("general.architecture", GgufValue.Of("llama")), new("x.count", GgufValue.Of(7u)), new("x.list", GgufValue.Of(new[] { "a", "bc" })),
             new("x.flag", GgufValue.Of(true)), new("x.eps", GgufValue.Of(1e-5f)), new("x.ids", GgufValue.Of(new[] { 1, -2 }))],
            [new GgufTensor("a", [3], GgmlType.F32, a), new GgufTensor("b", [32, 2], GgmlType.F16, b)]);
        var bytes = stream.ToArray();
        Assert.Equal(GgufFormat.Magic, BinaryPrimitives.ReadUInt32LittleEndian(bytes));
        Assert.Equal(3u, BinaryPrimitives.ReadUInt32LittleEndian(bytes.AsSpan(4)));
        stream.Position = 0;
        var file = GgufReader.Read(stream);
        Assert.Equal("llama", file.Metadata["general.architecture"].Value);
        Assert.Equal(7u, file.Metadata["x.count"].Value);
        Assert.Equal(["a", "bc"], (string[])file.Metadata["x.list"].Value);
        Assert.Equal(true, file.Metadata["x.flag"].Value);
        Assert.Equal([1, -2], (int[])file.Metadata["x.ids"].Value);
        Assert.Equal(a, file.Tensor("a").Data);
        Assert.Equal(b, file.Tensor("b").Data);
        Assert.Equal(0, bytes.Length % GgufFormat.Alignment);
    }

    [Theory]
    [InlineData("embed.weight", "token_embd.weight")]
    [InlineData("lm_head.weight", "output.weight")]
    [InlineData("norm.weight", "output_norm.weight")]
    [InlineData("layers.3.attn.q_proj.weight", "blk.3.attn_q.weight")]
    [InlineData("layers.0.attn.k_proj.bias", "blk.0.attn_k.bias")]
    [InlineData("layers.11.attn.o_proj.weight", "blk.11.attn_output.weight")]
    [InlineData("layers.1.attn.k_norm.weight", "blk.1.attn_k_norm.weight")]
    [InlineData("layers.2.mlp_norm.weight", "blk.2.ffn_norm.weight")]
    [InlineData("layers.2.mlp.down_proj.weight", "blk.2.ffn_down.weight")]
    public void Names_map_both_ways(string ours, string gguf)
    {
        Assert.Equal(gguf, GgufNames.ToGguf(ours));
        Assert.Equal(ours, GgufNames.FromGguf(gguf));
    }

    [Fact]
    public void Llama_rows_pair_i_with_i_plus_half_head_adjacently()
    {
        // One head of 4 rows (x 1 column): rotate-half pairs (0,2) and (1,3) become (0,1) and (2,3).
        Assert.Equal([10f, 12f, 11f, 13f], GgufArchitecture.Llama.OrderRows([10f, 11f, 12f, 13f], heads: 1, headDim: 4));
        Assert.Equal([10f, 11f, 12f, 13f], GgufArchitecture.Qwen3.OrderRows([10f, 11f, 12f, 13f], heads: 1, headDim: 4));
    }

    [Fact]
    public void Projections_take_the_file_type_norms_stay_f32_and_the_Q4_0_output_is_Q8_0()
    {
        Assert.Equal(GgmlType.F32, GgufModelWriter.TypeOf("blk.0.attn_norm.weight", [64], GgmlType.Q4_0, hasOutput: false));
        Assert.Equal(GgmlType.Q4_0, GgufModelWriter.TypeOf("blk.0.attn_q.weight", [64, 64], GgmlType.Q4_0, hasOutput: false));
        Assert.Equal(GgmlType.Q8_0, GgufModelWriter.TypeOf("token_embd.weight", [64, 300], GgmlType.Q4_0, hasOutput: false));
        Assert.Equal(GgmlType.Q4_0, GgufModelWriter.TypeOf("token_embd.weight", [64, 300], GgmlType.Q4_0, hasOutput: true));
        Assert.Equal(GgmlType.F16, GgufModelWriter.TypeOf("blk.0.ffn_down.weight", [40, 64], GgmlType.Q8_0, hasOutput: true));
    }

    [Fact]
    public void Per_layer_shapes_are_refused_with_a_stable_code()
    {
        var spec = new Afm.Core.Spec.ArchitectureSpec
        {
            ModelDim = 64, Layers = 2, Heads = 4, KvHeads = 2, FfnDim = 96, VocabSize = 300, RopeBase = 10_000,
            TieEmbeddings = true, QkNorm = true, MaxSequenceLength = 128, NormEpsilon = 1e-5, ExplicitHeadDim = 16,
            LayerShapes = [new(2, 1, 64), new(4, 2, 96)],
        };
        var error = Assert.Throws<InterchangeException>(() => GgufArchitecture.For(spec));
        Assert.Equal(InterchangeCodes.GgufPerLayerShapes, error.Code);
        var both = Assert.Throws<InterchangeException>(() => GgufArchitecture.For(spec with { LayerShapes = null, AttentionBias = true }));
        Assert.Equal(InterchangeCodes.GgufNoArchitecture, both.Code);
    }
}
