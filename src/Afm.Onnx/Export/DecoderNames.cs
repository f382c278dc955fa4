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

    public static string PastKey(int layer) => $"past_key_values.{Layer(layer)}.key";
    public static string PastValue(int layer) => $"past_key_values.{Layer(layer)}.value";
    public static string PresentKey(int layer) => $"present.{Layer(layer)}.key";
    public static string PresentValue(int layer) => $"present.{Layer(layer)}.value";

    /// <summary>Model metadata keys (ModelProto.metadata_props) the runtime reads back.</summary>
    public static class Metadata
    {
        public const string Layers = "afm.layers";
        public const string KvHeads = "afm.kv_heads";
        public const string HeadDim = "afm.head_dim";
        public const string VocabSize = "afm.vocab_size";
        public const string MaxSequenceLength = "afm.max_sequence_length";
        public const string RopeBase = "afm.rope_base";
    }

    private static string Layer(int layer) => layer.ToString(CultureInfo.InvariantCulture);
}
