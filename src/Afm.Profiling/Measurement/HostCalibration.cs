using Afm.Core.Spec;
using Afm.Onnx.Graph;
using Afm.Profiling.Profile;

namespace Afm.Profiling.Measurement;

/// <summary>
/// Calibrates the <c>host</c> profile by measuring this machine with ONNX Runtime: fp32 compute rate from a large
/// matrix product, memory bandwidth from an element-wise add over buffers far larger than the caches, and the
/// per-kernel overhead from an add of one element. These graphs are not the model's ops, so predicting the model's
/// ops with the result is a real test of the cost model, not a fit to the answers.
/// </summary>
public static class HostCalibration
{
    // Sizes like one projection of a small model: the roofline then uses the bandwidth of the memory level such
    // working sets live in (mostly cache on a CPU), not DRAM's, which overpredicted small ops ~4x (specs/profiling.md).
    public const string Method = "onnxruntime-cpu kernel times: gemm 128x512x512, add 2x64k floats, add 1 float";

    public static (DeviceProfileSpec Device, CalibrationInfo Info) Calibrate(DeviceProfileSpec host, int threads)
    {
        var timer = new OrtOpTimer(threads, warmupRuns: 2, measuredRuns: 9);
        const long m = 128, k = 512, n = 512;
        var gemm = Graph("gemm", w => w.Finish("gemm", w.Graph.Node("Gemm", [w.FloatInput("x", m, k), w.Weight("w", n, k)], null, Attr.Int("transB", 1)), m, n));
        double gflops = 2.0 * m * k * n / (timer.Time(gemm).Milliseconds * 1e-3) / 1e9;

        const long elements = 64L << 10;
        var stream = Graph("stream", w => w.Finish("stream", w.Graph.Node("Add", [w.FloatInput("x", elements), w.FloatInput("y", elements)]), elements));
        double bandwidth = 3.0 * elements * 4 / (timer.Time(stream).Milliseconds * 1e-3) / 1e9;

        var tiny = Graph("tiny", w => w.Finish("tiny", w.Graph.Node("Add", [w.FloatInput("x", 1), w.FloatInput("y", 1)]), 1));
        double overheadUs = timer.Time(tiny).Milliseconds * 1e3;

        var memoryGb = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / 1e9;
        var device = host with
        {
            ComputeType = ComputeType.Fp32,
            Fp32GFlops = gflops,
            // The CPU provider has no faster fp16 or integer path for these ops: fp16 and lookups run at the fp32 rate.
            Fp16GFlops = gflops,
            Int8GOps = gflops,
            MemoryBandwidthGBps = bandwidth,
            LaunchOverheadUs = overheadUs,
            MemoryGB = memoryGb,
            Calibrate = true,
        };
        return (device, new CalibrationInfo(Method, gflops, bandwidth, overheadUs, threads));
    }

    private static MicroGraph Graph(string name, Func<MicroGraphWriter, MicroGraph> build) => build(new MicroGraphWriter(7));
}
