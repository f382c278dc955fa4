using ScottPlot;

namespace Afm.Packaging;

/// <summary>One line of a loss chart: a stage's training or validation loss against tokens seen.</summary>
public sealed record LossSeries(string Label, IReadOnlyList<double> Tokens, IReadOnlyList<double> Loss, bool Dashed);

/// <summary>Draws the training report's loss curves as a PNG for people (the JSON beside it is for machines).</summary>
public static class LossChart
{
    public static byte[] RenderPng(string title, IEnumerable<LossSeries> series, double? baseline)
    {
        var plot = new Plot();
        var palette = new ScottPlot.Palettes.Category10();
        var index = 0;
        foreach (var line in series)
        {
            if (line.Tokens.Count == 0) continue;
            var scatter = plot.Add.Scatter(line.Tokens.ToArray(), line.Loss.ToArray());
            scatter.LegendText = line.Label;
            scatter.Color = palette.GetColor(index++ / 2);
            scatter.MarkerSize = line.Dashed ? 5 : 0;
            if (line.Dashed) scatter.LinePattern = LinePattern.Dashed;
        }
        if (baseline is { } unigram)
        {
            var reference = plot.Add.HorizontalLine(unigram);
            reference.LegendText = "unigram baseline (validation)";
            reference.Color = Colors.Gray;
            reference.LinePattern = LinePattern.Dotted;
        }
        plot.Title(title);
        plot.XLabel("training tokens");
        plot.YLabel("loss (nats/token)");
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(900, 500, ImageFormat.Png);
    }
}
