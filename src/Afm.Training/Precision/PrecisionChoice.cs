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
/// Resolves Precision (specs/afmproj.md, "Precision"). auto measures this CPU once per process with a short matmul probe,
/// 1024² in fp32 and in bf16, best of rounds: bf16-mixed only when bf16 runs at least <see cref="AutoSpeedup"/> x fp32. A
/// bf16 step also pays the copy of the weights and the float32 norms and losses; on the sample's shapes, matmuls 4.07x
/// made training 1.41x (bench/Afm.Bench.Training, 2026-12-02), so below 2x matmuls the mixed step would not be faster.
/// A CPU without bf16 instructions converts and lands far below 1x, one with them far above 2x: the margin keeps load on a
/// shared machine from flipping the choice.
/// </summary>
public static class PrecisionChoice
{
    public const double AutoSpeedup = 2.0;
    private static readonly TimeSpan ProbeBudget = TimeSpan.FromMilliseconds(300);
    private static readonly Lazy<(double Fp32, double Bf16)> Probe = new(MeasureProbe);

    public static PrecisionDecision Resolve(TrainingPrecision declared, DeterminismMode determinism, string what, Action<string>? log)
    {
        var decision = declared switch
        {
            TrainingPrecision.Fp32 => new PrecisionDecision(declared, false, "declared"),
            TrainingPrecision.Bf16Mixed => new PrecisionDecision(declared, true, "declared"),
            _ when determinism == DeterminismMode.Portable => new PrecisionDecision(declared, false, "auto: portable determinism trains in fp32"),
            _ => Measured(declared, what, log),
        };
        if (declared != TrainingPrecision.Fp32) log?.Invoke($"{what}: precision {decision.Ran} ({decision.Reason})");
        return decision;
    }

    private static PrecisionDecision Measured(TrainingPrecision declared, string what, Action<string>? log)
    {
        var (fp32, bf16) = Probe.Value;
        double speedup = bf16 / fp32;
        log?.Invoke(string.Create(CultureInfo.InvariantCulture,
            $"{what}: precision probe, 1024x1024 matmul: fp32 {fp32:0.0} GFLOP/s, bf16 {bf16:0.0} GFLOP/s ({speedup:0.00}x; bf16-mixed from {AutoSpeedup:0.0}x)"));
        return speedup >= AutoSpeedup
            ? new PrecisionDecision(declared, true, $"auto: bf16 matmuls measured at least {AutoSpeedup:0}x as fast as fp32 on this CPU")
            : new PrecisionDecision(declared, false, $"auto: bf16 matmuls measured less than {AutoSpeedup:0}x as fast as fp32 on this CPU");
    }

    private static (double Fp32, double Bf16) MeasureProbe()
    {
        // Interleaved rounds, each keeping its best: a burst of load slows one round, not the other side only.
        double fp32 = 0, bf16 = 0;
        for (int round = 0; round < 2; round++)
        {
            fp32 = Math.Max(fp32, MatmulPeak.GflopsPerSecond(1024, ScalarType.Float32, ProbeBudget));
            bf16 = Math.Max(bf16, MatmulPeak.GflopsPerSecond(1024, ScalarType.BFloat16, ProbeBudget));
        }
        return (fp32, bf16);
    }
}
