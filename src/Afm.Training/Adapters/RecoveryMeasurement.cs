using Afm.Training.Stages;

namespace Afm.Training.Adapters;

/// <summary>A 95% bootstrap interval: the 2.5th and 97.5th percentiles of a statistic over the resamples.</summary>
public sealed record BootstrapInterval(double Low, double High);

/// <summary>
/// How much of the quantization loss a recovery adapter wins back, in mean nats per target token on its validation
/// sequences (specs/adapters.md, "Recovery net of a control"), with L = loss of f the float model, q the quantized base,
/// q+a the base with the adapter and f+a the control (the same adapter trained the same way on the float model):
/// quantization loss L(q) - L(f); share (L(q) - L(q+a)) / (L(q) - L(f)); control gain L(f) - L(f+a); net share
/// (L(q) - L(q+a) - control gain) / (L(q) - L(f)) = 1 - (L(q+a) - L(f+a)) / (L(q) - L(f)).
/// Intervals come from a paired bootstrap over the validation sequences (every model is measured on the same
/// sequences; a resample draws sequences with replacement and recomputes every statistic from their token-weighted
/// means), seeded, so the same losses give the same intervals. They bound the validation sample's noise only, not the
/// spread between training runs of other seeds. When the quantization loss's interval reaches 0 the loss is too small to
/// measure and no share is given: a share of a gap that may be 0 says nothing.
/// </summary>
public sealed record RecoveryMeasurement
{
    public const int Resamples = 1000;

    public required double QuantizationLoss { get; init; }
    public required BootstrapInterval QuantizationLossInterval { get; init; }
    /// <summary>False when <see cref="QuantizationLossInterval"/> reaches 0 or below: the shares are then null.</summary>
    public required bool Measurable { get; init; }
    public double? Share { get; init; }
    public BootstrapInterval? ShareInterval { get; init; }
    /// <summary>L(f) - L(f+a); null without a control.</summary>
    public double? ControlGain { get; init; }
    public BootstrapInterval? ControlGainInterval { get; init; }
    public double? NetShare { get; init; }
    public BootstrapInterval? NetShareInterval { get; init; }

    public static RecoveryMeasurement Compute(SequenceLosses floatModel, SequenceLosses quantized, SequenceLosses adapted, SequenceLosses? control, ulong seed)
    {
        int n = floatModel.Sums.Length;
        if (quantized.Sums.Length != n || adapted.Sums.Length != n || (control is not null && control.Sums.Length != n))
            throw new ArgumentException("Every model must be measured on the same validation sequences.");
        var point = Statistics(floatModel, quantized, adapted, control, Enumerable.Range(0, n).ToArray());
        var samples = new double[4][];
        for (int k = 0; k < 4; k++) samples[k] = new double[Resamples];
        var draw = new int[n];
        ulong state = seed;
        for (int r = 0; r < Resamples; r++)
        {
            for (int i = 0; i < n; i++) draw[i] = (int)(SequenceSampler.SplitMix64(ref state) % (ulong)n);
            var s = Statistics(floatModel, quantized, adapted, control, draw);
            for (int k = 0; k < 4; k++) samples[k][r] = s[k];
        }
        var gap = Interval(samples[0]);
        bool measurable = gap.Low > 0;
        return new RecoveryMeasurement
        {
            QuantizationLoss = Round(point[0]), QuantizationLossInterval = gap, Measurable = measurable,
            Share = measurable ? Round(point[1]) : null, ShareInterval = measurable ? Interval(samples[1]) : null,
            ControlGain = control is null ? null : Round(point[2]), ControlGainInterval = control is null ? null : Interval(samples[2]),
            NetShare = measurable && control is not null ? Round(point[3]) : null,
            NetShareInterval = measurable && control is not null ? Interval(samples[3]) : null,
        };
    }

    /// <summary>[quantization loss, share, control gain, net share] over the drawn sequences (NaN where undefined).</summary>
    private static double[] Statistics(SequenceLosses f, SequenceLosses q, SequenceLosses qa, SequenceLosses? fa, int[] draw)
    {
        double lf = Mean(f, draw), lq = Mean(q, draw), lqa = Mean(qa, draw), lfa = fa is null ? double.NaN : Mean(fa, draw);
        double gap = lq - lf, gain = lf - lfa;
        return [gap, (lq - lqa) / gap, gain, (lq - lqa - gain) / gap];
    }

    private static double Mean(SequenceLosses losses, int[] draw)
    {
        double sum = 0;
        long count = 0;
        foreach (int i in draw)
        {
            sum += losses.Sums[i];
            count += losses.Counts[i];
        }
        return sum / Math.Max(1, count);
    }

    private static BootstrapInterval Interval(double[] samples)
    {
        var sorted = samples.Where(double.IsFinite).Order().ToArray();
        if (sorted.Length == 0) return new BootstrapInterval(double.NaN, double.NaN);
        double At(double p) => sorted[(int)Math.Clamp(Math.Round(p * (sorted.Length - 1)), 0, sorted.Length - 1)];
        return new BootstrapInterval(Round(At(0.025)), Round(At(0.975)));
    }

    private static double Round(double value) => AdapterTrainer.Round(value);
}
