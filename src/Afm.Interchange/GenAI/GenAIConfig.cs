using System.Text.Json;
using Afm.Core.Spec;
using Afm.Onnx.Export;

namespace Afm.Interchange.GenAI;

/// <summary>The special token ids GenAI's search needs (genai_config.json's model.bos/eos/pad_token_id).</summary>
public sealed record GenAITokenIds(int Bos, int Eos, int Pad);

/// <summary>
/// genai_config.json for our exported decoder, with only the keys ONNX Runtime GenAI's config reader (src/config.cpp)
/// knows, since it rejects any other: model type <c>decoder</c> (its generic decoder-only LLM), the graph's input and
/// output names (from <see cref="DecoderNames"/>, the graph's own contract), head counts and head size, and search
/// defaults for greedy decoding. The cache is not a shared buffer (<c>past_present_share_buffer</c> false): that mode
/// needs a GroupQueryAttention graph that writes in place, and ours concatenates past and new keys.
/// </summary>
public static class GenAIConfig
{
    public const string FileName = "genai_config.json";

    public static byte[] Write(ArchitectureSpec spec, GenAITokenIds ids, string modelFileName)
    {
        if (!spec.IsUniform)
            throw new InterchangeException(InterchangeCodes.GenAIPerLayerShapes,
                "The ONNX Runtime GenAI folder of a model with per-layer shapes (OpenELM's layer-wise scaling) is not supported: genai_config.json has one head count for all layers. Remove 'genai' from AfmExportFormats for this model.");
        var layer = spec.Layer(0);
        using var stream = new MemoryStream();
        using (var json = new Utf8JsonWriter(stream, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            json.WriteStartObject("model");
            json.WriteString("type", "decoder");
            json.WriteNumber("vocab_size", spec.VocabSize);
            json.WriteNumber("context_length", spec.MaxSequenceLength);
            json.WriteNumber("bos_token_id", ids.Bos);
            json.WriteNumber("eos_token_id", ids.Eos);
            json.WriteNumber("pad_token_id", ids.Pad);
            json.WriteStartObject("decoder");
            json.WriteString("filename", modelFileName);
            json.WriteNumber("hidden_size", spec.ModelDim);
            json.WriteNumber("num_attention_heads", layer.Heads);
            json.WriteNumber("num_key_value_heads", layer.KvHeads);
            json.WriteNumber("num_hidden_layers", spec.Layers);
            json.WriteNumber("head_size", spec.HeadDim);
            json.WriteStartObject("session_options");
            json.WriteString("log_id", "onnxruntime-genai");
            json.WriteStartArray("provider_options");
            json.WriteEndArray();
            json.WriteEndObject();
            json.WriteStartObject("inputs");
            json.WriteString("input_ids", DecoderNames.InputIds);
            json.WriteString("attention_mask", DecoderNames.AttentionMask);
            json.WriteString("past_key_names", DecoderNames.PastKeyTemplate);
            json.WriteString("past_value_names", DecoderNames.PastValueTemplate);
            json.WriteEndObject();
            json.WriteStartObject("outputs");
            json.WriteString("logits", DecoderNames.Logits);
            json.WriteString("present_key_names", DecoderNames.PresentKeyTemplate);
            json.WriteString("present_value_names", DecoderNames.PresentValueTemplate);
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteEndObject();
            json.WriteStartObject("search");
            json.WriteBoolean("do_sample", false);
            json.WriteNumber("num_beams", 1);
            json.WriteNumber("num_return_sequences", 1);
            json.WriteNumber("min_length", 0);
            json.WriteNumber("max_length", spec.MaxSequenceLength);
            json.WriteBoolean("past_present_share_buffer", false);
            json.WriteNumber("temperature", 1.0);
            json.WriteNumber("top_k", 1);
            json.WriteNumber("top_p", 1.0);
            json.WriteNumber("repetition_penalty", 1.0);
            json.WriteEndObject();
            json.WriteEndObject();
        }
        stream.WriteByte((byte)'\n');
        return stream.ToArray();
    }
}
