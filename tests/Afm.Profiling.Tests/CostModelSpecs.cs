using Afm.Core.Spec;
using Afm.Profiling.Formats;
using Afm.Profiling.Measurement;
using Afm.Profiling.Model;

namespace Afm.Profiling.Tests;

public sealed class CostModelSpecs
{
    /// <summary>q_proj as one kernel (a hand census), so the expected values below do not depend on ONNX Runtime.</summary>
    private static Op QProj(long tokens) => DecoderOpCosts.For(Micro.Architecture(), tokens, tokens, activationBytes: 2,
        new KernelCensus(new Dictionary<string, int> { ["layers.0.attn.q_proj"] = 1 }, censusLayers: 2)).Single(o => o.Name == "layers.0.attn.q_proj");

    [Fact]
    public void An_adaptable_projection_runs_its_LoRA_term_of_rank_0_and_copies_its_output_once_more()
    {
        var ops = DecoderOpCosts.For(Micro.Architecture(), 8, 8, activationBytes: 4);
        var q = ops.Single(o => o.Name == "layers.0.attn.q_proj");
        // The export's base Gemm, the LoRA down Gemm ([8, 0]) and the up Gemm adding the base output.
        Assert.Equal(3, q.Kernels);
        Assert.Equal(8L * (64 + 64) * 4 + 2 * 8 * 64 * 4, q.ActivationBytes);
        var head = ops.Single(o => o.Name == "lm_head");
        Assert.Equal(8L * (256 + 64) * 4, head.ActivationBytes);
    }

    [Fact]
    public void Each_layer_is_costed_with_its_own_heads_head_width_and_ffn_width_and_biases_stay_fp32()
    {
        // Layer 0: 2 query heads and 1 key/value head of width 24, FFN 96; layer 2: 6 and 2 heads, FFN 160. ModelDim 64.
        var ops = DecoderOpCosts.For(Micro.Generalized(), 8, 8, activationBytes: 4,
            new KernelCensus(new Dictionary<string, int>(), censusLayers: 3)).ToDictionary(o => o.Name);
        var q0 = ops["layers.0.attn.q_proj"];
        Assert.Equal((48L, 64L), (q0.WeightRows, q0.WeightColumns));
        // Its bias: 48 fp32 values read, one addition per output.
        Assert.Equal(48L * 4, q0.FixedWeightBytes);
        Assert.Equal(2L * 8 * 48 * 64 + 8 * 48, q0.Flops);
        Assert.Equal((24L, 64L), (ops["layers.0.attn.k_proj"].WeightRows, ops["layers.0.attn.k_proj"].WeightColumns));
        Assert.Equal((64L, 144L), (ops["layers.2.attn.o_proj"].WeightRows, ops["layers.2.attn.o_proj"].WeightColumns));
        Assert.Equal(0, ops["layers.2.attn.o_proj"].FixedWeightBytes);
        Assert.Equal((160L, 64L), (ops["layers.2.mlp.gate_proj"].WeightRows, ops["layers.2.mlp.gate_proj"].WeightColumns));
        Assert.Equal(6L * 8 * 160, ops["layers.2.mlp.swiglu"].Flops);
        // Scores and weighted values of 6 heads of width 24 over 8 keys.
        Assert.Equal(6L * 8 * 8 * (4 * 24 + 5), ops["layers.2.attn.attention"].Flops);
        Assert.Equal(2, ops["layers.2.mlp.swiglu"].Block);
        Assert.Null(ops["lm_head"].Block);
    }

    [Fact]
    public void A_projection_in_fp16_moves_its_weights_and_activations_and_does_2_n_in_out_flops()
    {
        // q_proj [64, 64], 8 tokens, fp16 activations: weights 64*64*2 = 8192 B, activations 8*(64+64)*2 = 2048 B.
        var cost = CostModel.Cost(QProj(8), WeightFormat.Fp16, Micro.Device(), groupSize: 16);
        Assert.Equal(2L * 8 * 64 * 64, cost.Flops);
        Assert.Equal(8192 + 2048, cost.BytesMoved);
        Assert.Equal(8192, cost.WeightBytes);
        Assert.Equal(0, cost.DequantOps);
        // 1 GFLOP/s: 65536 FLOPs = 65.536 us > 10240 B at 1 GB/s = 10.24 us; plus one kernel of 10 us.
        Assert.Equal(0.075536, cost.LatencyMs, 12);
        Assert.False(cost.MemoryBound);
        // 1 pJ per byte and per op: 10240 + 65536 pJ.
        Assert.Equal(75776e-9, cost.EnergyMj, 15);
    }

