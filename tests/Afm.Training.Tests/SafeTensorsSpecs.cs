using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using Afm.Training.Checkpoints;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

public sealed class SafeTensorsSpecs
{
    [Fact]
    public void Tensors_and_metadata_survive_a_round_trip()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(MicroModels.TempDirectory(), "w.safetensors");
        var a = arange(12, dtype: ScalarType.Float32).reshape(3, 4);
        var b = tensor(new long[] { -1, 2, long.MaxValue });
        var c = randn(5).to_type(ScalarType.BFloat16);
        SafeTensors.Write(path, [("b", b), ("a", a), ("c", c)], new Dictionary<string, string> { ["format"] = "test" });

        var (tensors, metadata) = SafeTensors.Read(path);
        Assert.Equal(["a", "b", "c"], tensors.Keys.Order(StringComparer.Ordinal));
        Assert.True(MicroModels.SameValues(tensors["a"], a));
        Assert.True(MicroModels.SameValues(tensors["b"], b));
        Assert.True(MicroModels.SameValues(tensors["c"], c));
        Assert.Equal("test", metadata["format"]);
        foreach (var t in tensors.Values) t.Dispose();
    }

    [Fact]
    public void File_layout_is_the_safetensors_format_with_sorted_names_and_aligned_data()
    {
        using var scope = NewDisposeScope();
        string path = Path.Combine(MicroModels.TempDirectory(), "w.safetensors");
        SafeTensors.Write(path, [("z.weight", ones(2)), ("a.weight", zeros(3, 1))]);

        byte[] bytes = File.ReadAllBytes(path);
        long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(bytes);
        Assert.Equal(0, (8 + headerLength) % 8);
        using var header = JsonDocument.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength).TrimEnd());
        var entries = header.RootElement.EnumerateObject().ToList();
        Assert.Equal(["a.weight", "z.weight"], entries.Select(e => e.Name));
        Assert.Equal("F32", entries[0].Value.GetProperty("dtype").GetString());
        Assert.Equal([0L, 12L], entries[0].Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal([12L, 20L], entries[1].Value.GetProperty("data_offsets").EnumerateArray().Select(e => e.GetInt64()));
        Assert.Equal(8 + headerLength + 20, bytes.Length);
        Assert.Equal(1f, BitConverter.ToSingle(bytes, (int)(8 + headerLength + 12)));
    }

    [Fact]
    public void Writing_the_same_tensors_twice_gives_the_same_bytes()
    {
        using var scope = NewDisposeScope();
        string dir = MicroModels.TempDirectory();
        var t = randn(4, 4);
        SafeTensors.Write(Path.Combine(dir, "1"), [("x", t), ("y", t * 2)]);
        SafeTensors.Write(Path.Combine(dir, "2"), [("y", t * 2), ("x", t)]);
        Assert.Equal(File.ReadAllBytes(Path.Combine(dir, "1")), File.ReadAllBytes(Path.Combine(dir, "2")));
    }
}
