using System.Text.Json.Nodes;
using Afm.Core.Spec;

namespace Afm.Interchange.HuggingFace;

/// <summary>A checkpoint's config.json (and generation_config.json) as the generalized decoder's architecture.</summary>
public sealed record HfConfig
{
    public required HfFamily Family { get; init; }
    public required ArchitectureSpec Architecture { get; init; }
    public int? BosTokenId { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];

    public string ClassName => HfFamilies.ClassName(Family);

    /// <summary>
    /// Reads <c>config.json</c> of <paramref name="folder"/> (and its <c>generation_config.json</c> when present). Every
    /// setting that changes the computation is either honoured or refused: an unknown architecture, a rope_scaling, an
    /// activation other than SiLU, biases other than Qwen2's q/k/v ones are errors, never approximations.
    /// </summary>
    /// <exception cref="BaseModelException">What is missing or not supported, with its AFM16xx code.</exception>
    public static HfConfig Read(string folder)
    {
        var path = Path.Combine(folder, HfLayout.Config);
        if (!File.Exists(path))
            throw new BaseModelException(InterchangeCodes.ConfigMissing,
                $"{folder} has no {HfLayout.Config}, so it is not a Hugging Face checkpoint. Point Include at the folder that holds config.json and model.safetensors.");
        var config = HfJson.Load(path, InterchangeCodes.ConfigMalformed);
        var family = ReadFamily(config);
        var architecture = family == HfFamily.OpenElm ? OpenElm(config) : LlamaLike(config, family);

        // generation_config.json is what generate() uses; config.json's ids are the fallback.
        var generationPath = Path.Combine(folder, HfLayout.GenerationConfig);
        var generation = File.Exists(generationPath) ? HfJson.Load(generationPath, InterchangeCodes.ConfigMalformed) : null;
        var bos = generation?.Ids("bos_token_id") is { Count: > 0 } g ? g : config.Ids("bos_token_id");
        var eos = generation?.Ids("eos_token_id") is { Count: > 0 } e ? e : config.Ids("eos_token_id");
        foreach (var id in bos.Concat(eos))
            if (id >= architecture.VocabSize)
                throw config.Malformed($"(or generation_config.json) names token id {id} as bos/eos, outside the vocabulary of {architecture.VocabSize}");
        return new HfConfig { Family = family, Architecture = architecture, BosTokenId = bos.Count > 0 ? bos[0] : null, EosTokenIds = eos };
    }

    private static HfFamily ReadFamily(HfJson config)
    {
        var names = config.Node("architectures") is JsonArray a ? a.Select(n => n?.ToString() ?? "").ToList() : [];
        if (names.Count == 0)
            throw config.Malformed("has no 'architectures' list, so the model class is unknown");
        var known = string.Join(", ", HfFamilies.All.Select(f => f.ClassName));
        if (names.Count > 1)
            throw new BaseModelException(InterchangeCodes.UnknownArchitecture, $"config.json names {names.Count} architectures ({string.Join(", ", names)}); the toolchain reads checkpoints of one: {known}.");
        return HfFamilies.FromClassName(names[0]) ?? throw new BaseModelException(InterchangeCodes.UnknownArchitecture,
            $"config.json's architecture '{names[0]}' is not one the toolchain can import; it reads {known}.");
    }

