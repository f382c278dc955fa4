using System.Globalization;
using Afm.Core.Spec;
using static TorchSharp.torch;

namespace Afm.Training.Precision;

/// <summary>
/// What a stage or adapter declared as Precision and what ran. <see cref="Reason"/> has no measured number in it: reports
/// are part of the artifact, whose bytes must not depend on how loaded the machine was (the numbers go to the build log).
/// </summary>
public sealed record PrecisionDecision(TrainingPrecision Declared, bool Bf16Mixed, string Reason)
{
    /// <summary>fp32 or bf16-mixed: what the passes computed in.</summary>
    public string Ran => (Bf16Mixed ? TrainingPrecision.Bf16Mixed : TrainingPrecision.Fp32).Keyword();
}

/// <summary>
/// Resolves Precision (specs/afmproj.md, "Precision"). auto measures this CPU with a short probe of the model's own largest
/// product, [tokens of a step, ModelDim] x [ModelDim, FfnDim], in fp32 and in bf16 (best of interleaved rounds, once per
/// shape and process): bf16-mixed only when bf16 runs at least <see cref="AutoSpeedup"/> x fp32. A bf16 step also pays the
/// copy of the weights and the float32 norms and losses: on the sample's shapes (width 128) square 1024² products ran 2.2-2.4x
/// in bf16 but training 0.86x, on Qwen3-0.6B's layer shapes training ran 2.0x (bench/Afm.Bench.Training, 2026-12-03), so the
/// probe uses the model's shapes and asks for a clear margin. A CPU without bf16 instructions converts and lands below 1x.
/// </summary>
public static class PrecisionChoice
{
    public const double AutoSpeedup = 2.0;
    private static readonly TimeSpan ProbeBudget = TimeSpan.FromMilliseconds(300);
    private static readonly Dictionary<(long, long, long), (double Fp32, double Bf16)> Probes = [];

    /// <param name="shape">The product the probe times: (tokens per step, ModelDim, FfnDim).</param>
    public static PrecisionDecision Resolve(TrainingPrecision declared, DeterminismMode determinism, (long M, long K, long N) shape, string what, Action<string>? log)
    {
        var decision = declared switch
        {
            TrainingPrecision.Fp32 => new PrecisionDecision(declared, false, "declared"),
            TrainingPrecision.Bf16Mixed => new PrecisionDecision(declared, true, "declared"),
            _ when determinism == DeterminismMode.Portable => new PrecisionDecision(declared, false, "auto: portable determinism trains in fp32"),
            _ => Measured(declared, shape, what, log),
        };
        if (declared != TrainingPrecision.Fp32) log?.Invoke($"{what}: precision {decision.Ran} ({decision.Reason})");
        return decision;
    }

    /// <summary>The probe's product of a stage or adapter: its tokens per step through the widest projection of a block.</summary>
    public static (long M, long K, long N) Shape(ArchitectureSpec architecture, int batchSize, int sequenceLength) =>
        ((long)batchSize * sequenceLength, architecture.ModelDim, Enumerable.Range(0, architecture.Layers).Max(i => architecture.Layer(i).FfnDim));

    private static PrecisionDecision Measured(TrainingPrecision declared, (long M, long K, long N) shape, string what, Action<string>? log)
    {
        (double fp32, double bf16) = Probe(shape);
        double speedup = bf16 / fp32;
        log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"{what}: precision probe, [{shape.M}x{shape.K}] x [{shape.K}x{shape.N}] matmul: fp32 {fp32:0.0} GFLOP/s, bf16 {bf16:0.0} GFLOP/s ({speedup:0.00}x; bf16-mixed from {AutoSpeedup:0.0}x)"));
        return speedup >= AutoSpeedup
            ? new PrecisionDecision(declared, true, $"auto: bf16 matmuls of the model's shapes measured at least {AutoSpeedup:0}x as fast as fp32 on this CPU")
            : new PrecisionDecision(declared, false, $"auto: bf16 matmuls of the model's shapes measured less than {AutoSpeedup:0}x as fast as fp32 on this CPU");
    }

    private static (double Fp32, double Bf16) Probe((long M, long K, long N) shape)
    {
        lock (Probes)
        {
            if (Probes.TryGetValue(shape, out var known)) return known;
            // Interleaved rounds, each keeping its best: a burst of load slows one round, not the other side only.
            double fp32 = 0, bf16 = 0;
            for (int round = 0; round < 2; round++)
            {
                fp32 = Math.Max(fp32, MatmulPeak.GflopsPerSecond(shape.M, shape.K, shape.N, ScalarType.Float32, ProbeBudget));
                bf16 = Math.Max(bf16, MatmulPeak.GflopsPerSecond(shape.M, shape.K, shape.N, ScalarType.BFloat16, ProbeBudget));
            }
            return Probes[shape] = (fp32, bf16);
        }
    }
}
