using System.Buffers.Binary;
using System.Text;
using Afm.Core.Spec;
using Afm.Interchange.HuggingFace;
using static Afm.Interchange.Tests.HfFixture;

namespace Afm.Interchange.Tests;

/// <summary>Checkpoints the toolchain cannot use are refused with a stable code and a message that says what to change.</summary>
public sealed class HfImportDiagnosticsSpecs
{
    private static readonly LlamaShape Shape = new(Hidden: 16, Layers: 1, Heads: 4, KvHeads: 2, Intermediate: 24, Vocab: 40, HeadDim: 4, Tied: true);

    private static BaseModelException Refused(string folder) =>
        Assert.Throws<BaseModelException>(() => new HfBaseModelFormat().Describe(folder));

    private static string Valid(string name, int shards = 1) => WriteLlamaFamily(NewFolder(name), "LlamaForCausalLM", "llama", Shape, seed: 1, shards: shards);

    [Fact]
    public void A_folder_without_config_json_is_not_a_checkpoint()
    {
        var e = Refused(NewFolder("empty"));
        Assert.Equal("AFM1620", e.Code);
        Assert.Contains("config.json", e.Message);
    }

    [Fact]
    public void An_unknown_architecture_names_the_ones_that_can_be_imported()
    {
        var folder = Valid("gpt2");
        var config = LlamaConfig("GPT2LMHeadModel", "gpt2", Shape);
        WriteJson(folder, "config.json", config);
        var e = Refused(folder);
        Assert.Equal("AFM1622", e.Code);
        Assert.Contains("GPT2LMHeadModel", e.Message);
        Assert.Contains("Qwen3ForCausalLM", e.Message);
    }

    [Fact]
    public void Rope_scaling_is_refused_rather_than_approximated()
    {
        var folder = Valid("rope-scaling");
        var config = LlamaConfig("LlamaForCausalLM", "llama", Shape);
        config["rope_scaling"] = new { rope_type = "llama3", factor = 8.0 };
        WriteJson(folder, "config.json", config);
        Assert.Equal("AFM1623", Refused(folder).Code);
    }

    [Fact]
    public void A_missing_shard_is_named()
    {
        var folder = Valid("missing-shard", shards: 2);
        File.Delete(Path.Combine(folder, "model-00002-of-00002.safetensors"));
        var e = Refused(folder);
        Assert.Equal("AFM1626", e.Code);
        Assert.Contains("model-00002-of-00002.safetensors", e.Message);
    }

    [Theory]
    [InlineData("config.json", "AFM1621")]
    [InlineData("generation_config.json", "AFM1621")]
    [InlineData("model.safetensors.index.json", "AFM1632")]
    public void A_json_file_of_gigabytes_is_refused_from_its_size_before_it_is_read(string file, string code)
    {
        var folder = Valid("huge-" + file, shards: file.EndsWith("index.json", StringComparison.Ordinal) ? 2 : 1);
        using (var stream = File.Create(Path.Combine(folder, file))) stream.SetLength(4L << 30); // sparse: 4 GiB
        var e = Refused(folder);
        Assert.Equal(code, e.Code);
        Assert.Contains(file, e.Message);
        Assert.Contains("bytes", e.Message);
    }

    [Fact]
    public void An_index_entry_that_leaves_the_folder_is_refused()
    {
        var folder = Valid("escaping-index", shards: 2);
        WriteJson(folder, "model.safetensors.index.json", new { weight_map = new Dictionary<string, string> { ["model.norm.weight"] = "../../etc/passwd" } });
        Assert.Equal("AFM1632", Refused(folder).Code);
    }

    [Fact]
    public void A_tensor_whose_shape_disagrees_with_config_json_is_named_with_both_shapes()
    {
        var folder = Valid("bad-shape");
        var config = LlamaConfig("LlamaForCausalLM", "llama", Shape with { Intermediate = 32 });
        WriteJson(folder, "config.json", config);
        var e = Refused(folder);
        Assert.Equal("AFM1629", e.Code);
        Assert.Contains("model.layers.0.mlp.gate_proj.weight", e.Message);
        Assert.Contains("[24, 16]", e.Message);
        Assert.Contains("[32, 16]", e.Message);
    }

