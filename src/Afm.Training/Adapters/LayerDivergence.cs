using Afm.Data.Packing;
using Afm.Training.Model;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Adapters;

/// <summary>
/// One part of the model in the per-layer KL of a recovery adapter (specs/adapters.md, "Per-layer KL"): KL(float ‖ the float
/// model with only this part's weights quantized), nats/token, and the same with this part's adapter pairs attached (null
/// for a part LoRA does not adapt: the embedding, which is also the output projection when tied).
/// </summary>
/// <param name="Part">"layers.&lt;i&gt;" (a block's projections and norms) or a top-level module ("embed", "lm_head").</param>
public sealed record LayerDivergence(string Part, double Quantized, double? Adapted);

/// <summary>
/// Which parts of the model carry the quantization loss, before and after a recovery adapter: each part is put alone in its
/// quantized form into a float model and measured against the float model on the adapter's validation sequences, once
/// bare and once with the adapter's pairs of that part. Parts the quantizer leaves as they were (norm vectors) are not
/// listed. The figures are marginal: the parts' KLs need not add up to the whole model's, and an adapter pair may
/// correct an error of another part (which a part's "adapted" figure then does not show); the whole model's KL before and
/// after is beside them in the report.
/// </summary>
internal static class LayerDivergences
{
    /// <summary>"layers.3" for layers.3.attn.q_proj.weight, "embed" for embed.weight.</summary>
    public static string PartOf(string weight)
    {
        int first = weight.IndexOf('.', StringComparison.Ordinal);
        if (first < 0) return weight;
        if (!weight.StartsWith("layers.", StringComparison.Ordinal)) return weight[..first];
        int second = weight.IndexOf('.', first + 1);
        return second < 0 ? weight : weight[..second];
    }

    /// <param name="probe">A float model to put the parts into, one at a time; left as the float model after.</param>
    /// <param name="quantizedOnly">Cached KL per part without adapter, filled on first use (the same for every adapter on the same data).</param>
    /// <remarks>
    /// One pass over the sequences: per batch the float model's logits are computed once and every variant (each part bare,
    /// unless cached, then with the adapter's pairs of that part) is measured against them, as the quantize stage measures its
    /// variants (<see cref="Evaluator.MeanLossesAndDivergences"/>); each variant's value is the one a pass of its own gives.
    /// The probe's part is swapped in before the part's first variant and back after its last, on every batch.
    /// </remarks>
    public static IReadOnlyList<LayerDivergence> Measure(AfmDecoder floatModel, AfmDecoder quantizedBase, AfmDecoder probe, LoraAdapter adapter,
        IPackedSequences validation, IDictionary<string, double> quantizedOnly)
    {
        var indices = Evaluator.Spread(validation, AdapterEvaluator.MaxSequences);
        var floats = floatModel.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        var quantized = quantizedBase.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        var probes = probe.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        var parts = floats.Keys.Where(name => !SameValues(floats[name], quantized[name])).GroupBy(PartOf, StringComparer.Ordinal).ToList();
        var adapted = adapter.Pairs.Select(p => PartOf(p.Weight)).ToHashSet(StringComparer.Ordinal);
        // Per part, the variants it needs: bare (unless cached) and with the pairs (if the adapter has pairs there); the
        // first swaps the quantized part in, the last swaps the float part back.
        var variants = new List<(string Part, bool WithAdapter)>();
        foreach (var part in parts)
        {
            if (!quantizedOnly.ContainsKey(part.Key)) variants.Add((part.Key, false));
            if (adapted.Contains(part.Key)) variants.Add((part.Key, true));
        }
        var names = parts.ToDictionary(p => p.Key, p => p.ToList(), StringComparer.Ordinal);
        var forwards = variants.Select((v, i) => (Func<Tensor, Tensor>)(inputs =>
        {
            if (i == 0 || variants[i - 1].Part != v.Part) Copy(names[v.Part], quantized, probes);
            bool last = i == variants.Count - 1 || variants[i + 1].Part != v.Part;
            if (v.WithAdapter) adapter.Attach(probe, weight => PartOf(weight) == v.Part);
            try { return probe.forward(inputs); }
            finally
            {
                if (v.WithAdapter) adapter.Detach();
                if (last) Copy(names[v.Part], floats, probes);
            }
        })).ToList();
        (double Loss, double Divergence)[] measured = [];
        try
        {
            if (forwards.Count > 0)
                measured = Evaluator.MeanLossesAndDivergences([floatModel, probe], floatModel.forward, forwards, validation, indices).Variants;
        }
        finally
        {
            foreach (var part in parts) Copy(part, floats, probes);
        }
        var result = new List<LayerDivergence>();
        foreach (var part in parts)
        {
            int bare = variants.IndexOf((part.Key, false)), withAdapter = variants.IndexOf((part.Key, true));
            if (bare >= 0) quantizedOnly[part.Key] = measured[bare].Divergence;
            result.Add(new LayerDivergence(part.Key, AdapterTrainer.Round(quantizedOnly[part.Key]),
                withAdapter >= 0 ? AdapterTrainer.Round(measured[withAdapter].Divergence) : null));
        }
        return result;
    }

    private static void Copy(IEnumerable<string> names, Dictionary<string, TorchSharp.Modules.Parameter> from, Dictionary<string, TorchSharp.Modules.Parameter> to)
    {
        using var noGrad = no_grad();
        foreach (string name in names) to[name].copy_(from[name]);
    }

    private static bool SameValues(Tensor a, Tensor b)
    {
        using var noGrad = no_grad();
        return a.shape.SequenceEqual(b.shape) && a.eq(b).all().item<bool>();
    }
}
