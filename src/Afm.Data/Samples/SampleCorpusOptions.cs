namespace Afm.Data.Samples;

/// <summary>
/// Sizes of the generated sample corpora (documents per file). The defaults give about 1.6 MB in total;
/// <see cref="Scaled"/> multiplies every count.
/// </summary>
public sealed record SampleCorpusOptions
{
    public ulong Seed { get; init; } = 20240601;
    public int Stories { get; init; } = 2400;
    public int ArithmeticDocuments { get; init; } = 2000;
    public int FactDocuments { get; init; } = 2000;
    public int Notifications { get; init; } = 1600;
    /// <summary>Preference pairs of notification summaries in preferences.jsonl (reward and dpo stages).</summary>
    public int PreferencePairs { get; init; } = 1200;
    /// <summary>Held-out documents per style in eval.jsonl.</summary>
    public int EvalPerStyle { get; init; } = 50;

    public SampleCorpusOptions Scaled(double factor) => this with
    {
        Stories = Scale(Stories, factor),
        ArithmeticDocuments = Scale(ArithmeticDocuments, factor),
        FactDocuments = Scale(FactDocuments, factor),
        Notifications = Scale(Notifications, factor),
        PreferencePairs = Scale(PreferencePairs, factor),
        EvalPerStyle = Scale(EvalPerStyle, factor),
    };

    private static int Scale(int count, double factor) => Math.Max(1, (int)Math.Round(count * factor));
}
