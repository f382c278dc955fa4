using System.Globalization;

namespace Afm.Profiling.Formats;

public enum FormatKind { Fp32, Fp16, Int8, Palettized, NBits }

/// <summary>
/// How one weight matrix is stored. Palettized weights keep <see cref="Bits"/>-bit indices into fp16 lookup
/// tables shared by <c>groupSize</c> consecutive output channels (the quantize stage's layout); int8 keeps one
/// fp16 scale per output channel. <see cref="FormatKind.NBits"/> is a weight ONNX Runtime keeps resident and runs by
/// com.microsoft.MatMulNBits (RuntimeForm="nbits"): packed indices with a float32 scale and a packed zero point per block
/// along the row; 8 bits run as two 4-bit halves (Afm.Onnx's NBitsLinear). For the embedding, nbits8 is the int8 table
/// GatherBlockQuantized reads, whose tied output projection is that nibble pair.
/// </summary>
public readonly record struct WeightFormat(FormatKind Kind, int Bits)
{
    public static readonly WeightFormat Fp32 = new(FormatKind.Fp32, 32);
    public static readonly WeightFormat Fp16 = new(FormatKind.Fp16, 16);
    public static readonly WeightFormat Int8 = new(FormatKind.Int8, 8);
    public static WeightFormat NBits(int bits) =>
        bits is 2 or 4 or 8 ? new(FormatKind.NBits, bits) : throw new ArgumentOutOfRangeException(nameof(bits), "MatMulNBits runs 2, 4 and 8 bits.");
    public static WeightFormat Palettized(int bits) =>
        bits is >= 1 and <= 8 ? new(FormatKind.Palettized, bits) : throw new ArgumentOutOfRangeException(nameof(bits), "Palettized bits are 1 to 8.");

    /// <summary>The formats every profile.json tabulates.</summary>
    public static IReadOnlyList<WeightFormat> Standard { get; } =
        [Fp32, Fp16, Int8, Palettized(4), Palettized(3), Palettized(2)];

    /// <summary>The resident forms a profile also tabulates when the project's graph runs weights resident (<c>RuntimeForm="nbits"</c>).</summary>
    public static IReadOnlyList<WeightFormat> Resident { get; } = [NBits(4), NBits(2), NBits(8)];

    /// <summary>fp32, fp16, int8, pal4 (also 4bit), pal3, pal2, nbits4, nbits2, nbits8.</summary>
    public string Name => Kind switch
    {
        FormatKind.Fp32 => "fp32", FormatKind.Fp16 => "fp16", FormatKind.Int8 => "int8",
        FormatKind.NBits => "nbits" + Bits.ToString(CultureInfo.InvariantCulture),
        _ => "pal" + Bits.ToString(CultureInfo.InvariantCulture),
    };

    public override string ToString() => Name;

    /// <summary>Parses fp32, fp16, int8, palN and Nbit (palettized N-bit, as in <c>--set layers.3.mlp=2bit</c>), nbits2/4/8 (resident).</summary>
    public static bool TryParse(string text, out WeightFormat format)
    {
        var t = text.Trim().ToLowerInvariant();
        format = default;
        switch (t)
        {
            case "fp32" or "float" or "float32": format = Fp32; return true;
            case "fp16" or "float16": format = Fp16; return true;
            case "int8": format = Int8; return true;
        }
        if (t.StartsWith("nbits", StringComparison.Ordinal))
        {
            if (!int.TryParse(t[5..], NumberStyles.None, CultureInfo.InvariantCulture, out var width) || width is not (2 or 4 or 8)) return false;
            format = NBits(width);
            return true;
        }
        var digits = t.StartsWith("pal", StringComparison.Ordinal) ? t[3..] : t.EndsWith("bit", StringComparison.Ordinal) ? t[..^3] : null;
        if (digits is null || !int.TryParse(digits, NumberStyles.None, CultureInfo.InvariantCulture, out var bits) || bits < 1 || bits > 8) return false;
        format = Palettized(bits);
        return true;
    }

    /// <summary>Bytes of a whole [rows, columns] matrix in this format, tables and scales included.</summary>
    public long MatrixBytes(long rows, long columns, int groupSize) => RowsBytes(rows, rows, columns, groupSize);

    /// <summary>
    /// Bytes read to fetch <paramref name="readRows"/> rows of a [rows, columns] matrix (an embedding lookup reads
    /// only the rows of its tokens): their elements plus the scales or lookup tables of the rows' groups. A row's
    /// packed indices are rounded up to whole bytes, as the storage packs each row on its own only at that granularity.
    /// </summary>
    public long RowsBytes(long readRows, long rows, long columns, int groupSize)
    {
        readRows = Math.Min(readRows, rows);
        return Kind switch
        {
            FormatKind.Fp32 => readRows * columns * 4,
            FormatKind.Fp16 => readRows * columns * 2,
            FormatKind.Int8 => readRows * columns + readRows * 2,
            FormatKind.NBits => readRows * NBitsRowBytes(columns),
            _ => PackedBytes(readRows, rows, columns) + Math.Min(readRows == rows ? Groups(rows, groupSize) : readRows, Groups(rows, groupSize)) * (1L << Bits) * 2,
        };
    }

    /// <summary>Elements that must be turned into the compute type before the product (lookups, scaling, conversion).</summary>
    public bool NeedsDequantization(bool computeInFp16) => Kind switch
    {
        FormatKind.Fp32 => computeInFp16,
        FormatKind.Fp16 => !computeInFp16,
        _ => true,
    };

    /// <summary>
    /// The MatMulNBits block of rows of <paramref name="columns"/> the cost model assumes: the largest power of two from 16
    /// to 128 dividing the row (the quantize stage's zero-point blocks are at most 128 and may be smaller, which adds a few
    /// scale bytes per row), or null when none does (the weight then cannot run resident).
    /// </summary>
    public static int? NBitsBlock(long columns)
    {
        for (int block = 128; block >= 16; block /= 2)
            if (columns % block == 0) return block;
        return null;
    }

    /// <summary>One row resident: packed indices, a float32 scale and a packed zero point per block; 8 bits as two 4-bit halves.</summary>
    private long NBitsRowBytes(long columns)
    {
        long blocks = columns / (NBitsBlock(columns) ?? 16);
        return Bits == 8 ? columns + 2 * (blocks * 4 + (blocks * 4 + 7) / 8) : columns * Bits / 8 + blocks * 4 + (blocks * Bits + 7) / 8;
    }

    private long PackedBytes(long readRows, long rows, long columns) =>
        readRows == rows ? (rows * columns * Bits + 7) / 8 : readRows * ((columns * Bits + 7) / 8);

    private static long Groups(long rows, int groupSize) => (rows + groupSize - 1) / groupSize;
}

/// <summary>The two workloads a profile costs: prefill of a prompt, and one decode step at a context length.</summary>
public enum Phase { Prefill, Decode }
