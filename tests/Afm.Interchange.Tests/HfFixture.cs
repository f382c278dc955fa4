using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Afm.Interchange.Tests;

/// <summary>
/// Tiny Hugging Face checkpoints written the way transformers writes them, independently of the importer: tensor names
/// spelled out here from modeling_llama.py / modeling_qwen2.py / modeling_qwen3.py / modeling_openelm.py, config keys
/// from their configuration classes, and safetensors bytes laid out by hand from the format's description (8-byte
/// little-endian header length, JSON header, data). Nothing here uses the importer's name map or writer.
/// </summary>
public static class HfFixture
{
    public sealed record Tensor(string Name, long[] Shape, float[] Values);

    public static string NewFolder(string name)
    {
        var folder = Path.Combine(Path.GetTempPath(), "afm-hf-tests", name + "-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(folder);
        return folder;
    }

    public static void WriteJson(string folder, string file, object value) =>
        File.WriteAllText(Path.Combine(folder, file), JsonSerializer.Serialize(value));

    /// <summary>A safetensors file with every tensor in <paramref name="dtype"/> (F32, F16 or BF16; BF16 by truncation after rounding to nearest even).</summary>
    public static void WriteSafeTensors(string path, IEnumerable<Tensor> tensors, string dtype = "F32")
    {
        var list = tensors.ToList();
        int size = dtype == "F32" ? 4 : 2;
        var header = new StringBuilder("{");
        long offset = 0;
        foreach (var t in list)
        {
            long bytes = t.Values.LongLength * size;
            header.Append(CultureInfo.InvariantCulture, $"\"{t.Name}\":{{\"dtype\":\"{dtype}\",\"shape\":[{string.Join(",", t.Shape)}],\"data_offsets\":[{offset},{offset + bytes}]}},");
            offset += bytes;
        }
        header.Append("\"__metadata__\":{\"format\":\"pt\"}}");
        var headerBytes = Encoding.UTF8.GetBytes(header.ToString());
        using var file = File.Create(path);
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
        file.Write(length);
        file.Write(headerBytes);
        var buffer = new byte[4];
        foreach (var t in list)
            foreach (var v in t.Values)
            {
                if (dtype == "F32") BinaryPrimitives.WriteSingleLittleEndian(buffer, v);
                else if (dtype == "F16") BinaryPrimitives.WriteHalfLittleEndian(buffer, (Half)v);
                else BinaryPrimitives.WriteUInt16LittleEndian(buffer, ToBFloat16(v));
                file.Write(buffer, 0, size);
            }
    }

    /// <summary>bfloat16 of a float, rounding to nearest even (what torch's .to(torch.bfloat16) does).</summary>
    public static ushort ToBFloat16(float v)
    {
        uint bits = BitConverter.SingleToUInt32Bits(v);
        uint rounding = 0x7FFF + ((bits >> 16) & 1);
        return (ushort)((bits + rounding) >> 16);
    }

    public static float FromBFloat16(ushort b) => BitConverter.UInt32BitsToSingle((uint)b << 16);

    /// <summary>Seeded values of roughly unit scale / sqrt(fan-in), small enough to keep a random model's logits tame.</summary>
    public static float[] Random(Random rng, long count, double scale = 0.2) =>
        Enumerable.Range(0, checked((int)count)).Select(_ => (float)((rng.NextDouble() * 2 - 1) * scale)).ToArray();

    /// <summary>Shapes of a Llama-family model (Llama, Mistral, Qwen2, Qwen3).</summary>
    public sealed record LlamaShape(int Hidden, int Layers, int Heads, int KvHeads, int Intermediate, int Vocab, int HeadDim, bool Tied);

    /// <summary>Tensors of a Llama-family checkpoint in transformers' names.</summary>
    public static List<Tensor> LlamaTensors(LlamaShape s, Random rng, bool qkvBias = false, bool qkNorm = false)
    {
        var t = new List<Tensor>();
        void Add(string name, params long[] shape) => t.Add(new Tensor(name, shape, Random(rng, shape.Aggregate(1L, (a, d) => a * d))));
        void Norm(string name, long n) => t.Add(new Tensor(name, [n], Random(rng, n, 0.1).Select(x => 1 + x).ToArray()));
        Add("model.embed_tokens.weight", s.Vocab, s.Hidden);
        for (int i = 0; i < s.Layers; i++)
        {
            var p = $"model.layers.{i}.";
            Add(p + "self_attn.q_proj.weight", s.Heads * s.HeadDim, s.Hidden);
            Add(p + "self_attn.k_proj.weight", s.KvHeads * s.HeadDim, s.Hidden);
            Add(p + "self_attn.v_proj.weight", s.KvHeads * s.HeadDim, s.Hidden);
            if (qkvBias)
            {
                Add(p + "self_attn.q_proj.bias", s.Heads * s.HeadDim);
                Add(p + "self_attn.k_proj.bias", s.KvHeads * s.HeadDim);
                Add(p + "self_attn.v_proj.bias", s.KvHeads * s.HeadDim);
            }
            Add(p + "self_attn.o_proj.weight", s.Hidden, s.Heads * s.HeadDim);
            if (qkNorm)
            {
                Norm(p + "self_attn.q_norm.weight", s.HeadDim);
                Norm(p + "self_attn.k_norm.weight", s.HeadDim);
            }
            Add(p + "mlp.gate_proj.weight", s.Intermediate, s.Hidden);
            Add(p + "mlp.up_proj.weight", s.Intermediate, s.Hidden);
            Add(p + "mlp.down_proj.weight", s.Hidden, s.Intermediate);
            Norm(p + "input_layernorm.weight", s.Hidden);
            Norm(p + "post_attention_layernorm.weight", s.Hidden);
        }
        Norm("model.norm.weight", s.Hidden);
        if (!s.Tied) Add("lm_head.weight", s.Vocab, s.Hidden);
        return t;
    }

    /// <summary>config.json of a Llama-family checkpoint, as save_pretrained writes it.</summary>
    public static Dictionary<string, object?> LlamaConfig(string architecture, string modelType, LlamaShape s, bool explicitHeadDim = false) => new()
    {
        ["architectures"] = new[] { architecture },
        ["model_type"] = modelType,
        ["hidden_size"] = s.Hidden,
        ["num_hidden_layers"] = s.Layers,
        ["num_attention_heads"] = s.Heads,
        ["num_key_value_heads"] = s.KvHeads,
        ["intermediate_size"] = s.Intermediate,
        ["vocab_size"] = s.Vocab,
        ["head_dim"] = explicitHeadDim ? s.HeadDim : null,
        ["hidden_act"] = "silu",
        ["max_position_embeddings"] = 512,
        ["rms_norm_eps"] = 1e-6,
        ["rope_theta"] = 10000.0,
        ["rope_scaling"] = null,
        ["tie_word_embeddings"] = s.Tied,
        ["torch_dtype"] = "bfloat16",
        ["bos_token_id"] = 1,
        ["eos_token_id"] = 2,
    };

    /// <summary>Writes a whole Llama-family checkpoint (config.json, generation_config.json, weights, optionally in shards).</summary>
    public static string WriteLlamaFamily(string folder, string architecture, string modelType, LlamaShape s, int seed,
        string dtype = "F32", int shards = 1, bool qkvBias = false, bool qkNorm = false, bool explicitHeadDim = false)
    {
        WriteJson(folder, "config.json", LlamaConfig(architecture, modelType, s, explicitHeadDim));
        WriteJson(folder, "generation_config.json", new { bos_token_id = 1, eos_token_id = new[] { 2, 3 } });
        var tensors = LlamaTensors(s, new Random(seed), qkvBias, qkNorm);
        WriteWeights(folder, tensors, dtype, shards);
        return folder;
    }

    /// <summary>model.safetensors, or <paramref name="shards"/> files named as transformers names them plus the index.</summary>
    public static void WriteWeights(string folder, List<Tensor> tensors, string dtype, int shards)
    {
        if (shards == 1)
        {
            WriteSafeTensors(Path.Combine(folder, "model.safetensors"), tensors, dtype);
            return;
        }
        var map = new SortedDictionary<string, string>(StringComparer.Ordinal);
        for (int k = 0; k < shards; k++)
        {
            var file = $"model-{k + 1:00000}-of-{shards:00000}.safetensors";
            var part = tensors.Where((_, i) => i % shards == k).ToList();
            WriteSafeTensors(Path.Combine(folder, file), part, dtype);
            foreach (var t in part) map[t.Name] = file;
        }
        WriteJson(folder, "model.safetensors.index.json", new { metadata = new { total_size = 0 }, weight_map = map });
    }
}

/// <summary>OpenELM checkpoints (Apple's configuration_openelm.py and modeling_openelm.py), written independently of the importer.</summary>
public static class OpenElmFixture
{
    /// <summary>
    /// config.json as save_pretrained writes it after __post_init__: the multipliers, and the per-layer lists it computed.
    /// Layer shapes of this config (model_dim 32, head_dim 8, 3 layers, gqa 2, qkv 0.5..1.0, ffn 0.5..2.0, divisor 16):
    /// query heads 2, 4, 4 (make_divisible(32 x [0.5, 0.75, 1.0], 16) = 16, 32, 32, over 8), kv heads 1, 2, 2,
    /// FFN 16, 48, 64 (make_divisible(32 x [0.5, 1.25, 2.0], 16)).
    /// </summary>
    public static Dictionary<string, object?> Config(bool tied = true, int vocab = 50) => new()
    {
        ["architectures"] = new[] { "OpenELMForCausalLM" },
        ["model_type"] = "openelm",
        ["model_dim"] = 32,
        ["num_transformer_layers"] = 3,
        ["head_dim"] = 8,
        ["num_gqa_groups"] = 2,
        ["qkv_multipliers"] = new[] { 0.5, 1.0 },
        ["num_query_heads"] = new[] { 2, 4, 4 },
        ["num_kv_heads"] = new[] { 1, 2, 2 },
        ["ffn_multipliers"] = new[] { 0.5, 1.25, 2.0 },
        ["ffn_dim_divisor"] = 16,
        ["ffn_with_glu"] = true,
        ["activation_fn_name"] = "swish",
        ["normalization_layer_name"] = "rms_norm",
        ["normalize_qk_projections"] = true,
        ["share_input_output_layers"] = tied,
        ["rope_freq_constant"] = 10000,
        ["rope_max_length"] = 4096,
        ["max_context_length"] = 2048,
        ["vocab_size"] = vocab,
        ["bos_token_id"] = 1,
        ["eos_token_id"] = 2,
    };

