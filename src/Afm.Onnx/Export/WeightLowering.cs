using System.Runtime.InteropServices;
using Afm.Onnx.Graph;
using DataType = Afm.Onnx.Proto.TensorProto.Types.DataType;

namespace Afm.Onnx.Export;

/// <summary>
/// Turns an <see cref="ExportWeight"/> into the graph value holding its float tensor, in the weight's own
/// layout (<c>[out, in]</c> for linear layers, <c>[vocab, dim]</c> for the embedding). Consumers use
/// <c>Gemm(transB=1)</c> and <c>Gather</c>, so no transposed copy is ever needed, whatever the stored form.
/// A compressed weight is stored as it is (packed indices, fp16/int8 LUTs, int8 values, fp16 scales) and expanded
/// by standard opset-17 ops whose inputs are all initializers: ONNX Runtime's constant folding computes the
/// expansion once at session load, or every run when folding is disabled (specs/onnx-export.md, "Compressed weights").
/// Every expansion computes exactly what Afm.Compression's <c>Dequantize</c> does, in the same float32 operations,
/// so the expanded values are bit-identical to it.
/// </summary>
internal static class WeightLowering
{
    private const long CastToFloat = (long)DataType.Float;
    private const long CastToInt32 = (long)DataType.Int32;

    public static string Emit(OnnxGraphBuilder graph, string name, ExportWeight weight) => weight switch
    {
        FloatWeight f => graph.Initializer(name, f.Validate(name).Values, f.Shape),
        PalettizedWeight p => Palettized(graph, name, p),
        UniformWeight u => Uniform(graph, name, u),
        Int8ChannelWeight q => Int8Channel(graph, name, q),
        _ => throw new NotSupportedException($"Weight '{name}' is stored as {weight.GetType().Name}, which the ONNX exporter cannot lower."),
    };

    /// <summary>w[r, c] = lut[r / groupSize, index(r, c)]: the global LUT position index + (r / groupSize) x 2^bits, gathered from the flat LUT.</summary>
    private static string Palettized(OnnxGraphBuilder graph, string name, PalettizedWeight p)
    {
        long rows = p.Rows, columns = p.Columns;
        if (p.Lut.LongLength != p.Groups * p.Entries * (p.LutScale is null ? 2 : 1))
            throw new InvalidDataException($"Weight '{name}': the LUT does not have {p.Groups} groups of {p.Entries} entries.");
        var indices = Reshape(graph, Indices(graph, name, p.PackedIndices, p.ElementCount, p.Bits), rows, columns);
        if (p.Groups > 1)
        {
            // Row r reads LUT row r / groupSize: shift its indices into that row of the flattened LUT.
            var rowIds = graph.Node("Range", [graph.Int32Scalar(0), graph.Int32Scalar(checked((int)rows)), graph.Int32Scalar(1)]);
            var groupStart = graph.Node("Mul", [graph.Node("Div", [rowIds, graph.Int32Scalar(p.GroupSize)]), graph.Int32Scalar(p.Entries)]);
            indices = graph.Node("Add", [indices, graph.Node("Unsqueeze", [groupStart, graph.Int64s(1)])]);
        }

        string lut;
        if (p.LutScale is null)
        {
            var stored = graph.Initializer(name + ".lut", DataType.Float16, p.Lut, p.Groups * p.Entries);
            lut = Cast(graph, stored, CastToFloat);
        }
        else
        {
            // entry x scale of its group, in float32 (as Dequantize: sbyte times the float of the fp16 scale).
            var stored = graph.Initializer(name + ".lut", DataType.Int8, p.Lut, p.Groups, p.Entries);
            var scale = Cast(graph, graph.Initializer(name + ".lut_scale", DataType.Float16, MemoryMarshal.AsBytes(p.LutScale.AsSpan()), p.Groups, 1), CastToFloat);
            lut = Reshape(graph, graph.Node("Mul", [Cast(graph, stored, CastToFloat), scale]), -1);
        }
        return Shaped(graph, name, "Gather", [lut, indices], p.Shape, Attr.Int("axis", 0));
    }

    /// <summary>w[k] = offset[k / blockSize] + index(k) x scale[k / blockSize], k row-major.</summary>
    private static string Uniform(OnnxGraphBuilder graph, string name, UniformWeight u)
    {
        long count = u.ElementCount;
        if (u.Scale.LongLength != u.Blocks || u.Offset.LongLength != u.Blocks)
            throw new InvalidDataException($"Weight '{name}': scale and offset must have {u.Blocks} blocks.");
        var levels = Cast(graph, Indices(graph, name, u.PackedIndices, count, u.Bits), CastToFloat);
        var block = graph.Node("Div", [graph.Node("Range", [graph.Int32Scalar(0), graph.Int32Scalar(checked((int)count)), graph.Int32Scalar(1)]), graph.Int32Scalar(u.BlockSize)]);
        string PerWeight(string suffix, Half[] values) => graph.Node("Gather",
            [Cast(graph, graph.Initializer(name + suffix, DataType.Float16, MemoryMarshal.AsBytes(values.AsSpan()), u.Blocks), CastToFloat), block], null, Attr.Int("axis", 0));
        var scaled = graph.Node("Mul", [levels, PerWeight(".scale", u.Scale)]);
        var flat = graph.Node("Add", [PerWeight(".offset", u.Offset), scaled]);
        return graph.Node("Reshape", [flat, graph.Int64s(u.Shape)], name);
    }