    [Fact]
    public void Palettized_4_bit_moves_packed_indices_plus_fp16_tables_and_looks_up_every_weight()
    {
        // 4096 weights x 4 bits = 2048 B; 64 rows / 16 per group = 4 tables x 16 entries x 2 B = 128 B.
        var cost = CostModel.Cost(QProj(8), WeightFormat.Palettized(4), Micro.Device(), groupSize: 16);
        Assert.Equal(2048 + 128, cost.WeightBytes);
        Assert.Equal(2048 + 128 + 2048, cost.BytesMoved);
        Assert.Equal(4096, cost.DequantOps);
        // compute: 65.536 us + 4096 lookups at 2 GOP/s = 2.048 us; plus 10 us.
        Assert.Equal(0.077584, cost.LatencyMs, 12);
    }

    [Fact]
    public void Int8_adds_one_fp16_scale_per_output_channel()
    {
        var cost = CostModel.Cost(QProj(1), WeightFormat.Int8, Micro.Device(), groupSize: 16);
        Assert.Equal(4096 + 64 * 2, cost.WeightBytes);
        Assert.Equal(2L * 64 * 64, cost.Flops);
    }

    [Fact]
    public void A_decode_step_of_a_projection_is_memory_bound()
    {
        var cost = CostModel.Cost(QProj(1), WeightFormat.Fp16, Micro.Device() with { Fp16GFlops = 1000 }, groupSize: 16);
        Assert.True(cost.MemoryBound);
        Assert.Equal((8192 + 256) / 1e9 * 1e3 + 0.01, cost.LatencyMs, 12);
    }

    [Fact]
    public void An_embedding_lookup_reads_only_the_rows_of_its_tokens_and_their_tables()
    {
        var embed = DecoderOpCosts.For(Micro.Architecture(), 3, 3, 2).Single(o => o.Kind == OpKind.Embedding);
        var cost = CostModel.Cost(embed, WeightFormat.Palettized(2), Micro.Device(), groupSize: 16);
        // 3 rows x 64 x 2 bits = 3 x 16 B, 3 tables of 4 entries x 2 B, output 3 x 64 x 2 B.
        Assert.Equal(3 * 16 + 3 * 4 * 2 + 3 * 64 * 2, cost.BytesMoved);
        Assert.Equal((256 * 64 * 2 / 8) + 16 * 4 * 2, cost.WeightBytes);
    }

    [Fact]
    public void Decode_attention_reads_the_whole_cache_of_the_context()
    {
        var attention = DecoderOpCosts.For(Micro.Architecture(), 1, 40, 2).First(o => o.Kind == OpKind.Attention);
        // 4 heads x 1 token x 40 keys x (4 x 16 + 5). Bytes x 2: q transposed into heads, read by the product, output
        // written and transposed back (6 x 64); k, v transposed (4 x 32); the cache extended (4 x 40 x 32), keys transposed
        // (2 x 40 x 32), read with the values (2 x 40 x 32); scores through 6 passes (6 x 4 x 40); the mask (40).
        Assert.Equal(4L * 40 * (4 * 16 + 5), attention.Flops);
        Assert.Equal((6 * 64 + 4 * 32 + 8 * 40 * 32 + 6 * 4 * 40 + 40) * 2, attention.ActivationBytes);
    }

