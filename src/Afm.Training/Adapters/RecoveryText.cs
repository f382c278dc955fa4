using System.Globalization;

namespace Afm.Training.Adapters;

/// <summary>A <see cref="RecoveryMeasurement"/> in words, for the stage's progress line and reports/adapters.md.</summary>
public static class RecoveryText
{
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static string Loss(RecoveryMeasurement m) =>
        $"{Nats(m.QuantizationLoss)} [{Nats(m.QuantizationLossInterval.Low)}, {Nats(m.QuantizationLossInterval.High)}]";

    public static string Share(RecoveryMeasurement m) => m.Measurable ? Percent(m.Share, m.ShareInterval) : TooSmall;

    public static string ControlGain(RecoveryMeasurement m) => m.ControlGain is double g
        ? $"{Nats(g)} [{Nats(m.ControlGainInterval!.Low)}, {Nats(m.ControlGainInterval.High)}]"
        : "no control";

    public static string NetShare(RecoveryMeasurement m) => !m.Measurable ? TooSmall : m.ControlGain is null ? "no control" : Percent(m.NetShare, m.NetShareInterval);

    /// <summary>One line: the quantization loss, then the shares or why there are none.</summary>
    public static string Summary(RecoveryMeasurement m) => m.Measurable
        ? $"quantization loss {Loss(m)} nats/token, recovered {Share(m)}" + (m.ControlGain is null ? "" : $", net of control {NetShare(m)}")
        : $"quantization loss {Loss(m)} nats/token: {TooSmall}";

    /// <summary>
    /// A loss difference in nats with its own sign and 5 decimals, as the quantize stage prints its changes (a small
    /// negative value is "-0.00000"). .NET's "+0.00000;-0.00000" wrote such a value as "-+0.00000", which the adapters
    /// bench printed.
    /// </summary>
    public static string Nats(double value) => (value < 0 ? "-" : "+") + Math.Abs(value).ToString("0.00000", Invariant);

    private const string TooSmall = "quantization loss below its bootstrap noise: too small to measure a share";

    private static string Percent(double? value, BootstrapInterval? interval) =>
        string.Create(Invariant, $"{value:P1} [{interval!.Low:P1}, {interval.High:P1}]");
}
