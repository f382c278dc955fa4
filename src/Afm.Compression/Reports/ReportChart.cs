using ScottPlot;

namespace Afm.Compression.Reports;

/// <summary>reports/quantization-bits.png: bits per layer (bars) and each layer's predicted loss contribution (line, right axis).</summary>
public static class ReportChart
{
    public static byte[] RenderPng(string title, QuantizationReport report)
    {
        var layers = report.Layers.Where(l => l.Role != "vector").ToList();
        var plot = new Plot();
        var positions = Enumerable.Range(0, layers.Count).Select(i => (double)i).ToArray();
        var bars = plot.Add.Bars(positions, layers.Select(l => l.BitsPerWeight).ToArray());
        bars.LegendText = "effective bits/weight";
        var loss = plot.Add.Scatter(positions, layers.Select(l => l.LossContribution ?? 0).ToArray());
        loss.LegendText = "loss contribution (nats/token)";
        loss.Axes.YAxis = plot.Axes.Right;
        loss.Color = Colors.OrangeRed;
        plot.Axes.Bottom.SetTicks(positions, layers.Select(l => l.Name).ToArray());
        plot.Axes.Bottom.TickLabelStyle.Rotation = 60;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.MinimumSize = 150;
        plot.Axes.Left.Label.Text = "bits per weight";
        plot.Axes.Right.Label.Text = "loss contribution";
        plot.Title(title);
        plot.ShowLegend(Alignment.UpperRight);
        return plot.GetImageBytes(Math.Max(900, 28 * layers.Count), 600, ImageFormat.Png);
    }
}