    [Fact]
    public void Attention_computes_at_the_attention_rate_when_the_device_gives_one()
    {
        var census = new KernelCensus(new Dictionary<string, int> { ["layers.0.attn.attention"] = 7 }, censusLayers: 2);
        var attention = DecoderOpCosts.For(Micro.Architecture(), 8, 8, 4, census).First(o => o.Kind == OpKind.Attention);
        var device = Micro.Device(ComputeType.Fp32) with { MemoryBandwidthGBps = 1000, AttentionGFlops = 0.5 };
        // 4 heads x 8 x 8 x 69 = 17664 FLOPs at 0.5 GFLOP/s = 35.328 us (bytes at 1000 GB/s take far less), + 7 x 10 us.
        Assert.Equal(0.035328 + 0.07, CostModel.Cost(attention, WeightFormat.Fp32, device, 16).LatencyMs, 12);
        // Without it, the compute type's 1 GFLOP/s.
        Assert.Equal(0.017664 + 0.07, CostModel.Cost(attention, WeightFormat.Fp32, device with { AttentionGFlops = 0 }, 16).LatencyMs, 12);
    }

    [Fact]
    public void A_norm_is_the_one_kernel_ONNX_Runtime_fuses_the_export_into_reading_x_and_writing_y()
    {
        var norm = DecoderOpCosts.For(Micro.Architecture(), 8, 8, 4).First(o => o.Kind == OpKind.RmsNorm);
        Assert.Equal(1, norm.Kernels);
        Assert.Equal(2L * 8 * 64 * 4, norm.ActivationBytes);
        Assert.Equal(64 * 4, norm.FixedWeightBytes);
    }

    [Fact]
    public void A_tied_model_costs_the_output_projection_under_the_embedding_layer()
    {
        var ops = DecoderOpCosts.For(Micro.Architecture(tied: true), 1, 1, 2);
        Assert.Equal("embed", ops.Single(o => o.Name == "lm_head").Layer);
        var untied = DecoderOpCosts.For(Micro.Architecture(tied: false), 1, 1, 2);
        Assert.Equal("lm_head", untied.Single(o => o.Name == "lm_head").Layer);
    }

    [Theory]
    [InlineData("2bit", FormatKind.Palettized, 2)]
    [InlineData("pal3", FormatKind.Palettized, 3)]
    [InlineData("INT8", FormatKind.Int8, 8)]
    [InlineData("fp16", FormatKind.Fp16, 16)]
    [InlineData("nbits4", FormatKind.NBits, 4)]
    [InlineData("NBits8", FormatKind.NBits, 8)]
    public void Formats_parse_from_the_names_people_write(string text, FormatKind kind, int bits)
    {
        Assert.True(WeightFormat.TryParse(text, out var format));
        Assert.Equal(new WeightFormat(kind, bits), format);
        Assert.True(WeightFormat.TryParse(format.Name, out var again));
        Assert.Equal(format, again);
    }

    [Theory]
    [InlineData("nbits3")]
    [InlineData("nbits")]
    public void MatMulNBits_widths_other_than_2_4_8_do_not_parse(string text) => Assert.False(WeightFormat.TryParse(text, out _));

    /// <summary>Rates of MatMulNBits that differ per width, as measured on host (4 bits fast, 2 bits slow).</summary>
    private static DeviceProfileSpec NBitsDevice() => Micro.Device(ComputeType.Fp32) with
    {
        MatMulNBits4GOps = 4, MatMulNBits2GOps = 0.5, MatMulNBits4ParallelUs = 7, MatMulNBits2ParallelUs = 3,
    };

    [Fact]
    public void A_resident_4_bit_projection_reads_packed_indices_with_a_float_scale_and_a_zero_point_per_block()
    {
        // q_proj [64, 64], one token: blocks of 64 (the largest power of two <= 128 dividing 64), so one block per row:
        // 64 * 64 / 2 packed bytes + 64 rows x (4 scale bytes + 1 zero-point byte).
        var cost = CostModel.Cost(QProj(1), WeightFormat.NBits(4), NBitsDevice(), groupSize: 16);
        Assert.Equal(2048 + 64 * 5, cost.WeightBytes);
        Assert.Equal(4096, cost.DequantOps);
        // One token: its product is in the measured rate (4096 elements at 4 G/s = 1.024 us); 2368 B of weights plus
        // 1 x (64 + 64) x 2 B of activations at 1 GB/s = 2.624 us is longer; 4096 elements are below a split product.
        Assert.True(cost.MemoryBound);
        Assert.Equal((2368 + 256) * 1e-6 + 0.010, cost.LatencyMs, 12);
    }