    /// <summary>Llama, Mistral, Qwen2 and Qwen3: the same keys, with each family's defaults (those of transformers' config classes).</summary>
    private static ArchitectureSpec LlamaLike(HfJson config, HfFamily family)
    {
        RefuseRopeScaling(config);
        var act = config.String("hidden_act") ?? "silu";
        if (act != "silu")
            throw Unsupported($"config.json's hidden_act is '{act}', but the decoder's MLP is SwiGLU (silu)");
        if (config.Bool("attention_bias", false) && family != HfFamily.Qwen2)
            throw Unsupported("config.json sets attention_bias, which adds a bias to o_proj as well; the decoder has biases on q/k/v only (Qwen2's)");
        if (config.Bool("mlp_bias", false))
            throw Unsupported("config.json sets mlp_bias; the decoder's MLP has no biases");

        int dim = config.Int("hidden_size"), heads = config.Int("num_attention_heads");
        int kvHeads = config.Int("num_key_value_heads", heads);
        if (heads % kvHeads != 0)
            throw config.Malformed($"has num_key_value_heads {kvHeads}, which does not divide num_attention_heads {heads}");
        // Qwen3's head_dim defaults to 128 whatever the width; the others derive it (a null head_dim means derive too).
        int? headDim = config.Node("head_dim") is null
            ? (family == HfFamily.Qwen3 ? 128 : null)
            : config.Int("head_dim");
        if (headDim is null && dim % heads != 0)
            throw config.Malformed($"has hidden_size {dim}, which num_attention_heads {heads} does not divide, and no head_dim");
        int effectiveHeadDim = headDim ?? dim / heads;
        if (effectiveHeadDim % 2 != 0)
            throw config.Malformed($"gives an odd head dimension ({effectiveHeadDim}), but RoPE rotates pairs of dimensions");
        int maxPositions = config.Int("max_position_embeddings", family switch
        {
            HfFamily.Llama => 2048,
            HfFamily.Mistral => 4096 * 32,
            _ => 32768,
        });
        return new ArchitectureSpec
        {
            ModelDim = dim,
            Layers = config.Int("num_hidden_layers"),
            Heads = heads,
            KvHeads = kvHeads,
            FfnDim = config.Int("intermediate_size"),
            VocabSize = config.Int("vocab_size"),
            RopeBase = config.Double("rope_theta", 10000),
            TieEmbeddings = config.Bool("tie_word_embeddings", false),
            QkNorm = family == HfFamily.Qwen3,
            MaxSequenceLength = Math.Min(maxPositions, SlidingWindow(config, family) ?? int.MaxValue),
            NormEpsilon = config.Double("rms_norm_eps", 1e-6),
            ExplicitHeadDim = headDim is int h && h * heads != dim ? h : null,
            AttentionBias = family == HfFamily.Qwen2,
        };
    }

    /// <summary>
    /// A sliding attention window only changes attention over contexts longer than it: the imported model's context is
    /// capped at the window, where full causal attention computes exactly what the window does.
    /// </summary>
    private static int? SlidingWindow(HfJson config, HfFamily family)
    {
        bool used = family switch
        {
            HfFamily.Mistral => true,
            HfFamily.Qwen2 or HfFamily.Qwen3 => config.Bool("use_sliding_window", false),
            _ => false,
        };
        if (!used || config.Node("sliding_window") is null) return null;
        return config.Int("sliding_window");
    }

    private static void RefuseRopeScaling(HfJson config)
    {
        if (config.Node("rope_scaling") is not JsonObject scaling) return;
        var type = (scaling["rope_type"] ?? scaling["type"])?.ToString();
        // transformers reads {"rope_type": "default"} as no scaling at all.
        if (type == "default" && scaling.Count == 1) return;
        throw new BaseModelException(InterchangeCodes.RopeScalingNotSupported,
            $"config.json sets rope_scaling ({scaling.ToJsonString()}), which changes RoPE's frequencies; the decoder implements plain RoPE only, " +
            "so the model would compute something else. Use a checkpoint without rope_scaling.");
    }

    /// <summary>OpenELM (Apple's configuration_openelm.py): per-layer query/kv heads and FFN multipliers.</summary>
    private static ArchitectureSpec OpenElm(HfJson config)
    {
        if (!config.Bool("ffn_with_glu", true))
            throw Unsupported("config.json sets ffn_with_glu to false; the decoder's MLP is gated (SwiGLU)");
        var act = config.String("activation_fn_name") ?? "swish";
        if (act is not ("swish" or "silu"))
            throw Unsupported($"config.json's activation_fn_name is '{act}', but the decoder's MLP is SwiGLU (swish)");
        var norm = config.String("normalization_layer_name") ?? "rms_norm";
        if (norm != "rms_norm")
            throw Unsupported($"config.json's normalization_layer_name is '{norm}'; the decoder uses RMSNorm");
        RefuseRopeScaling(config);

        int dim = config.Int("model_dim"), layers = config.Int("num_transformer_layers"), headDim = config.Int("head_dim");
        if (headDim % 2 != 0) throw config.Malformed($"has an odd head_dim ({headDim}), but RoPE rotates pairs of dimensions");
        var (queryHeads, kvHeads) = OpenElmHeads(config, dim, layers, headDim);
        var ffn = OpenElmFfnWidths(config, dim, layers);
        var shapes = Enumerable.Range(0, layers).Select(i => new LayerShape(queryHeads[i], kvHeads[i], ffn[i])).ToList();
        bool uniform = shapes.All(s => s == shapes[0]);
        int heads = shapes.Max(s => s.Heads);
        return new ArchitectureSpec
        {
            ModelDim = dim,
            Layers = layers,
            Heads = heads,
            KvHeads = shapes.Max(s => s.KvHeads),
            FfnDim = shapes.Max(s => s.FfnDim),
            VocabSize = config.Int("vocab_size"),
            RopeBase = config.Double("rope_freq_constant", 10000),
            TieEmbeddings = config.Bool("share_input_output_layers", false),
            QkNorm = config.Bool("normalize_qk_projections", false),
            MaxSequenceLength = config.Int("max_context_length", 2048),
            // modeling_openelm.py's OpenELMRMSNorm: eps 1e-6, not configurable.
            NormEpsilon = 1e-6,
            ExplicitHeadDim = uniform && headDim * heads == dim ? null : headDim,
            LayerShapes = uniform ? null : shapes,
        };
    }

