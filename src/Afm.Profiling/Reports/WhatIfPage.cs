using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;
using Afm.Profiling.Formats;
using Afm.Profiling.Profile;

namespace Afm.Profiling.Reports;

/// <summary>
/// A self-contained HTML page (no network, no external script) in the spirit of Talaria: one format selector per
/// layer, and totals (prefill and decode latency, decode energy, weight memory) that are recomputed in the page
/// when a selector changes. The page carries the per-layer costs; the arithmetic is the same sum as <see cref="LayerCosts.Totals"/>.
/// </summary>
public static class WhatIfPage
{
    /// <summary>Element ids a test (or a person's script) can read.</summary>
    public const string DecodeTotalId = "total-decode-ms", PrefillTotalId = "total-prefill-ms", EnergyTotalId = "total-decode-mj", WeightsTotalId = "total-weights-mb";

    public static string Render(ProfileDocument profile, IReadOnlyDictionary<string, WeightFormat>? initial = null)
    {
        var costs = new LayerCosts(profile);
        initial ??= new Dictionary<string, WeightFormat>();
        var fixedCosts = new[] { Phase.Prefill, Phase.Decode }.ToDictionary(ProfiledOp.PhaseKey, phase =>
        {
            var ops = profile.Ops.Where(o => o.Layer is null).Select(o => o.CostOf(phase, default)).ToList();
            return new { latencyMs = ops.Sum(c => c.LatencyMs), energyMj = ops.Sum(c => c.EnergyMj) };
        });
        var layers = costs.Layers.Select(layer => new
        {
            name = layer,
            selected = costs.FormatOf(layer, initial).Name,
            formats = profile.Formats.ToDictionary(f => f, f =>
            {
                WeightFormat.TryParse(f, out var format);
                var prefill = costs.Cost(layer, format, Phase.Prefill);
                var decode = costs.Cost(layer, format, Phase.Decode);
                return new { prefillMs = prefill.LatencyMs, decodeMs = decode.LatencyMs, decodeMj = decode.EnergyMj, weightBytes = decode.WeightBytes };
            }),
        }).ToList();
        var data = JsonSerializer.Serialize(new { fixedCosts, layers, formats = profile.Formats }).Replace("</", "<\\/", StringComparison.Ordinal);

        var html = new StringBuilder();
        html.AppendLine("<!DOCTYPE html>");
        html.AppendLine("<html lang=\"en\"><head><meta charset=\"utf-8\">");
        html.AppendLine($"<title>{Encode(profile.Model)} on {Encode(profile.Device.Name)}: what-if</title>");
        html.AppendLine("<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{padding:2px 10px;border-bottom:1px solid #ddd;text-align:right}td:first-child,th:first-child{text-align:left}.totals span{font-weight:bold}</style>");
        html.AppendLine("</head><body>");
        html.AppendLine($"<h1>{Encode(profile.Model)} on {Encode(profile.Device.Name)}</h1>");
        html.AppendLine(string.Create(CultureInfo.InvariantCulture,
            $"<p>Prefill of {profile.Workload.PromptTokens} tokens; one decode step at a context of {profile.Workload.ContextTokens} tokens. Choose a format per layer; the totals follow.</p>"));
        html.AppendLine("<p class=\"totals\">");
        html.AppendLine($"Prefill: <span id=\"{PrefillTotalId}\"></span> ms &middot; Decode step: <span id=\"{DecodeTotalId}\"></span> ms &middot; ");
        html.AppendLine($"Decode energy: <span id=\"{EnergyTotalId}\"></span> mJ &middot; Weights: <span id=\"{WeightsTotalId}\"></span> MB</p>");
        html.AppendLine("<table><thead><tr><th>layer</th><th>format</th><th>decode ms</th><th>weights KB</th></tr></thead><tbody id=\"layers\"></tbody></table>");
        html.AppendLine($"<script id=\"profile-data\" type=\"application/json\">{data}</script>");
        html.AppendLine("<script>");
        html.AppendLine(Script);
        html.AppendLine("</script></body></html>");
        return html.ToString();
    }

    private static string Encode(string text) => WebUtility.HtmlEncode(text);

    // Plain DOM code: the page must work opened from disk, with no library and no network.
    private const string Script = """
const data = JSON.parse(document.getElementById('profile-data').textContent);
const body = document.getElementById('layers');
function fmt(x, digits) { return x.toFixed(digits); }
function update() {
  let prefill = data.fixedCosts.prefill.latencyMs, decode = data.fixedCosts.decode.latencyMs;
  let energy = data.fixedCosts.decode.energyMj, weights = 0;
  for (const layer of data.layers) {
    const c = layer.formats[layer.selected];
    prefill += c.prefillMs; decode += c.decodeMs; energy += c.decodeMj; weights += c.weightBytes;
    layer.row.cells[2].textContent = fmt(c.decodeMs, 4);
    layer.row.cells[3].textContent = fmt(c.weightBytes / 1e3, 1);
  }
  document.getElementById('total-prefill-ms').textContent = fmt(prefill, 4);
  document.getElementById('total-decode-ms').textContent = fmt(decode, 4);
  document.getElementById('total-decode-mj').textContent = fmt(energy, 5);
  document.getElementById('total-weights-mb').textContent = fmt(weights / 1e6, 4);
}
for (const layer of data.layers) {
  const row = body.insertRow();
  row.insertCell().textContent = layer.name;
  const select = document.createElement('select');
  select.name = layer.name;
  for (const f of data.formats) {
    const option = document.createElement('option');
    option.value = f; option.textContent = f; option.selected = f === layer.selected;
    select.appendChild(option);
  }
  select.addEventListener('change', () => { layer.selected = select.value; update(); });
  row.insertCell().appendChild(select);
  row.insertCell(); row.insertCell();
  layer.row = row;
}
update();
""";
}
