using Afm.Core.IO;
using Afm.Core.Spec;

namespace Afm.Core.Tests.IO;

public sealed class QuantizedTensorDescriptionTests
{
    private const string Name = "layers.0.attn.q_proj.weight";

    [Fact]
    public void A_palettized_description_is_the_JSON_of_the_storage_convention()
    {
        var d = QuantizedTensorDescription.Palettized(Name, [64, 32], 4, 16, LutType.Fp16);
        Assert.Equal("""{"format":"palettize","shape":[64,32],"bits":4,"group_size":16,"axis":0,"lut":"fp16"}""", d.ToJson());
        Assert.Equal("afm.tensor." + Name, d.MetadataKey);
    }

    [Fact]
    public void The_other_formats_write_only_their_own_fields()
    {
        Assert.Equal("""{"format":"uniform","shape":[37,13],"bits":3,"block_size":29}""", QuantizedTensorDescription.Uniform(Name, [37, 13], 3, 29).ToJson());
        Assert.Equal("""{"format":"int8-per-channel","shape":[50,8],"axis":0}""", QuantizedTensorDescription.Int8PerChannel(Name, [50, 8]).ToJson());
        Assert.Equal("""{"format":"float","shape":[8]}""", QuantizedTensorDescription.Float(Name, [8]).ToJson());
    }

    public static TheoryData<string> EveryForm() => new(
        QuantizedTensorDescription.Palettized(Name, [37, 13], 3, 8, LutType.Int8).ToJson(),
        QuantizedTensorDescription.Palettized(Name, [37, 13], 1, 8, LutType.Fp16).ToJson(),
        QuantizedTensorDescription.Uniform(Name, [37, 13], 8, 29).ToJson(),
        QuantizedTensorDescription.Int8PerChannel(Name, [37, 13]).ToJson(),
        QuantizedTensorDescription.Float(Name, [13]).ToJson());

    [Theory]
    [MemberData(nameof(EveryForm))]
    public void Every_form_parses_back_to_the_same_description(string json)
    {
        Assert.Equal(json, QuantizedTensorDescription.Parse(Name, json).ToJson());
    }

    [Fact]
    public void A_palettized_weight_with_an_int8_LUT_stores_indices_LUT_and_one_scale_per_group()
    {
        var d = QuantizedTensorDescription.Parse(Name, """{"format":"palettize","shape":[37,13],"bits":3,"group_size":8,"axis":0,"lut":"int8"}""");
        AssertArray(d.Indices, Name + ".indices", "U8", (37 * 13 * 3 + 7) / 8);
        AssertArray(d.LutArray, Name + ".lut", "I8", 5, 8);
        AssertArray(d.LutScale, Name + ".lut_scale", "F16", 5);
        Assert.Throws<InvalidOperationException>(() => d.Offset);
    }

    [Fact]
    public void Uniform_scales_are_per_block_int8_scales_per_row_and_floats_keep_the_weight_name()
    {
        AssertArray(QuantizedTensorDescription.Uniform(Name, [37, 13], 3, 29).Scale, Name + ".scale", "F16", 17);
        AssertArray(QuantizedTensorDescription.Int8PerChannel(Name, [37, 13]).Scale, Name + ".scale", "F16", 37);
        AssertArray(QuantizedTensorDescription.Int8PerChannel(Name, [37, 13]).QWeight, Name + ".qweight", "I8", 37, 13);
        AssertArray(QuantizedTensorDescription.Float(Name, [13]).Values, Name, "F32", 13);
    }

    [Theory]
    [InlineData("{\"format\":\"palettize\"", "not valid JSON")]
    [InlineData("[1,2]", "not a JSON object")]
    [InlineData("{\"shape\":[4,4]}", "no 'format'")]
    [InlineData("{\"format\":\"ternary\",\"shape\":[4,4]}", "unknown format 'ternary'")]
    [InlineData("{\"format\":4,\"shape\":[4,4]}", "'format' = 4, not a string")]
    [InlineData("{\"format\":\"float\"}", "no 'shape' array")]
    [InlineData("{\"format\":\"float\",\"shape\":[4,\"x\"]}", "'shape' = \"x\", not an integer")]
    [InlineData("{\"format\":\"float\",\"shape\":[4,-1]}", "negative dimension")]
    [InlineData("{\"format\":\"uniform\",\"shape\":[4,4],\"block_size\":8}", "no 'bits'")]
    [InlineData("{\"format\":\"uniform\",\"shape\":[4,4],\"bits\":2.5,\"block_size\":8}", "'bits' = 2.5, not an integer")]
    [InlineData("{\"format\":\"uniform\",\"shape\":[4,4],\"bits\":9,\"block_size\":8}", "9 index bits")]
    [InlineData("{\"format\":\"uniform\",\"shape\":[4,4],\"bits\":4,\"block_size\":0}", "block_size 0")]
    [InlineData("{\"format\":\"palettize\",\"shape\":[4,4],\"bits\":4,\"lut\":\"fp16\"}", "no 'group_size'")]
    [InlineData("{\"format\":\"palettize\",\"shape\":[4,4],\"bits\":4,\"group_size\":2,\"lut\":\"fp8\"}", "unknown LUT type 'fp8'")]
    [InlineData("{\"format\":\"palettize\",\"shape\":[],\"bits\":4,\"group_size\":2,\"lut\":\"fp16\"}", "no rows")]
    [InlineData("{\"format\":\"int8-per-channel\",\"shape\":[4,4],\"axis\":1}", "axis 1")]
    public void A_malformed_description_is_invalid_data_naming_the_weight(string json, string problem)
    {
        var e = Assert.Throws<InvalidDataException>(() => QuantizedTensorDescription.Parse(Name, json));
        Assert.Contains($"'{Name}'", e.Message);
        Assert.Contains(problem, e.Message);
    }

    [Fact]
    public void The_descriptions_of_a_file_come_in_ordinal_name_order_without_other_metadata()
    {
        var metadata = new Dictionary<string, string>
        {
            ["afm.quantization.version"] = "1", ["rope_base"] = "10000",
            ["afm.tensor.norm.weight"] = QuantizedTensorDescription.Float("norm.weight", [8]).ToJson(),
            ["afm.tensor.embed.weight"] = QuantizedTensorDescription.Int8PerChannel("embed.weight", [50, 8]).ToJson(),
        };
        Assert.Equal(["embed.weight", "norm.weight"], QuantizedTensorDescription.ReadAll(metadata, "q.safetensors").Select(d => d.Name));
    }

    [Fact]
    public void Metadata_of_another_version_is_not_a_quantized_weights_file()
    {
        var e = Assert.Throws<InvalidDataException>(() =>
            QuantizedTensorDescription.ReadAll(new Dictionary<string, string> { ["afm.quantization.version"] = "2" }, "q.safetensors"));
        Assert.Contains("q.safetensors is not an AFM quantized weights file of format 1", e.Message);
    }

    private static void AssertArray(StoredArray array, string name, string dtype, params long[] shape)
    {
        Assert.Equal((name, dtype), (array.Name, array.DType));
        Assert.Equal(shape, array.Shape);
    }
}
