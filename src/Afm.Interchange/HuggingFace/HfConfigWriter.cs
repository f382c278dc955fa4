using System.Text.Json.Nodes;
using Afm.Core.Spec;

namespace Afm.Interchange.HuggingFace;

/// <summary>
/// config.json and generation_config.json for a decoder, in the keys of the family's configuration class. Every value
/// is one <see cref="HfConfig.Read"/> reads back to the same architecture (the exporter checks that it does), so an
/// export imports as itself.
/// </summary>
internal static class HfConfigWriter
{
    public static JsonObject Config(HfFamily family, ArchitectureSpec a, double ropeBase, int? bos, IReadOnlyList<int> eos)
    {
        var config = family == HfFamily.OpenElm ? OpenElm(a, ropeBase) : LlamaLike(family, a, ropeBase);
        if (bos is int b) config["bos_token_id"] = b;
        if (eos.Count > 0) config["eos_token_id"] = Ids(eos);
        config["torch_dtype"] = "float32";
        return Sorted(config);
    }

    public static JsonObject Generation(int? bos, IReadOnlyList<int> eos)
    {
        var config = new JsonObject { ["_from_model_config"] = false };
        if (bos is int b) config["bos_token_id"] = b;
        if (eos.Count > 0) config["eos_token_id"] = Ids(eos);
        return Sorted(config);
    }

    private static JsonNode Ids(IReadOnlyList<int> ids) => ids.Count == 1 ? JsonValue.Create(ids[0]) : new JsonArray(ids.Select(i => (JsonNode)i).ToArray());

    private static JsonObject LlamaLike(HfFamily family, ArchitectureSpec a, double ropeBase)
    {
        var config = new JsonObject
        {
            ["architectures"] = new JsonArray(HfFamilies.ClassName(family)),
            ["model_type"] = HfFamilies.ModelType(family),
            ["hidden_size"] = a.ModelDim,
            ["num_hidden_layers"] = a.Layers,
            ["num_attention_heads"] = a.Heads,
            ["num_key_value_heads"] = a.KvHeads,
            ["intermediate_size"] = a.FfnDim,
            ["vocab_size"] = a.VocabSize,
            // Written for every family: Qwen3 defaults it to 128 whatever the width, the others derive it.
            ["head_dim"] = a.HeadDim,
            ["hidden_act"] = "silu",
            ["max_position_embeddings"] = a.MaxSequenceLength,
            ["rms_norm_eps"] = a.NormEpsilon,
            ["rope_theta"] = ropeBase,
            ["rope_scaling"] = null,
            ["tie_word_embeddings"] = a.TieEmbeddings,
            ["attention_dropout"] = 0.0,
        };
        if (family is HfFamily.Llama or HfFamily.Qwen3) config["attention_bias"] = false;
        if (family == HfFamily.Llama) config["mlp_bias"] = false;
        if (family is HfFamily.Qwen2 or HfFamily.Qwen3) config["use_sliding_window"] = false;
        return config;
    }

    /// <summary>
    /// OpenELM's keys. configuration_openelm.py recomputes the per-layer heads from qkv_multipliers on every load, so the
    /// heads must come out of its rule: the multipliers of the first and last layer, ramped; FFN widths are exact with
    /// per-layer multipliers and a divisor every width is a multiple of. A model whose shapes the rule cannot give is refused.
    /// </summary>
    private static JsonObject OpenElm(ArchitectureSpec a, double ropeBase)
    {
        var shapes = Enumerable.Range(0, a.Layers).Select(a.Layer).ToList();
        var groups = shapes.Select(s => s.Heads / Math.Max(1, s.KvHeads)).Distinct().ToList();
        if (groups.Count != 1 || shapes.Any(s => s.Heads % s.KvHeads != 0))
            throw new NotSupportedException("OpenELM shares one num_gqa_groups across layers; this model's query/key-value head ratio varies by layer.");
        if (a.AttentionBias) throw new NotSupportedException("OpenELM has no attention biases.");
        if (a.NormEpsilon != 1e-6) throw new NotSupportedException($"OpenELM's RMSNorm epsilon is fixed at 1e-6; this model's is {a.NormEpsilon:R}.");
        double Round2(double v) => Math.Round(v * 100, MidpointRounding.ToEven) / 100;
        var qkv = new JsonArray(Round2((double)shapes[0].Heads * a.HeadDim / a.ModelDim), Round2((double)shapes[^1].Heads * a.HeadDim / a.ModelDim));
        int divisor = shapes.Select(s => s.FfnDim).Aggregate(Gcd);
        return new JsonObject
        {
            ["architectures"] = new JsonArray(HfFamilies.ClassName(HfFamily.OpenElm)),
            ["model_type"] = HfFamilies.ModelType(HfFamily.OpenElm),
            ["model_dim"] = a.ModelDim,
            ["num_transformer_layers"] = a.Layers,
            ["head_dim"] = a.HeadDim,
            ["num_gqa_groups"] = groups[0],
            ["qkv_multipliers"] = qkv,
            ["num_query_heads"] = new JsonArray(shapes.Select(s => (JsonNode)s.Heads).ToArray()),
            ["num_kv_heads"] = new JsonArray(shapes.Select(s => (JsonNode)s.KvHeads).ToArray()),
            ["ffn_multipliers"] = new JsonArray(shapes.Select(s => (JsonNode)((double)s.FfnDim / a.ModelDim)).ToArray()),
            ["ffn_dim_divisor"] = divisor,
            ["ffn_with_glu"] = true,
            ["activation_fn_name"] = "swish",
            ["normalization_layer_name"] = "rms_norm",
            ["normalize_qk_projections"] = a.QkNorm,
            ["share_input_output_layers"] = a.TieEmbeddings,
            ["rope_freq_constant"] = ropeBase,
            ["rope_max_length"] = 2L * a.MaxSequenceLength,
            ["max_context_length"] = a.MaxSequenceLength,
            ["vocab_size"] = a.VocabSize,
        };
    }

    private static int Gcd(int x, int y) => y == 0 ? x : Gcd(y, x % y);

    /// <summary>Keys in ordinal order: the same model gives the same bytes.</summary>
    private static JsonObject Sorted(JsonObject config)
    {
        var sorted = new JsonObject();
        foreach (var (key, value) in config.OrderBy(p => p.Key, StringComparer.Ordinal).ToList())
        {
            config.Remove(key);
            sorted[key] = value;
        }
        return sorted;
    }
}
