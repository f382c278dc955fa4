using System.Globalization;
using System.Text.RegularExpressions;

namespace Afm.Interchange.Gguf;

/// <summary>
/// The one name map between our weights (src/Afm.Training/Model/AfmDecoder.cs) and llama.cpp's GGUF tensor names
/// (gguf-py's <c>MODEL_TENSORS</c> / <c>TENSOR_NAMES</c>), and the metadata keys llama.cpp reads. Used to write a model,
/// an adapter and to read either back.
/// </summary>
public static partial class GgufNames
{
    /// <summary>Weights outside the layers: ours -> GGUF.</summary>
    private static readonly (string Ours, string Gguf)[] Global =
    [
        ("embed", "token_embd"),
        ("norm", "output_norm"),
        ("lm_head", "output"),
    ];

    /// <summary>Weights of layer i (<c>layers.{i}.X</c> -> <c>blk.{i}.Y</c>), without the .weight / .bias suffix.</summary>
    private static readonly (string Ours, string Gguf)[] Layer =
    [
        ("attn_norm", "attn_norm"),
        ("attn.q_proj", "attn_q"),
        ("attn.k_proj", "attn_k"),
        ("attn.v_proj", "attn_v"),
        ("attn.o_proj", "attn_output"),
        ("attn.q_norm", "attn_q_norm"),
        ("attn.k_norm", "attn_k_norm"),
        ("mlp_norm", "ffn_norm"),
        ("mlp.gate_proj", "ffn_gate"),
        ("mlp.up_proj", "ffn_up"),
        ("mlp.down_proj", "ffn_down"),
    ];

    [GeneratedRegex(@"^layers\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex OurLayerName();

    [GeneratedRegex(@"^blk\.(\d+)\.(.+)\.(weight|bias)$")]
    private static partial Regex GgufLayerName();

    /// <summary>The GGUF name of our weight <paramref name="name"/>, or null when llama.cpp has no such tensor.</summary>
    public static string? ToGguf(string name) => Map(name, OurLayerName(), "blk", p => p.Ours, p => p.Gguf);

    /// <summary>Our name of GGUF tensor <paramref name="name"/>, or null.</summary>
    public static string? FromGguf(string name) => Map(name, GgufLayerName(), "layers", p => p.Gguf, p => p.Ours);

    private static string? Map(string name, Regex layerName, string layerPrefix, Func<(string Ours, string Gguf), string> from, Func<(string Ours, string Gguf), string> to)
    {
        var match = layerName.Match(name);
        if (match.Success)
        {
            var pair = Layer.FirstOrDefault(p => from(p) == match.Groups[2].Value);
            return pair.Ours is null ? null : $"{layerPrefix}.{match.Groups[1].Value}.{to(pair)}.{match.Groups[3].Value}";
        }
        int dot = name.LastIndexOf('.');
        if (dot < 0) return null;
        var global = Global.FirstOrDefault(p => from(p) == name[..dot]);
        return global.Ours is null ? null : to(global) + name[dot..];
    }

    /// <summary>An adapter's tensors for base tensor <paramref name="ggufWeight"/> (llama.cpp's llama-adapter.cpp suffixes).</summary>
    public static string LoraA(string ggufWeight) => ggufWeight + ".lora_a";
    public static string LoraB(string ggufWeight) => ggufWeight + ".lora_b";

    /// <summary>The layer index of a layer weight (ours or GGUF), else -1.</summary>
    public static int LayerOf(string name)
    {
        var match = OurLayerName().Match(name);
        if (!match.Success) match = GgufLayerName().Match(name);
        return match.Success ? int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture) : -1;
    }

    /// <summary>Metadata keys (gguf-py's <c>Keys</c>); the per-architecture ones take the architecture name.</summary>
    public static class Keys
    {
        public const string Architecture = "general.architecture";
        public const string Type = "general.type";
        public const string Name = "general.name";
        public const string Version = "general.version";
        public const string Alignment = "general.alignment";
        public const string FileType = "general.file_type";
        public const string QuantizationVersion = "general.quantization_version";
        public const string Description = "general.description";
        public static string ContextLength(string arch) => $"{arch}.context_length";
        public static string EmbeddingLength(string arch) => $"{arch}.embedding_length";
        public static string BlockCount(string arch) => $"{arch}.block_count";
        public static string FeedForwardLength(string arch) => $"{arch}.feed_forward_length";
        public static string HeadCount(string arch) => $"{arch}.attention.head_count";
        public static string HeadCountKv(string arch) => $"{arch}.attention.head_count_kv";
        public static string KeyLength(string arch) => $"{arch}.attention.key_length";
        public static string ValueLength(string arch) => $"{arch}.attention.value_length";
        public static string RmsEpsilon(string arch) => $"{arch}.attention.layer_norm_rms_epsilon";
        public static string RopeFreqBase(string arch) => $"{arch}.rope.freq_base";
        public static string RopeDimensionCount(string arch) => $"{arch}.rope.dimension_count";
        public static string VocabSize(string arch) => $"{arch}.vocab_size";

        public const string AdapterType = "adapter.type";
        public const string LoraAlpha = "adapter.lora.alpha";

        /// <summary>The tokenizer's token list (its keys come from Afm.Tokenizers' GgufTokenizer); its length must be the model's vocabulary.</summary>
        public const string Tokens = "tokenizer.ggml.tokens";
    }

    /// <summary>llama.cpp's <c>enum llama_ftype</c> value for a file whose projections are all <paramref name="type"/>.</summary>
    public static uint FileType(GgmlType type) => type switch
    {
        GgmlType.F32 => 0,  // LLAMA_FTYPE_ALL_F32
        GgmlType.F16 => 1,  // LLAMA_FTYPE_MOSTLY_F16
        GgmlType.Q4_0 => 2, // LLAMA_FTYPE_MOSTLY_Q4_0
        GgmlType.Q8_0 => 7, // LLAMA_FTYPE_MOSTLY_Q8_0
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };

    /// <summary>
    /// The file name of a model exported as <paramref name="type"/>: <c>&lt;name&gt;.&lt;version&gt;.&lt;type&gt;.gguf</c>, versioned
    /// like the package (<c>&lt;name&gt;.&lt;version&gt;.afmpkg</c>) and every other format beside it, so two versions built
    /// into one folder do not overwrite each other. The SDK declares the same names as the target's Outputs
    /// (Afm.Interchange.targets).
    /// </summary>
    public static string FileName(string modelName, string version, GgmlType type) => $"{modelName}.{version}.{TypeName(type)}.gguf";

    /// <summary>The file name of a LoRA adapter for llama.cpp: <c>&lt;name&gt;.&lt;version&gt;.&lt;adapter&gt;.lora.gguf</c>.</summary>
    public static string AdapterFileName(string modelName, string version, string adapter) => $"{modelName}.{version}.{adapter}.lora.gguf";

    public static string TypeName(GgmlType type) => type switch
    {
        GgmlType.F32 => "f32", GgmlType.F16 => "f16", GgmlType.Q8_0 => "q8_0", GgmlType.Q4_0 => "q4_0",
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, null),
    };
}
