using System.Globalization;

namespace Afm.Onnx.Export;

/// <summary>
/// Input, output and metadata names of the exported decoder: the contract between the exporter and the
/// runtime (specs/onnx-export.md).
/// </summary>
public static class DecoderNames
{
    public const string InputIds = "input_ids";
    public const string Logits = "logits";
    /// <summary>
    /// Optional key-padding mask, int64 [batch, past_sequence + sequence]: 1 for a real token, 0 for padding. Its default
    /// ([1, 1] of 1) means every key of every row is real, so a caller with one sequence never passes it.
    /// </summary>
    public const string AttentionMask = "attention_mask";

    /// <summary>The cache names with <c>%d</c> for the layer: the form ONNX Runtime GenAI's genai_config.json takes.</summary>
    public const string PastKeyTemplate = "past_key_values.%d.key";
    public const string PastValueTemplate = "past_key_values.%d.value";
    public const string PresentKeyTemplate = "present.%d.key";
    public const string PresentValueTemplate = "present.%d.value";

    public static string PastKey(int layer) => PastKeyTemplate.Replace("%d", Layer(layer), StringComparison.Ordinal);
    public static string PastValue(int layer) => PastValueTemplate.Replace("%d", Layer(layer), StringComparison.Ordinal);
    public static string PresentKey(int layer) => PresentKeyTemplate.Replace("%d", Layer(layer), StringComparison.Ordinal);
    public static string PresentValue(int layer) => PresentValueTemplate.Replace("%d", Layer(layer), StringComparison.Ordinal);

    /// <summary>Optional LoRA input of the base weight <paramref name="weight"/>: A [rank, in] (training layout).</summary>
    public static string LoraA(string weight) => weight + ".lora_A";
    /// <summary>Optional LoRA input of the base weight <paramref name="weight"/>: B [out, rank], scale folded in.</summary>
    public static string LoraB(string weight) => weight + ".lora_B";

    /// <summary>The base weights an adapter may adapt: every attention and FFN projection of every layer.</summary>
    public static IEnumerable<string> AdaptableWeights(int layers)
    {
        string[] projections = ["attn.q_proj", "attn.k_proj", "attn.v_proj", "attn.o_proj", "mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"];
        for (int layer = 0; layer < layers; layer++)
            foreach (var projection in projections) yield return $"layers.{Layer(layer)}.{projection}.weight";
    }

    /// <summary>ONNX Runtime's contrib ops the graph may use (com.microsoft domain, opset 1), and their initializers.</summary>
    public static class Contrib
    {
        public const string Domain = "com.microsoft";
        public const int Opset = 1;
        /// <summary>x times a block-quantized weight (specs/onnx-export.md, "Resident compressed weights").</summary>
        public const string MatMulNBits = "MatMulNBits";
        /// <summary>The int8 embedding's lookup from its resident uint8 table (<c>N.nbits</c>; a tied head runs its nibbles, <see cref="HighNibbles"/>).</summary>
        public const string GatherBlockQuantized = "GatherBlockQuantized";
        /// <summary>GatherBlockQuantized's scales [vocab, blocks, 1] (MatMulNBits' are [vocab, blocks]: one tensor cannot be both).</summary>
        public static string GatherScales(string weight) => weight + ".gather_scales";
        /// <summary>MatMulNBits' packed indices [N, blocks per row, block bytes]: the stored <c>N.indices</c> bytes as they are.</summary>
        public static string NBitsWeight(string weight) => weight + ".nbits";
        public static string NBitsScales(string weight) => weight + ".nbits_scales";
        public static string NBitsZeroPoints(string weight) => weight + ".nbits_zero_points";
        /// <summary>An 8-bit weight's 4-bit halves (NBitsLinear runs 8 bits as two 4-bit MatMulNBits); each has the NBits initializers above.</summary>
        public static string HighNibbles(string weight) => weight + ".high_nibbles";
        public static string LowNibbles(string weight) => weight + ".low_nibbles";
    }

    /// <summary>Model metadata keys (ModelProto.metadata_props) the runtime reads back.</summary>
    public static class Metadata
    {
        public const string Layers = "afm.layers";
        /// <summary>Key/value heads of every layer's cache; with per-layer shapes, the largest (see <see cref="LayerKvHeads"/>).</summary>
        public const string KvHeads = "afm.kv_heads";
        /// <summary>
        /// Only in a graph of per-layer shapes (layer-wise scaling): each layer's key/value heads, comma-separated in layer
        /// order (<c>1,1,2,2</c>); layer i's cache inputs and outputs are [batch, this, sequence, head_dim].
        /// </summary>
        public const string LayerKvHeads = "afm.layer_kv_heads";
        public const string HeadDim = "afm.head_dim";
        public const string VocabSize = "afm.vocab_size";
        public const string MaxSequenceLength = "afm.max_sequence_length";
        public const string RopeBase = "afm.rope_base";
        /// <summary>SHA-256 (hex) of the weights file the graph was exported from: the base adapters are checked against.</summary>
        public const string BaseSha256 = "afm.base_sha256";
        /// <summary>
        /// <c>standard</c> or <c>fused</c> (<see cref="OnnxOps"/>); absent in graphs exported before the fused form, which are
        /// standard. In a fused graph the cache inputs may be buffers of <see cref="MaxSequenceLength"/> positions bound to the
        /// outputs, and <see cref="AttentionMask"/> is required and right-padded.
        /// </summary>
        public const string OnnxOps = "afm.onnx_ops";
    }

    /// <summary>
    /// Prefixes of the exported nodes' names (<c>scope/.../OpType_N</c>), which say which op of the model a node (and the
    /// kernel ONNX Runtime fuses from it) belongs to: a block (<see cref="Embed"/>, <see cref="Positions"/>,
    /// <see cref="Layer"/>, <see cref="Head"/>), within it a weight's name without <c>.weight</c> for norms and
    /// projections, or a weightless op. A block's nodes in no inner scope are its residual additions.
    /// </summary>
    public static class Scopes
    {
        public const string Embed = "embed";
        public const string Positions = "positions";
        public const string Head = "head";
        public const string Attention = "attention";
        public const string Rope = "rope";
        public const string SwiGlu = "swiglu";

        public static string Layer(int layer) => $"layers.{DecoderNames.Layer(layer)}";

        public static string OfWeight(string weight) => weight.EndsWith(".weight", StringComparison.Ordinal) ? weight[..^".weight".Length] : weight;
    }

    private static string Layer(int layer) => layer.ToString(CultureInfo.InvariantCulture);
}