    [Fact]
    public void Each_width_runs_at_its_own_measured_rate_and_8_bits_as_two_4_bit_halves()
    {
        var device = NBitsDevice() with { MemoryBandwidthGBps = 1e6 };
        double Compute(int bits) => CostModel.Cost(QProj(1), WeightFormat.NBits(bits), device, 16).LatencyMs - 0.010;
        Assert.Equal(4096 / 4e9 * 1e3, Compute(4), 12);
        Assert.Equal(4096 / 0.5e9 * 1e3, Compute(2), 12);
        Assert.Equal(2 * Compute(4), Compute(8), 12);
        var eight = CostModel.Cost(QProj(1), WeightFormat.NBits(8), device, 16);
        Assert.Equal(2 * 4096, eight.DequantOps);
        // Each byte split into its nibbles: 64 x 64 bytes and two sets of scales and 4-bit zero points.
        Assert.Equal(4096 + 2 * 64 * (4 + 1), eight.WeightBytes);
    }

    [Fact]
    public void A_product_large_enough_to_be_split_across_threads_pays_the_measured_fixed_cost_once_per_half()
    {
        var arch = Micro.Architecture() with { VocabSize = 2048 };
        var head = DecoderOpCosts.For(arch, 1, 1, 4, new KernelCensus(new Dictionary<string, int> { ["lm_head"] = 1 }, 2)).Single(o => o.Name == "lm_head");
        Assert.True(head.WeightRows * head.WeightColumns > CostModel.ParallelElements);
        var device = NBitsDevice() with { MemoryBandwidthGBps = 1e6 };
        double elementsUs = 2048 * 64 / 4e3;
        Assert.Equal((elementsUs + 7 + 10) * 1e-3, CostModel.Cost(head, WeightFormat.NBits(4), device, 16).LatencyMs, 9);
        Assert.Equal((2 * (elementsUs + 7) + 10) * 1e-3, CostModel.Cost(head, WeightFormat.NBits(8), device, 16).LatencyMs, 9);
        Assert.Equal(10e-3 + 4096 / 4e6, CostModel.Cost(QProj(1), WeightFormat.NBits(4), device, 16).LatencyMs, 9);
    }

    [Fact]
    public void Further_tokens_add_their_flops_at_the_compute_rate()
    {
        var device = NBitsDevice() with { MemoryBandwidthGBps = 1e6 };
        // 8 tokens: the first in the MatMulNBits rate (4096 elements at 4 G/s), 7 more x 2 x 4096 FLOPs at 1 GFLOP/s.
        Assert.Equal((4096 / 4e3 + 7 * 2 * 4096 / 1e3 + 10) * 1e-3, CostModel.Cost(QProj(8), WeightFormat.NBits(4), device, 16).LatencyMs, 9);
    }

    [Fact]
    public void Further_tokens_run_at_the_prompt_rate_measured_for_their_width_and_shape()
    {
        var device = NBitsDevice() with
        {
            MemoryBandwidthGBps = 1e6,
            ProductGFlops = new Dictionary<string, double> { [DeviceProfileSpec.ProductKey(64, 64)] = 2 },
            MatMulNBitsPromptGFlops = new Dictionary<string, double>
            {
                [DeviceProfileSpec.NBitsProductKey(4, 64, 64)] = 8, [DeviceProfileSpec.NBitsProductKey(2, 64, 64)] = 16,
                [DeviceProfileSpec.NBitsProductKey(4, 64, 128)] = 1000,
            },
        };
        double Us(int bits, DeviceProfileSpec d) => CostModel.Cost(QProj(8), WeightFormat.NBits(bits), d, 16).LatencyMs * 1e3;
        // 8 tokens of q_proj [64 -> 64]: the first at the one-token rate (4096 elements), 7 more x 2 x 4096 FLOPs at the
        // measured prompt rate of the width and shape, not the float Gemm's (2 GFLOP/s) nor another shape's.
        Assert.Equal(4096 / 4e3 + 7 * 2 * 4096 / 8e3 + 10, Us(4, device), 9);
        Assert.Equal(4096 / 0.5e3 + 7 * 2 * 4096 / 16e3 + 10, Us(2, device), 9);
        // Float activations: 8 bits are two 4-bit halves, each at the 4-bit prompt rate.
        Assert.Equal(2 * (4096 / 4e3 + 7 * 2 * 4096 / 8e3) + 10, Us(8, device), 9);
        // Int8 activations: one 8-bit node, its further tokens at the 8-bit rate; without one measured, the float product's.
        var int8 = device with { MatMulNBitsInt8Activations = true };
        Assert.Equal(4096 / 4e3 + 7 * 2 * 4096 / 2e3 + 10, Us(8, int8), 9);
        var int8Measured = int8 with { MatMulNBitsPromptGFlops = new Dictionary<string, double>(device.MatMulNBitsPromptGFlops!) { [DeviceProfileSpec.NBitsProductKey(8, 64, 64)] = 32 } };
        Assert.Equal(4096 / 4e3 + 7 * 2 * 4096 / 32e3 + 10, Us(8, int8Measured), 9);
        // The float graph's projection keeps the Gemm's rate of its shape.
        Assert.Equal(2 * 8 * 4096 / 2e3 + 10, CostModel.Cost(QProj(8), WeightFormat.Fp32, device, 16).LatencyMs * 1e3, 9);
    }