    /// <summary>w[r, c] = float(q[r, c]) x float(scale[r]).</summary>
    private static string Int8Channel(OnnxGraphBuilder graph, string name, Int8ChannelWeight q)
    {
        long rows = q.Rows, columns = q.Columns;
        if (q.Values.LongLength != q.ElementCount || q.Scale.LongLength != rows)
            throw new InvalidDataException($"Weight '{name}': {q.Values.LongLength} values and {q.Scale.LongLength} scales do not fit shape [{string.Join(",", q.Shape)}].");
        var values = Cast(graph, graph.Initializer(name + ".qweight", DataType.Int8, MemoryMarshal.AsBytes(q.Values.AsSpan()), rows, columns), CastToFloat);
        var scale = Cast(graph, graph.Initializer(name + ".scale", DataType.Float16, MemoryMarshal.AsBytes(q.Scale.AsSpan()), rows, 1), CastToFloat);
        return Shaped(graph, name, "Mul", [values, scale], q.Shape);
    }

    /// <summary>
    /// The <paramref name="count"/> indices of <paramref name="bits"/> bits packed LSB first, as int32 [count]. Eight
    /// indices of b bits fill exactly b bytes, so the bytes are read as rows of b (the stored array is padded with zero
    /// bytes to whole rows). Slot s of a row starts in byte j = s*b / 8 at shift s*b mod 8 and ends at most one byte
    /// later: index = ((byte[j] + 256 x byte[j + 1]) / 2^shift) mod 2^b; when b divides 8 no slot crosses a byte and
    /// byte[j] alone is read. Integers below 2^16 only, so every op is exact (a word of all b bytes is not: ONNX Runtime's
    /// int64 ReduceSum loses the low bits of sums above 2^53). Bytes are gathered as uint8 and the arithmetic is int32:
    /// ORT keeps every folded intermediate until session init ends, so narrow types lower the peak memory of loading.
    /// </summary>
    private static string Indices(OnnxGraphBuilder graph, string name, byte[] packed, long count, int bits)
    {
        if (packed.LongLength != (count * bits + 7) / 8)
            throw new InvalidDataException($"Weight '{name}': {packed.Length} packed bytes do not hold {count} indices of {bits} bits.");
        checked { _ = (int)count; }
        if (bits == 8) return Cast(graph, graph.Initializer(name + ".indices", DataType.Uint8, packed, count), CastToInt32);

        long words = (count + 7) / 8;
        var padded = new byte[words * bits];
        packed.CopyTo(padded, 0);
        var bytes = Reshape(graph, graph.Initializer(name + ".indices", DataType.Uint8, padded, padded.LongLength), words, bits);
        var low = Enumerable.Range(0, 8).Select(s => (long)(s * bits / 8)).ToArray();
        var pair = Cast(graph, graph.Node("Gather", [bytes, graph.Int64s(low)], null, Attr.Int("axis", 1)), CastToInt32);
        if (8 % bits != 0)
        {
            // When a slot does not cross into the next byte, whatever byte is read as "high" only adds bits at or above
            // 8 - shift >= b, which the mod removes; so the high byte of the row's last byte is clamped into the row.
            var high = low.Select(j => Math.Min(j + 1, bits - 1)).ToArray();
            var highBytes = Cast(graph, graph.Node("Gather", [bytes, graph.Int64s(high)], null, Attr.Int("axis", 1)), CastToInt32);
            pair = graph.Node("Add", [pair, graph.Node("Mul", [highBytes, graph.Int32Scalar(256)])]);
        }
        var shifts = Enumerable.Range(0, 8).Select(s => 1 << (s * bits % 8)).ToArray();
        var slots = graph.Node("Mod", [graph.Node("Div", [pair, graph.Int32s(shifts)]), graph.Int32Scalar(1 << bits)]);
        var flat = Reshape(graph, slots, words * 8);
        return words * 8 == count ? flat : graph.Node("Slice", [flat, graph.Int64s(0), graph.Int64s(count)]);
    }

    /// <summary>The last node of an expansion, named as the weight, reshaped to its shape when that is not [rows, columns].</summary>
    private static string Shaped(OnnxGraphBuilder graph, string name, string op, IReadOnlyList<string> inputs, long[] shape, params Proto.AttributeProto[] attributes)
    {
        if (shape.Length == 2) return graph.Node(op, inputs, name, attributes);
        return graph.Node("Reshape", [graph.Node(op, inputs, null, attributes), graph.Int64s(shape)], name);
    }

    private static string Cast(OnnxGraphBuilder graph, string value, long to) => graph.Node("Cast", [value], null, Attr.Int("to", to));

    private static string Reshape(OnnxGraphBuilder graph, string value, params long[] shape) => graph.Node("Reshape", [value, graph.Int64s(shape)]);
}
