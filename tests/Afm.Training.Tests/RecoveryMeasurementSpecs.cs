using Afm.Training.Adapters;

namespace Afm.Training.Tests;

/// <summary>The recovery figures and their bootstrap intervals (specs/adapters.md, "Recovery net of a control"), on hand-made losses.</summary>
public sealed class RecoveryMeasurementSpecs
{
    /// <summary>Every one of <paramref name="n"/> sequences of 10 targets at <paramref name="perToken"/> nats per target (plus <paramref name="wobble"/>(i)).</summary>
    internal static SequenceLosses Losses(int n, double perToken, Func<int, double>? wobble = null) =>
        new(Enumerable.Range(0, n).Select(i => 10 * (perToken + (wobble?.Invoke(i) ?? 0))).ToArray(), Enumerable.Repeat(10L, n).ToArray());

    [Fact]
    public void Shares_follow_the_definitions_on_a_hand_computed_case()
    {
        // L(f) 1.00, L(q) 1.20, L(q+a) 1.05, L(f+a) 0.98: share 0.15 / 0.20, control gain 0.02, net (0.15 - 0.02) / 0.20.
        var m = RecoveryMeasurement.Compute(Losses(50, 1.00), Losses(50, 1.20), Losses(50, 1.05), Losses(50, 0.98), seed: 1);
        Assert.True(m.Measurable);
        Assert.Equal((0.2, 0.75, 0.02, 0.65), (m.QuantizationLoss, m.Share!.Value, m.ControlGain!.Value, m.NetShare!.Value));
    }

    [Fact]
    public void Without_a_control_there_is_a_share_and_no_net_share()
    {
        var m = RecoveryMeasurement.Compute(Losses(50, 1.00), Losses(50, 1.20), Losses(50, 1.05), control: null, seed: 1);
        Assert.Equal((0.75, null, null), (m.Share, m.ControlGain, m.NetShare));
    }

    [Fact]
    public void Intervals_contain_the_point_and_widen_with_noise_between_sequences()
    {
        Func<int, double> noise = i => (i % 7 - 3) * 0.01;
        var quiet = RecoveryMeasurement.Compute(Losses(64, 1.00), Losses(64, 1.20), Losses(64, 1.05), Losses(64, 0.98), seed: 1);
        var noisy = RecoveryMeasurement.Compute(Losses(64, 1.00), Losses(64, 1.20, noise), Losses(64, 1.05), Losses(64, 0.98), seed: 1);
        Assert.True(noisy.NetShareInterval!.Low <= noisy.NetShare && noisy.NetShare <= noisy.NetShareInterval.High, $"{noisy}");
        Assert.True(noisy.NetShareInterval.High - noisy.NetShareInterval.Low > 0.01, $"{noisy.NetShareInterval}");
        Assert.True(quiet.NetShareInterval!.High - quiet.NetShareInterval.Low < 1e-6, $"{quiet.NetShareInterval}");
    }

    [Fact]
    public void A_quantization_loss_within_its_noise_is_too_small_to_measure_and_gives_no_share()
    {
        // The quantized model is better on half of the sequences and worse on the other half, by far more than the mean gap.
        var m = RecoveryMeasurement.Compute(Losses(64, 1.00), Losses(64, 1.001, i => i % 2 == 0 ? 0.05 : -0.05), Losses(64, 0.99), Losses(64, 0.98), seed: 1);
        Assert.False(m.Measurable);
        Assert.True(m.QuantizationLossInterval.Low <= 0, $"{m.QuantizationLossInterval}");
        Assert.Equal((null, null), (m.Share, m.NetShare));
        Assert.Contains("too small to measure", RecoveryText.Summary(m));
    }

    [Fact]
    public void The_same_losses_and_seed_give_the_same_intervals()
    {
        Func<int, double> noise = i => Math.Sin(i) * 0.02;
        RecoveryMeasurement Run(ulong seed) =>
            RecoveryMeasurement.Compute(Losses(40, 1.00), Losses(40, 1.10, noise), Losses(40, 1.02), Losses(40, 0.99), seed);
        Assert.Equal(Run(5), Run(5));
        Assert.NotEqual(Run(5).NetShareInterval, Run(6).NetShareInterval);
    }

    [Theory]
    [InlineData(-0.000001, "-0.00000")]
    [InlineData(0.000001, "+0.00000")]
    [InlineData(0.0, "+0.00000")]
    [InlineData(0.000006, "+0.00001")]
    [InlineData(-0.000006, "-0.00001")]
    [InlineData(0.01614, "+0.01614")]
    [InlineData(-0.00922, "-0.00922")]
    public void A_loss_difference_prints_its_own_sign_once(double value, string expected) =>
        Assert.Equal(expected, RecoveryText.Nats(value));
}