    public static readonly (int Q, int Kv, int Ffn)[] Layers = [(2, 1, 16), (4, 2, 48), (4, 2, 64)];

    public static List<HfFixture.Tensor> Tensors(Random rng, bool tied = true, int vocab = 50)
    {
        var t = new List<HfFixture.Tensor>();
        void Add(string name, params long[] shape) => t.Add(new HfFixture.Tensor(name, shape, HfFixture.Random(rng, shape.Aggregate(1L, (a, d) => a * d))));
        Add("transformer.token_embeddings.weight", vocab, 32);
        for (int i = 0; i < Layers.Length; i++)
        {
            var (q, kv, ffn) = Layers[i];
            var p = $"transformer.layers.{i}.";
            Add(p + "attn.qkv_proj.weight", (q + 2 * kv) * 8, 32);
            Add(p + "attn.q_norm.weight", 8);
            Add(p + "attn.k_norm.weight", 8);
            Add(p + "attn.out_proj.weight", 32, q * 8);
            Add(p + "ffn.proj_1.weight", 2 * ffn, 32);
            Add(p + "ffn.proj_2.weight", 32, ffn);
            Add(p + "attn_norm.weight", 32);
            Add(p + "ffn_norm.weight", 32);
        }
        Add("transformer.norm.weight", 32);
        if (!tied) Add("lm_head.weight", vocab, 32);
        return t;
    }

    public static string Write(string folder, int seed, bool tied = true, string dtype = "F32")
    {
        HfFixture.WriteJson(folder, "config.json", Config(tied));
        HfFixture.WriteWeights(folder, Tensors(new Random(seed), tied), dtype, 1);
        return folder;
    }
}
