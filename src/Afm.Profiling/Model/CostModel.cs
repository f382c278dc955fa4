using Afm.Core.Spec;
using Afm.Profiling.Formats;

namespace Afm.Profiling.Model;

/// <summary>The cost of one operation with one weight format on one device.</summary>
/// <param name="BytesMoved">Weights read (in the format, tables included) + fixed weights + activations.</param>
/// <param name="Flops">The op's arithmetic, without dequantization.</param>
/// <param name="DequantOps">Lookups, scalings or conversions of weight elements into the compute type.</param>
/// <param name="WeightBytes">Bytes the whole weight takes in memory in this format (0 for weightless ops).</param>
/// <param name="MemoryBound">True when moving bytes takes longer than computing.</param>
public sealed record OpCost(double LatencyMs, double EnergyMj, long BytesMoved, long Flops, long DequantOps, long WeightBytes, bool MemoryBound);

/// <summary>
/// Roofline: an op takes max(compute time, memory time) plus a launch overhead per kernel, where compute time is
/// FLOPs at the compute type's rate plus dequantization at the integer rate, and memory time is bytes moved over
/// the bandwidth. Energy is bytes x energy per byte + operations x energy per op + static power x latency.
/// </summary>
public static class CostModel
{
    /// <summary>
    /// Weight elements above which ONNX Runtime's MLAS splits a one-token MatMulNBits across threads: measured with
    /// bench/Afm.Bench.Profiling --nbits-sizes, the time jumps between 49k and 65k elements (d 768: 64 vs 128 rows;
    /// d 128: 256 vs 512 rows), MLAS' unit of 64Ki multiply-adds per thread.
    /// </summary>
    public const long ParallelElements = 64 * 1024 - 1;

    public static OpCost Cost(Op op, WeightFormat format, DeviceProfileSpec device, int groupSize)
    {
        long weightRead = 0, weightBytes = 0, dequant = 0, flops = op.Flops, computeFlops = op.Flops;
        double dequantRate = device.Int8GOps, fixedUs = 0;
        // Attention's products, and rope's product by the rotation, run over the head dimension: a rate of their own
        // on a CPU (AttentionGFlops).
        // A projection's own shape may have a measured rate (host: whether its weight stays in cache, its inner dimension).
        double rate = op.Kind is OpKind.Attention or OpKind.Rope ? device.AttentionRateGFlops
            : op.Kind == OpKind.Linear && op.HasWeight ? device.ProductRateGFlops(op.WeightColumns, op.WeightRows) : device.ComputeGFlops;
        if (op.HasWeight)
        {
            weightRead = format.RowsBytes(op.WeightRowsRead, op.WeightRows, op.WeightColumns, groupSize);
            weightBytes = format.MatrixBytes(op.WeightRows, op.WeightColumns, groupSize);
            if (format.NeedsDequantization(device.ComputeType == ComputeType.Fp16)) dequant = op.WeightRowsRead * op.WeightColumns;
            if (format.Kind == FormatKind.NBits && op.Kind == OpKind.Linear)
            {
                // MatMulNBits: its measured rate is of one token's product with the weight dequantized (both in the rate);
                // further tokens add their FLOPs at the rate measured for this width and shape over a prompt (host), else the
                // float product's: MLAS does not run them at the Gemm's rate (AMD EPYC Zen 4, d 768, float activations: down_proj
                // took 2.1x the time that rate gave, int8 ones about half). A product large enough to be split across threads
                // pays the measured cost of waking them. 8 bits are two 4-bit products whose outputs add (Afm.Onnx's
                // NBitsLinear): twice the elements, FLOPs and fixed cost. With int8 activations 8 bits are one node, its one token
                // costed at the 4-bit rate of the same kernels (its integer dot products are the same; it reads twice the bytes, which
                // the roofline's memory side counts), its further tokens at their own measured rate.
                int halves = format.Bits == 8 && device.MatMulNBitsInt8Activations != true ? 2 : 1, width = format.Bits == 8 ? 4 : format.Bits;
                long elements = op.WeightRows * op.WeightColumns;
                dequantRate = device.MatMulNBitsGOps(width);
                dequant = halves * elements;
                flops = halves * flops;
                computeFlops = halves * Math.Max(0, op.Flops - 2 * elements);
                rate = device.MatMulNBitsPromptRateGFlops(halves == 1 ? format.Bits : width, op.WeightColumns, op.WeightRows);
                if (elements > ParallelElements) fixedUs = halves * device.MatMulNBitsParallelUs(width);
            }
        }
        long bytes = weightRead + op.FixedWeightBytes + op.ActivationBytes;
        double computeSeconds = computeFlops / (rate * 1e9) + dequant / (dequantRate * 1e9) + fixedUs * 1e-6;
        double memorySeconds = bytes / (device.MemoryBandwidthGBps * 1e9);
        double launchUs = op.Kind == OpKind.QkNorm ? device.RowsNormOverheadUs ?? device.LaunchOverheadUs : device.LaunchOverheadUs;
        double seconds = Math.Max(computeSeconds, memorySeconds) + op.KernelsIn(format) * launchUs * 1e-6;
        double joules = bytes * device.EnergyPerBytePj * 1e-12 + (flops + dequant) * device.EnergyPerOpPj * 1e-12
            + device.StaticPowerMw * 1e-3 * seconds;
        return new OpCost(seconds * 1e3, joules * 1e3, bytes, flops, dequant, weightBytes, memorySeconds >= computeSeconds);
    }
}
