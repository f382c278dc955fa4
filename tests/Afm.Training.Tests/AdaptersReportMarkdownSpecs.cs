using Afm.Training.Adapters;
using static Afm.Training.Tests.RecoveryMeasurementSpecs;

namespace Afm.Training.Tests;

/// <summary>reports/adapters.md says what the measurement says: the net-of-control share, or why there is none, and the per-layer KL.</summary>
public sealed class AdaptersReportMarkdownSpecs
{
    private static AdapterResult Recovery(string name, RecoveryMeasurement m, IReadOnlyList<LayerDivergence>? layers) => new()
    {
        Name = name, Kind = "accuracy-recovery", Rank = 16, Alpha = 32, Version = "0.1.0", Data = "stage core", Steps = 10, Tokens = 10240,
        Parameters = 100, Bytes = 400, BaseSha256 = "00", Fingerprint = "ff", ValidationSequences = 64, FloatLoss = 1.0, BaseLoss = 1.1,
        AdaptedLoss = 1.02, ControlLoss = 0.99, Objective = "distill", Recovery = m, LayerDivergences = layers, TrainCurve = [],
    };

    private static string Render(params AdapterResult[] adapters) =>
        AdaptersReportMarkdown.Render("m 0.1.0", new AdaptersReport { Base = "quantized", BaseSha256 = "00", Adapters = adapters });

    [Fact]
    public void A_measurable_loss_shows_the_share_net_of_the_control()
    {
        var m = RecoveryMeasurement.Compute(Losses(64, 1.00), Losses(64, 1.10), Losses(64, 1.02), Losses(64, 0.99), seed: 1);
        string md = Render(Recovery("recovery-r16", m, null));
        Assert.Contains("net of control", md);
        Assert.Contains(RecoveryText.NetShare(m), md);
        Assert.StartsWith("70.0 %", RecoveryText.NetShare(m));
    }

    [Fact]
    public void A_loss_within_its_noise_is_reported_as_too_small_to_measure_instead_of_a_share()
    {
        var m = RecoveryMeasurement.Compute(Losses(64, 1.00), Losses(64, 1.001, i => i % 2 == 0 ? 0.05 : -0.05), Losses(64, 0.99), Losses(64, 0.98), seed: 1);
        string md = Render(Recovery("recovery-r16", m, null));
        Assert.Contains("too small to measure a share", md);
        Assert.DoesNotContain("%", md.Split("| recovery-r16 |")[2]);
    }

    [Fact]
    public void The_per_layer_kl_has_a_row_per_part_and_a_column_per_adapter_with_a_dash_where_lora_does_not_adapt()
    {
        var m = RecoveryMeasurement.Compute(Losses(64, 1.00), Losses(64, 1.10), Losses(64, 1.02), Losses(64, 0.99), seed: 1);
        string md = Render(
            Recovery("distill-r8", m, [new("embed", 0.002, null), new("layers.0", 0.004, 0.001)]),
            Recovery("distill-r16", m, [new("embed", 0.002, null), new("layers.0", 0.004, 0.0005)]));
        Assert.Contains("| part | quantized | distill-r8 | distill-r16 |", md);
        Assert.Contains("| embed | 0.00200 | — | — |", md);
        Assert.Contains("| layers.0 | 0.00400 | 0.00100 | 0.00050 |", md);
    }

    [Fact]
    public void An_adapter_started_from_the_error_shows_its_kl_before_the_first_step_and_a_zero_start_its_bases()
    {
        var m = RecoveryMeasurement.Compute(Losses(64, 1.00), Losses(64, 1.10), Losses(64, 1.02), Losses(64, 0.99), seed: 1);
        string md = Render(
            Recovery("zero-r16", m, null) with { BaseDivergence = 0.013, AdaptedDivergence = 0.005 },
            Recovery("error-r16", m, null) with { BaseDivergence = 0.013, InitialDivergence = 0.006, AdaptedDivergence = 0.003, Init = "error" });
        Assert.Contains("| KL base | KL base+adapter at start | KL base+adapter |", md);
        Assert.Contains("| zero-r16 | " + RecoveryText.Loss(m) + " | 0.01300 | 0.01300 | 0.00500 |", md);
        Assert.Contains("| error-r16 | " + RecoveryText.Loss(m) + " | 0.01300 | 0.00600 | 0.00300 |", md);
    }
}