    /// <summary>
    /// Per-layer heads as configuration_openelm.py's __post_init__ computes them (it recomputes them from qkv_multipliers
    /// on every load, whatever num_query_heads says): query width = make_divisible(model_dim x multiplier, head_dim x
    /// num_gqa_groups), kv heads = query heads / num_gqa_groups. Saved lists that disagree are a malformed config.
    /// </summary>
    private static (int[] Query, int[] Kv) OpenElmHeads(HfJson config, int dim, int layers, int headDim)
    {
        int groups = config.Int("num_gqa_groups", 1);
        var multipliers = Ramp(config, "qkv_multipliers", config.Numbers("qkv_multipliers") ?? [1.0], layers, allowPerLayer: false);
        var query = multipliers.Select(m => (int)(LayerWiseScaling.MakeDivisible(dim * m, (long)headDim * groups) / headDim)).ToArray();
        var kv = query.Select(q => q / groups).ToArray();
        if (kv.Any(k => k == 0)) throw config.Malformed($"gives a layer with no key/value head (num_gqa_groups {groups})");
        Check(config, "num_query_heads", query, layers);
        Check(config, "num_kv_heads", kv, layers);
        return (query, kv);
    }

    private static int[] OpenElmFfnWidths(HfJson config, int dim, int layers)
    {
        int divisor = config.Int("ffn_dim_divisor", 256);
        var multipliers = Ramp(config, "ffn_multipliers", config.Numbers("ffn_multipliers") ?? [4.0], layers, allowPerLayer: true);
        return multipliers.Select(m => checked((int)LayerWiseScaling.MakeDivisible(m * dim, divisor))).ToArray();
    }

    /// <summary>One number: every layer; two: the ramp of <see cref="LayerWiseScaling.Multipliers"/> (np.linspace, 2 decimals); per-layer lists as they are.</summary>
    private static double[] Ramp(HfJson config, string key, IReadOnlyList<double> values, int layers, bool allowPerLayer)
    {
        if (values.Any(v => v <= 0)) throw config.Malformed($"has a non-positive entry in '{key}'");
        if (values.Count == 1) return Enumerable.Repeat(values[0], layers).ToArray();
        if (allowPerLayer && values.Count == layers) return values.ToArray();
        if (values.Count == 2) return LayerWiseScaling.Multipliers(values, layers);
        throw config.Malformed($"has {values.Count} entries in '{key}'; it takes one number, two (first and last layer){(allowPerLayer ? " or one per layer" : "")}");
    }

    private static void Check(HfJson config, string key, int[] computed, int layers)
    {
        if (!config.Has(key) || config.Node(key) is not JsonArray) return;
        var saved = config.Numbers(key)!;
        if (saved.Count != layers || saved.Select((v, i) => v != computed[i]).Any(x => x))
            throw config.Malformed($"has '{key}' [{string.Join(", ", saved)}], but its qkv_multipliers, num_gqa_groups, model_dim and head_dim give [{string.Join(", ", computed)}]");
    }

    private static BaseModelException Unsupported(string what) =>
        new(InterchangeCodes.UnsupportedArchitectureFeature, what + ". Importing it would compute a different model, so it is refused.");
}
