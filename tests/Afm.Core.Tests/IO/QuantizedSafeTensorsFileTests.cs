using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Afm.Core.IO;

namespace Afm.Core.Tests.IO;

public sealed class QuantizedSafeTensorsFileTests : IDisposable
{
    private readonly string path = Path.Combine(Path.GetTempPath(), $"afm-qfile-{Guid.NewGuid():N}.safetensors");

    private static readonly byte[] Scales = Halves(0.5f, 2f);

    [Fact]
    public void Each_array_comes_back_in_its_stored_type()
    {
        var file = Embedding(("embed.weight.qweight", "I8", [2, 3], [1, 255, 3, 4, 5, 128]), ("embed.weight.scale", "F16", [2], Scales));
        var stored = Assert.Single(file.Weights);
        Assert.Equal(new sbyte[] { 1, -1, 3, 4, 5, -128 }, file.QWeight(stored));
        Assert.Equal(new[] { (Half)0.5f, (Half)2f }, file.Scale(stored));
    }

    [Theory]
    [InlineData("I8", new long[] { 3, 2 }, "'embed.weight.qweight' has shape [3,2], its description implies [2,3]")]
    [InlineData("U8", new long[] { 2, 3 }, "'embed.weight.qweight' is U8, not I8")]
    public void An_array_unlike_its_description_is_invalid_data_naming_it(string dtype, long[] shape, string problem)
    {
        var file = Embedding(("embed.weight.qweight", dtype, shape, new byte[6]), ("embed.weight.scale", "F16", [2], Scales));
        Assert.Contains(problem, Assert.Throws<InvalidDataException>(() => file.QWeight(file.Weights[0])).Message);
    }

    [Fact]
    public void A_missing_array_is_invalid_data_naming_it()
    {
        var file = Embedding(("embed.weight.scale", "F16", [2], Scales));
        Assert.Contains("no tensor 'embed.weight.qweight'", Assert.Throws<InvalidDataException>(() => file.QWeight(file.Weights[0])).Message);
    }

    /// <summary>The file of one int8-per-channel weight [2, 3] holding <paramref name="arrays"/>.</summary>
    private QuantizedSafeTensorsFile Embedding(params (string Name, string DType, long[] Shape, byte[] Bytes)[] arrays)
    {
        Write(QuantizedTensorDescription.Int8PerChannel("embed.weight", [2, 3]), arrays);
        return QuantizedSafeTensorsFile.Read(path);
    }

    private static byte[] Halves(params float[] values) => values.SelectMany(v => BitConverter.GetBytes((Half)v)).ToArray();

    /// <summary>A minimal safetensors writer: Afm.Core only reads the format (the writer lives with TorchSharp).</summary>
    private void Write(QuantizedTensorDescription description, params (string Name, string DType, long[] Shape, byte[] Bytes)[] arrays)
    {
        var header = new Dictionary<string, object>
        {
            ["__metadata__"] = new Dictionary<string, string> { [QuantizedTensorDescription.VersionKey] = "1", [description.MetadataKey] = description.ToJson() },
        };
        long offset = 0;
        foreach (var a in arrays)
        {
            header[a.Name] = new { dtype = a.DType, shape = a.Shape, data_offsets = new[] { offset, offset + a.Bytes.Length } };
            offset += a.Bytes.Length;
        }
        var json = Encoding.UTF8.GetBytes(JsonSerializer.Serialize(header));
        var length = new byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)json.Length);
        File.WriteAllBytes(path, [.. length, .. json, .. arrays.SelectMany(a => a.Bytes)]);
    }

    public void Dispose() => File.Delete(path);
}
