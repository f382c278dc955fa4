namespace Afm.Evaluation.Scoring;

/// <summary>A metric of a task on one model variant: its value over the items and the bootstrap standard error.</summary>
public sealed record MetricValue(string Name, double Value, double StandardError);

/// <summary>The metrics of one task on one variant; the first is the task's main metric (the one the gate compares).</summary>
public sealed record TaskScore(IReadOnlyList<MetricValue> Metrics, int Items)
{
    public MetricValue Main => Metrics[0];
}
