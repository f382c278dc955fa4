using System.Runtime.InteropServices;
using Afm.Core.IO;

namespace Afm.Core.Tests.IO;

/// <summary>
/// Weights files beyond a .NET array (a 0.6B model is 2.4 GB in fp32) are memory-mapped, not read: the mapped path gives
/// the bytes the whole-file read gives, and a tensor too large for one memory is refused by name. The limits are passed
/// in, so small files reach both paths.
/// </summary>
public sealed class SafeTensorsFileTests : IDisposable
{
    private readonly string path = Path.Combine(Path.GetTempPath(), $"afm-st-{Guid.NewGuid():N}.safetensors");

    public SafeTensorsFileTests()
    {
        var rows = Enumerable.Range(0, 24).Select(i => i * 0.25f - 3).ToArray();
        SafeTensorsWriter.Write(path, [
            new SafeTensorsWriter.Tensor("b.weight", "F32", [4, 6], s => SafeTensorsWriter.WriteFloat32(s, rows)),
            new SafeTensorsWriter.Tensor("a.bias", "F16", [3], s => s.Write(MemoryMarshal.AsBytes<Half>([(Half)1, (Half)(-2), (Half)0.5]))),
        ], new Dictionary<string, string> { ["format"] = "pt" });
    }

    [Fact]
    public void A_mapped_file_gives_every_tensor_the_bytes_the_whole_file_read_gives()
    {
        var whole = SafeTensorsFile.Read(path, mapAboveBytes: long.MaxValue, maxTensorBytes: Array.MaxLength);
        var mapped = SafeTensorsFile.Read(path, mapAboveBytes: 0, maxTensorBytes: Array.MaxLength);
        Assert.Equal(whole.Tensors.Keys.Order(), mapped.Tensors.Keys.Order());
        foreach (var (name, entry) in whole.Tensors)
        {
            Assert.Equal(entry.DType, mapped.Tensors[name].DType);
            Assert.Equal(entry.Shape, mapped.Tensors[name].Shape);
            Assert.Equal(entry.Bytes.ToArray(), mapped.Tensors[name].Bytes.ToArray());
        }
        Assert.Equal(-3f, MemoryMarshal.Cast<byte, float>(mapped.Get("b.weight", "F32").Bytes.Span)[0]);
        Assert.Equal("pt", mapped.Metadata["format"]);
    }

    [Fact]
    public void A_mapped_file_can_be_replaced_while_its_tensors_are_still_held()
    {
        var mapped = SafeTensorsFile.Read(path, mapAboveBytes: 0, maxTensorBytes: Array.MaxLength);
        var before = mapped.Tensors["b.weight"].Bytes.ToArray();
        // Stages rewrite their outputs atomically (a new file renamed over the old one); a reader's view stays valid.
        SafeTensorsWriter.Write(path, [new SafeTensorsWriter.Tensor("c", "F32", [1], s => SafeTensorsWriter.WriteFloat32(s, [7f]))]);
        Assert.Equal(before, mapped.Tensors["b.weight"].Bytes.ToArray());
        Assert.Equal(["c"], SafeTensorsFile.Read(path, 0, Array.MaxLength).Tensors.Keys);
    }

    [Fact]
    public void A_tensor_larger_than_one_memory_can_hold_is_refused_by_name()
    {
        var error = Assert.Throws<InvalidDataException>(() => SafeTensorsFile.Read(path, mapAboveBytes: 0, maxTensorBytes: 95));
        Assert.Contains("'b.weight' has 96 bytes", error.Message);
        Assert.Contains("SafeTensorsReader", error.Message);
    }

    public void Dispose() => File.Delete(path);
}
