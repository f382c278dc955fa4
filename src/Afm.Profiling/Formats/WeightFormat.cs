using System.Globalization;

namespace Afm.Profiling.Formats;

public enum FormatKind { Fp32, Fp16, Int8, Palettized }

/// <summary>
/// How one weight matrix is stored. Palettized weights keep <see cref="Bits"/>-bit indices into fp16 lookup
/// tables shared by <c>groupSize</c> consecutive output channels (the quantize stage's layout); int8 keeps one
/// fp16 scale per output channel.
/// </summary>
public readonly record struct WeightFormat(FormatKind Kind, int Bits)
{
    public static readonly WeightFormat Fp32 = new(FormatKind.Fp32, 32);
    public static readonly WeightFormat Fp16 = new(FormatKind.Fp16, 16);
    public static readonly WeightFormat Int8 = new(FormatKind.Int8, 8);
    public static WeightFormat Palettized(int bits) =>
        bits is >= 1 and <= 8 ? new(FormatKind.Palettized, bits) : throw new ArgumentOutOfRangeException(nameof(bits), "Palettized bits are 1 to 8.");

    /// <summary>The formats every profile.json tabulates.</summary>
    public static IReadOnlyList<WeightFormat> Standard { get; } =
        [Fp32, Fp16, Int8, Palettized(4), Palettized(3), Palettized(2)];

    /// <summary>fp32, fp16, int8, pal4 (also 4bit), pal3, pal2.</summary>
    public string Name => Kind switch
    {
        FormatKind.Fp32 => "fp32", FormatKind.Fp16 => "fp16", FormatKind.Int8 => "int8",
        _ => "pal" + Bits.ToString(CultureInfo.InvariantCulture),
    };

    public override string ToString() => Name;

    /// <summary>Parses fp32, fp16, int8, palN and Nbit (palettized N-bit, as in <c>--set layers.3.mlp=2bit</c>).</summary>
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

    private long PackedBytes(long readRows, long rows, long columns) =>
        readRows == rows ? (rows * columns * Bits + 7) / 8 : readRows * ((columns * Bits + 7) / 8);

    private static long Groups(long rows, int groupSize) => (rows + groupSize - 1) / groupSize;
}

/// <summary>The two workloads a profile costs: prefill of a prompt, and one decode step at a context length.</summary>
public enum Phase { Prefill, Decode }
