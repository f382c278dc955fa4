using System.Runtime.InteropServices;
using Afm.Core.IO;
using Afm.Core.Spec;

namespace Afm.Onnx.Export;

/// <summary>
/// Reads the quantize stage's weights file (storage convention of specs/quantization.md, read by
/// <see cref="QuantizedSafeTensorsFile"/>) into a <see cref="DecoderModel"/> whose weights keep their stored form:
/// packed indices, LUTs and scales go into the graph as they are, and <see cref="WeightLowering"/> expands them with
/// standard ops. Reads bytes only (the exporter must not load libtorch).
/// </summary>
public static class QuantizedSafeTensorsWeights
{
    public static DecoderModel Load(ArchitectureSpec architecture, string path)
    {
        var file = QuantizedSafeTensorsFile.Read(path);
        var weights = new SortedDictionary<string, ExportWeight>(StringComparer.Ordinal);
        foreach (var description in file.Weights) weights[description.Name] = Weight(file, description);
        return new DecoderModel(architecture, SafeTensorsWeights.RopeBase(file.File, architecture), weights);
    }

    private static ExportWeight Weight(QuantizedSafeTensorsFile file, QuantizedTensorDescription d) => d.Format switch
    {
        QuantizedFormat.Palettize => new PalettizedWeight(d.Shape, d.Bits, d.GroupSize, file.PackedIndices(d),
            d.Lut == LutType.Int8 ? MemoryMarshal.AsBytes(file.LutInt8(d).AsSpan()).ToArray() : MemoryMarshal.AsBytes(file.LutFp16(d).AsSpan()).ToArray(),
            d.Lut == LutType.Int8 ? file.LutScale(d) : null),
        QuantizedFormat.Uniform => new UniformWeight(d.Shape, d.Bits, d.BlockSize, file.PackedIndices(d), file.Scale(d), file.Offset(d)),
        QuantizedFormat.Int8PerChannel => new Int8ChannelWeight(d.Shape, file.QWeight(d), file.Scale(d)),
        _ => new FloatWeight(file.Values(d), d.Shape).Validate(d.Name),
    };
}
