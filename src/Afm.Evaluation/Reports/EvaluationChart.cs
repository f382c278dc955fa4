using ScottPlot;

namespace Afm.Evaluation.Reports;

/// <summary>
/// reports/evaluation.png: one group of bars per task, one bar per variant (the main metric, with its standard error as
/// an error bar), drawn with ScottPlot as the quantization and profile reports' charts are.
/// </summary>
public static class EvaluationChart
{
    public static byte[] RenderPng(EvaluationReport report)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        int variants = Math.Max(1, report.Variants.Count);
        double width = 0.8 / variants;
        var bars = new List<Bar>();
        for (int t = 0; t < report.Tasks.Count; t++)
            for (int v = 0; v < report.Variants.Count; v++)
                if (report.Tasks[t].Results.TryGetValue(report.Variants[v], out var metrics))
                    bars.Add(new Bar
                    {
                        Position = t - 0.4 + width * (v + 0.5), Value = metrics[0].Value, Error = metrics[0].StandardError,
                        Size = width * 0.9, FillColor = palette.GetColor(v),
                    });
        plot.Add.Bars(bars);
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
            Enumerable.Range(0, report.Tasks.Count).Select(i => (double)i).ToArray(),
            report.Tasks.Select(t => $"{t.Name}\n({t.MainMetric})").ToArray());
        plot.Axes.Margins(bottom: 0);
        plot.Title($"{report.Model}: tasks by model variant (± bootstrap standard error)");
        for (int v = 0; v < report.Variants.Count; v++)
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = report.Variants[v], FillColor = palette.GetColor(v) });
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(Math.Max(800, 160 * report.Tasks.Count * variants / 2), 450, ImageFormat.Png);
    }
}
