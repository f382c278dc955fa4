using Afm.Compression.Allocation;
using Afm.Compression.Quantizers;
using Afm.Compression.Storage;
using Afm.Core.Spec;

namespace Afm.Compression;

/// <summary>Applies a plan's format to one weight at a given number of bits (the one place formats are chosen).</summary>
/// <param name="hessians">Input second moments per weight name (<see cref="Calibration.InputCovariance"/>); with them the plan's
/// Rounding="gptq" compensates rounding errors, without them every weight rounds to its nearest grid value.</param>
public sealed class LayerQuantizer(QuantizationPlanSpec plan, long seed, int threads, IReadOnlyDictionary<string, float[]>? importance,
    IReadOnlyDictionary<string, double[]>? hessians = null)
{
    /// <summary>
    /// Every candidate of <paramref name="layer"/> (one per entry of <paramref name="bits"/>) from the float values in
    /// <paramref name="floats"/>: the int8 embedding is quantized a slice of rows at a time from the weights file, so its
    /// float values (0.6 GB for a 151,936-token vocabulary) are never held; other layers read their array once for all widths.
    /// </summary>
    public List<(int Bits, QuantizedTensor Tensor)> Candidates(LayerPlan layer, IReadOnlyDictionary<string, float[]> floats, IEnumerable<int> bits)
    {
        if (layer.Role == LayerRole.Int8Embedding)
            return [.. bits.Select(b => (b, (QuantizedTensor)Int8ChannelQuantizer.Quantize(layer.WeightName, layer.Shape,
                (first, destination) => Calibration.WeightsFileArrays.ReadRange(floats, layer.WeightName, first, destination))))];
        var values = floats[layer.WeightName];
        return [.. bits.Select(b => (b, Quantize(layer, values, layer.IsQuantized ? b : null)))];
    }

    public QuantizedTensor Quantize(LayerPlan layer, float[] values, int? bits = null) => layer.Role switch
    {
        LayerRole.Vector or LayerRole.Float => new FloatTensor(layer.WeightName, layer.Shape, values),
        LayerRole.Int8Embedding => Int8ChannelQuantizer.Quantize(layer.WeightName, layer.Shape, values),
        _ => plan.Method == QuantizationMethod.Palettize
            ? Palettizer.Palettize(layer.WeightName, layer.Shape, values, importance?.GetValueOrDefault(layer.WeightName),
                bits ?? throw new ArgumentNullException(nameof(bits)), plan.GroupSize, plan.LutType, seed, plan.KMeansIterations, threads, Hessian(layer),
                zeroPointTables: plan.RuntimeForm == RuntimeForm.NBits && NBitsBlockSize(layer, values.LongLength / layer.Shape[0], bits.Value) > 0)
            : plan.RuntimeForm == RuntimeForm.NBits
                ? UniformQuantizer.QuantizeWithZeroPoints(layer.WeightName, layer.Shape, values, bits ?? throw new ArgumentNullException(nameof(bits)),
                    NBitsBlockSize(layer, values.LongLength / layer.Shape[0], bits.Value), Hessian(layer), threads)
                : UniformQuantizer.Quantize(layer.WeightName, layer.Shape, values, bits ?? throw new ArgumentNullException(nameof(bits)),
                    UniformQuantizer.EqualOverheadBlockSize(values.LongLength / layer.Shape[0], plan.GroupSize, bits.Value), Hessian(layer), threads),
    };

    /// <summary>
    /// Error AFM4302 when no MatMulNBits block (a power of two of at least 16) tiles the layer's rows. A palettized layer
    /// is checked too: its tables are one grid per group of rows, which MatMulNBits repeats in every block of the row.
    /// </summary>
    private int NBitsBlockSize(LayerPlan layer, long columns, int bits) =>
        UniformQuantizer.ZeroPointBlockSize(columns, plan.GroupSize, bits) ?? throw new Afm.Core.Diagnostics.DiagnosticException(
            new Afm.Core.Diagnostics.Diagnostic(Afm.Core.Diagnostics.DiagnosticSeverity.Error, ErrorNoNBitsBlock,
                $"Layer '{layer.Name}' has {columns} inputs per row, which no block of 16, 32, 64 or 128 divides, so ONNX Runtime's MatMulNBits cannot hold it "
                + "(RuntimeForm=\"nbits\"). Add it to KeepFloat, or use RuntimeForm=\"expand\".", plan.Location!));

    public const string ErrorNoNBitsBlock = "AFM4302";

    private double[]? Hessian(LayerPlan layer) => plan.Rounding == RoundingKind.Gptq ? hessians?.GetValueOrDefault(layer.WeightName) : null;

    /// <summary>The uniform baseline at the same effective bits per weight as <paramref name="palettized"/> (same overhead bits).</summary>
    public static UniformTensor UniformAtEqualBits(PalettizedTensor palettized, float[] values) =>
        UniformQuantizer.Quantize(palettized.Name, palettized.Shape, values, palettized.IndexBits, EqualBitsBlockSize(palettized));

    /// <summary>The uniform block size whose 32 bits of scale and offset per block cost what <paramref name="palettized"/>'s LUTs cost.</summary>
    public static int EqualBitsBlockSize(PalettizedTensor palettized)
    {
        long overheadBits = 8 * (palettized.StorageBytes - BitPacking.PackedLength(palettized.Count, palettized.IndexBits));
        long blocks = Math.Max(1, overheadBits / 32);
        return (int)Math.Max(1, (palettized.Count + blocks - 1) / blocks);
    }
}
