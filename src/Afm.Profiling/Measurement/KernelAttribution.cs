using System.Text.RegularExpressions;
using Scopes = Afm.Onnx.Export.DecoderNames.Scopes;

namespace Afm.Profiling.Measurement;

/// <summary>
/// Which op of <see cref="Model.DecoderOpCosts"/> a node of the exported model belongs to, read from the scopes the exporter
/// puts in node names (<see cref="Scopes"/>). ONNX Runtime names a fused node after one of the nodes it replaces
/// (<c>layers.0.attn_norm/Mul_21/SimplifiedLayerNormFusion/</c>), so the names of the optimized graph, and of the
/// profiler's events, carry the same scopes.
/// </summary>
public static partial class KernelAttribution
{
    /// <summary>Op name of nodes no scope claims (none in an export; kept visible rather than dropped).</summary>
    public const string Unscoped = "(unscoped)";

    /// <summary>The op of each node, given every node of the graph (residual additions are told apart by creation order).</summary>
    public static IReadOnlyList<string> Attribute(IReadOnlyList<string> nodeNames)
    {
        var parsed = nodeNames.Select(Parse).ToList();
        // A block's nodes in no inner scope are its two residual additions: the attention's is created before the
        // MLP's norm, the MLP's after it (DecoderGraph.Block).
        var mlpNormStart = parsed.Where(p => p.Inner is not null && p.Inner == p.Block + ".mlp_norm")
            .GroupBy(p => p.Block!).ToDictionary(g => g.Key, g => g.Min(p => p.Index));
        return parsed.Select(p => OpOf(p, mlpNormStart)).ToList();
    }

    private sealed record Parsed(string? Block, string? Inner, int Index);

    private static Parsed Parse(string name)
    {
        var segments = name.Split('/');
        string? block = segments.Length > 1 && IsBlock(segments[0]) ? segments[0] : null;
        string? inner = null;
        int index = int.MaxValue;
        for (int i = block is null ? 0 : 1; i < segments.Length; i++)
        {
            var match = NodeName().Match(segments[i]);
            if (match.Success) { index = int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture); break; }
            inner = segments[i];
        }
        return new Parsed(block, inner, index);
    }

    private static bool IsBlock(string segment) =>
        segment is Scopes.Embed or Scopes.Positions or Scopes.Head || LayerBlock().IsMatch(segment);

    private static string OpOf(Parsed p, IReadOnlyDictionary<string, int> mlpNormStart)
    {
        switch (p.Block)
        {
            case null: return Unscoped;
            case Scopes.Embed: return "embed";
            case Scopes.Positions: return "positions";
            case Scopes.Head: return p.Inner == "norm" ? "norm" : "lm_head";
        }
        var block = p.Block;
        return p.Inner switch
        {
            null => mlpNormStart.TryGetValue(block, out var start) && p.Index > start ? $"{block}.mlp_residual" : $"{block}.attn_residual",
            Scopes.Attention => $"{block}.attn.attention",
            Scopes.Rope => $"{block}.attn.rope",
            Scopes.SwiGlu => $"{block}.mlp.swiglu",
            Scopes.Positions => "positions",
            _ when p.Inner == block + ".attn.q_norm" || p.Inner == block + ".attn.k_norm" => $"{block}.attn.qk_norm",
            _ when p.Inner.StartsWith(block + ".", StringComparison.Ordinal) => p.Inner,
            _ => Unscoped,
        };
    }

    [GeneratedRegex(@"^layers\.\d+$")]
    private static partial Regex LayerBlock();

    [GeneratedRegex(@"^[A-Za-z]+_(\d+)$")]
    private static partial Regex NodeName();
}
