using Afm.Profiling.Formats;
using Afm.Profiling.Model;
using Afm.Profiling.Profile;
using ScottPlot;

namespace Afm.Profiling.Reports;

/// <summary>One bar per block (embedding, each layer, head), stacked by kind of operation: one PNG per phase.</summary>
public static class ProfileChart
{
    private static readonly (string Label, Func<OpKind, bool> Has)[] Stacks =
    [
        ("projections", k => k is OpKind.Linear or OpKind.Embedding),
        ("attention", k => k is OpKind.Attention or OpKind.Rope or OpKind.Positions),
        ("norms", k => k is OpKind.RmsNorm or OpKind.QkNorm),
        ("activation + residual", k => k is OpKind.SwiGlu or OpKind.Residual),
    ];

    public static byte[] RenderPng(ProfileDocument profile, Phase phase)
    {
        var costs = new LayerCosts(profile);
        var groups = profile.Ops.Select(o => o.Group).Distinct(StringComparer.Ordinal).ToList();
        var palette = new ScottPlot.Palettes.Category10();
        var plot = new Plot();
        {
            var bars = new List<Bar>();
            for (int g = 0; g < groups.Count; g++)
            {
                double bottom = 0;
                for (int s = 0; s < Stacks.Length; s++)
                {
                    double ms = profile.Ops.Where(o => o.Group == groups[g] && Stacks[s].Has(o.Kind))
                        .Sum(o => o.CostOf(phase, costs.FormatOf(o.Layer, new Dictionary<string, WeightFormat>())).LatencyMs);
                    bars.Add(new Bar { Position = g, ValueBase = bottom, Value = bottom + ms, FillColor = palette.GetColor(s) });
                    bottom += ms;
                }
            }
            plot.Add.Bars(bars);
            plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual(
                Enumerable.Range(0, groups.Count).Select(i => (double)i).ToArray(), groups.ToArray());
            plot.Axes.Margins(bottom: 0);
            plot.Title($"{profile.Model} on {profile.Device.Name}: {(phase == Phase.Prefill ? $"prefill of {profile.Workload.PromptTokens} tokens" : $"decode step at {profile.Workload.ContextTokens} tokens")} ({profile.BaselineFormat})");
            plot.YLabel("latency (ms)");
            for (int s = 0; s < Stacks.Length; s++)
                plot.Legend.ManualItems.Add(new LegendItem { LabelText = Stacks[s].Label, FillColor = palette.GetColor(s) });
            plot.ShowLegend(Alignment.UpperRight);
        }
        return plot.GetImageBytes(1000, 450, ImageFormat.Png);
    }
}
