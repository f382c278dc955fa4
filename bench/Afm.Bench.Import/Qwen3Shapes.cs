using System.Text.Json;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Interchange.HuggingFace;

/// <summary>
/// A checkpoint with Qwen3-0.6B's config.json (the values of its published config) and random bf16 weights in
/// transformers' names, written in two shards with an index, a tensor at a time (the generator itself stays small).
/// </summary>
internal static class Qwen3Shapes
{
    /// <summary>Qwen3-0.6B's layer count; fewer layers (the bench's --layers) give the same shapes in a smaller model, to profile on.</summary>
    public const int Layers = 28;

    public static ArchitectureSpec Architecture(int layers) => new()
    {
        ModelDim = 1024, Layers = layers, Heads = 16, KvHeads = 8, FfnDim = 3072, VocabSize = 151936, RopeBase = 1_000_000,
        TieEmbeddings = true, QkNorm = true, MaxSequenceLength = 40960, NormEpsilon = 1e-6, ExplicitHeadDim = 128,
    };

    /// <summary>The folder (under the bench's work folder) of the checkpoint with <paramref name="layers"/> layers.</summary>
    public static string Folder(string work, int layers) => Path.Combine(work, layers == Layers ? "qwen3-0.6b-shapes" : $"qwen3-0.6b-shapes-{layers}-layers");

    public static void Generate(string folder, int layers, int seed)
    {
        Directory.CreateDirectory(folder);
        var a = Architecture(layers);
        File.WriteAllText(Path.Combine(folder, HfLayout.Config), JsonSerializer.Serialize(new Dictionary<string, object?>
        {
            ["architectures"] = new[] { "Qwen3ForCausalLM" }, ["model_type"] = "qwen3", ["hidden_size"] = a.ModelDim,
            ["num_hidden_layers"] = a.Layers, ["num_attention_heads"] = a.Heads, ["num_key_value_heads"] = a.KvHeads,
            ["head_dim"] = 128, ["intermediate_size"] = a.FfnDim, ["vocab_size"] = a.VocabSize, ["hidden_act"] = "silu",
            ["max_position_embeddings"] = a.MaxSequenceLength, ["rms_norm_eps"] = a.NormEpsilon, ["rope_theta"] = a.RopeBase,
            ["rope_scaling"] = null, ["tie_word_embeddings"] = true, ["attention_bias"] = false, ["torch_dtype"] = "bfloat16",
            ["bos_token_id"] = 151643, ["eos_token_id"] = 151645,
        }));
        // The map gives transformers' names and shapes (the bench is about memory and time, not about the names).
        var entries = HfTensorMap.For(HfFamily.Qwen3, a).Entries;
        var shards = new[] { entries.Where((_, i) => i % 2 == 0).ToList(), entries.Where((_, i) => i % 2 == 1).ToList() };
        var weightMap = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var random = new Random(seed);
        for (int s = 0; s < shards.Length; s++)
        {
            var file = $"model-{s + 1:00000}-of-{shards.Length:00000}.safetensors";
            SafeTensorsWriter.Write(Path.Combine(folder, file), shards[s].Select(e => new SafeTensorsWriter.Tensor(e.HfName, "BF16", e.Shape, stream =>
            {
                long count = e.Shape.Aggregate(1L, (x, d) => x * d);
                var buffer = new byte[1 << 20];
                bool norm = e.Shape.Length == 1;
                for (long done = 0; done < count; done += buffer.Length / 2)
                {
                    int n = (int)Math.Min(buffer.Length / 2, count - done);
                    for (int i = 0; i < n; i++)
                    {
                        float v = norm ? 1f : (float)((random.NextDouble() * 2 - 1) * 0.05);
                        ushort b = (ushort)(BitConverter.SingleToUInt32Bits(v) >> 16);
                        buffer[2 * i] = (byte)b;
                        buffer[2 * i + 1] = (byte)(b >> 8);
                    }
                    stream.Write(buffer, 0, 2 * n);
                }
            })), new Dictionary<string, string> { ["format"] = "pt" });
            foreach (var e in shards[s]) weightMap[e.HfName] = file;
        }
        File.WriteAllText(Path.Combine(folder, HfLayout.WeightsIndex), JsonSerializer.Serialize(new { metadata = new { }, weight_map = weightMap }));
    }
}
