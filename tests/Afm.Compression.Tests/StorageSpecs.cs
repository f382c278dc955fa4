using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;

namespace Afm.Compression.Tests;

public class StorageSpecs
{
    [Fact]
    public void Every_format_reads_back_to_the_same_dequantized_values()
    {
        var values = QuantizerSpecs.Weights(48 * 40);
        QuantizedTensor[] weights =
        [
            Palettizer.Palettize("a.weight", [48, 40], values, null, 4, 16, LutType.Fp16, 3, 20),
            Palettizer.Palettize("b.weight", [48, 40], values, null, 3, 16, LutType.Int8, 3, 20),
            UniformQuantizer.Quantize("c.weight", [48, 40], values, 2, 100),
            Int8ChannelQuantizer.Quantize("embed.weight", [48, 40], values),
            new FloatTensor("norm.weight", [40], values.Take(40).ToArray()),
        ];
        string path = Path.Combine(Path.GetTempPath(), $"afm-quant-{Guid.NewGuid():N}.safetensors");
        try
        {
            QuantizedWeightsFile.Write(path, weights);
            var restored = QuantizedWeightsFile.Dequantize(path);
            foreach (var w in weights)
            {
                Assert.Equal(w.Shape, restored[w.Name].Shape);
                Assert.Equal(w.Dequantize(), restored[w.Name].Values);
            }
        }
        finally { File.Delete(path); }
    }

    [Fact]
    public void The_file_is_no_larger_than_its_tensors_plus_a_small_header()
    {
        var values = QuantizerSpecs.Weights(256 * 128);
        var w = Palettizer.Palettize("layers.0.mlp.up_proj.weight", [256, 128], values, null, 4, 16, LutType.Fp16, 3, 10);
        string path = Path.Combine(Path.GetTempPath(), $"afm-quant-{Guid.NewGuid():N}.safetensors");
        try
        {
            QuantizedWeightsFile.Write(path, [w]);
            long size = new FileInfo(path).Length;
            Assert.InRange(size, w.StorageBytes, w.StorageBytes + 1024);
        }
        finally { File.Delete(path); }
    }
}
