using Afm.Compression.Allocation;
using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;

namespace Afm.Compression;

/// <summary>Applies a plan's format to one weight at a given number of bits (the one place formats are chosen).</summary>
public sealed class LayerQuantizer(QuantizationPlanSpec plan, long seed, int threads, IReadOnlyDictionary<string, float[]>? importance)
{
    public QuantizedTensor Quantize(LayerPlan layer, float[] values, int? bits = null) => layer.Role switch
    {
        LayerRole.Vector or LayerRole.Float => new FloatTensor(layer.WeightName, layer.Shape, values),
        LayerRole.Int8Embedding => Int8ChannelQuantizer.Quantize(layer.WeightName, layer.Shape, values),
        _ => plan.Method == QuantizationMethod.Palettize
            ? Palettizer.Palettize(layer.WeightName, layer.Shape, values, importance?.GetValueOrDefault(layer.WeightName),
                bits ?? throw new ArgumentNullException(nameof(bits)), plan.GroupSize, plan.LutType, seed, plan.KMeansIterations, threads)
            : Uniform(layer.WeightName, layer.Shape, values, bits ?? throw new ArgumentNullException(nameof(bits)), plan.GroupSize),
    };

    /// <summary>Uniform quantization whose per-block overhead equals that of a palettization with the same bits and group size.</summary>
    public static UniformTensor Uniform(string name, long[] shape, float[] values, int bits, int groupSize) =>
        UniformQuantizer.Quantize(name, shape, values, bits, UniformQuantizer.EqualOverheadBlockSize(values.LongLength / shape[0], groupSize, bits));

    /// <summary>The uniform baseline at the same effective bits per weight as <paramref name="palettized"/> (same overhead bits).</summary>
    public static UniformTensor UniformAtEqualBits(PalettizedTensor palettized, float[] values)
    {
        long overheadBits = 8 * (palettized.StorageBytes - BitPacking.PackedLength(palettized.Count, palettized.IndexBits));
        long blocks = Math.Max(1, overheadBits / 32);
        int blockSize = (int)Math.Max(1, (palettized.Count + blocks - 1) / blocks);
        return UniformQuantizer.Quantize(palettized.Name, palettized.Shape, values, palettized.IndexBits, blockSize);
    }
}