    [Fact]
    public void With_int8_activations_8_bits_are_one_node_at_the_measured_rate()
    {
        var device = NBitsDevice() with { MemoryBandwidthGBps = 1e6, MatMulNBitsInt8Activations = true };
        double Compute(int bits) => CostModel.Cost(QProj(1), WeightFormat.NBits(bits), device, 16).LatencyMs - 0.010;
        Assert.Equal(Compute(4), Compute(8), 12);
        Assert.Equal(4096, CostModel.Cost(QProj(1), WeightFormat.NBits(8), device, 16).DequantOps);
    }

    [Fact]
    public void A_projection_runs_at_the_rate_measured_for_its_shape()
    {
        // q_proj of the micro model: [64 -> 64]; 8 tokens, 2 x 8 x 4096 FLOPs, compute bound.
        var device = NBitsDevice() with { MemoryBandwidthGBps = 1e6 };
        double At(DeviceProfileSpec d) => CostModel.Cost(QProj(8), WeightFormat.Fp32, d, 16).LatencyMs - 0.010;
        Assert.Equal(2 * 8 * 4096 / 1e3 * 1e-3, At(device), 12);
        var measured = device with { ProductGFlops = new Dictionary<string, double> { [DeviceProfileSpec.ProductKey(64, 64)] = 4 } };
        Assert.Equal(2 * 8 * 4096 / 4e3 * 1e-3, At(measured), 12);
        // Another shape's rate does not apply.
        var other = device with { ProductGFlops = new Dictionary<string, double> { [DeviceProfileSpec.ProductKey(64, 128)] = 4 } };
        Assert.Equal(At(device), At(other), 12);
    }

    [Fact]
    public void The_fused_graph_has_no_residual_ops_and_its_norms_read_the_skip_and_write_the_sum()
    {
        var arch = Micro.Architecture();
        var census = new KernelCensus(new Dictionary<string, int>(), censusLayers: 2);
        var standard = DecoderOpCosts.For(arch, 8, 8, 4, census).ToDictionary(o => o.Name);
        var fused = DecoderOpCosts.For(arch, 8, 8, 4, census, new GraphForm(OnnxOps.Fused)).ToDictionary(o => o.Name);
        Assert.DoesNotContain(fused.Keys, n => n.EndsWith("_residual", StringComparison.Ordinal));
        Assert.Contains("layers.0.attn_residual", standard.Keys);
        // Head width 16: GroupQueryAttention rotates q and k itself, so there is no rope op.
        Assert.DoesNotContain("layers.0.attn.rope", fused.Keys);
        Assert.Equal(2L * 8 * 64 * 4, fused["layers.0.attn_norm"].ActivationBytes);
        Assert.Equal(4L * 8 * 64 * 4, fused["layers.0.mlp_norm"].ActivationBytes);
        Assert.Equal(4L * 8 * 64 * 4, fused["norm"].ActivationBytes);
        // Attention keeps its arithmetic and adds the rotation's 3 FLOPs per element of q and k.
        Assert.Equal(standard["layers.0.attn.attention"].Flops + 3L * 8 * (64 + 32), fused["layers.0.attn.attention"].Flops);
    }
}