    [Fact]
    public void A_missing_tensor_is_named()
    {
        var folder = NewFolder("missing-tensor");
        WriteJson(folder, "config.json", LlamaConfig("LlamaForCausalLM", "llama", Shape));
        WriteWeights(folder, LlamaTensors(Shape, new Random(1)).Where(t => t.Name != "model.norm.weight").ToList(), "F32", 1);
        var e = Refused(folder);
        Assert.Equal("AFM1628", e.Code);
        Assert.Contains("model.norm.weight", e.Message);
    }

    [Fact]
    public void A_tensor_of_another_architecture_is_not_silently_dropped()
    {
        var folder = NewFolder("extra-tensor");
        WriteJson(folder, "config.json", LlamaConfig("LlamaForCausalLM", "llama", Shape));
        var tensors = LlamaTensors(Shape, new Random(1));
        tensors.Add(new Tensor("model.layers.0.self_attn.q_proj.bias", [16], new float[16]));
        WriteWeights(folder, tensors, "F32", 1);
        var e = Refused(folder);
        Assert.Equal("AFM1631", e.Code);
        Assert.Contains("q_proj.bias", e.Message);
    }

    [Fact]
    public void An_integer_dtype_is_an_unreadable_dtype()
    {
        var folder = Valid("int8");
        RewriteHeader(Path.Combine(folder, "model.safetensors"), h => h.Replace("\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[16],\"data_offsets\":[", "\"model.norm.weight\":{\"dtype\":\"I32\",\"shape\":[16],\"data_offsets\":["));
        var e = Refused(folder);
        Assert.Equal("AFM1630", e.Code);
        Assert.Contains("I32", e.Message);
    }

    [Fact]
    public void A_truncated_header_is_a_malformed_file()
    {
        var folder = Valid("truncated");
        var path = Path.Combine(folder, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..40]);
        var e = Refused(folder);
        Assert.Equal("AFM1627", e.Code);
        Assert.Contains("truncated", e.Message);
    }

    [Fact]
    public void A_truncated_data_section_is_a_malformed_file()
    {
        var folder = Valid("truncated-data");
        var path = Path.Combine(folder, "model.safetensors");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes[..^100]);
        Assert.Equal("AFM1627", Refused(folder).Code);
    }

    [Fact]
    public void A_header_claiming_an_absurd_size_is_refused_before_anything_is_allocated()
    {
        var folder = Valid("absurd");
        var path = Path.Combine(folder, "model.safetensors");
        using (var file = File.OpenWrite(path))
        {
            var length = new byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, ulong.MaxValue - 7);
            file.Write(length);
        }
        long before = GC.GetAllocatedBytesForCurrentThread();
        var e = Refused(folder);
        Assert.Equal("AFM1627", e.Code);
        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 16 << 20, "the refusal allocated more than 16 MB");
    }

    [Fact]
    public void A_shape_claiming_more_elements_than_the_file_holds_is_refused()
    {
        var folder = Valid("absurd-shape");
        RewriteHeader(Path.Combine(folder, "model.safetensors"), h => h.Replace("\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[16]", "\"model.norm.weight\":{\"dtype\":\"F32\",\"shape\":[9223372036854775807,9223372036854775807]"));
        Assert.Equal("AFM1627", Refused(folder).Code);
    }

    /// <summary>Edits the JSON header in place, keeping its length (padding with spaces) so the data offsets stay right.</summary>
    private static void RewriteHeader(string path, Func<string, string> edit)
    {
        var bytes = File.ReadAllBytes(path);
        int length = (int)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        var header = Encoding.UTF8.GetString(bytes, 8, length);
        var edited = edit(header);
        Assert.NotEqual(header, edited);
        var newHeader = Encoding.UTF8.GetBytes(edited);
        using var output = File.Create(path);
        var prefix = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(prefix, (ulong)newHeader.Length);
        output.Write(prefix);
        output.Write(newHeader);
        output.Write(bytes, 8 + length, bytes.Length - 8 - length);
    }
}
