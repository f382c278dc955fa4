namespace Afm.Interchange.Gguf;

/// <summary>
/// The container rules of GGUF version 3 (ggml's docs/gguf.md): a little-endian header (magic "GGUF", version,
/// tensor count, metadata count), the metadata key/value pairs, one info per tensor (name, dimensions innermost first,
/// ggml type, offset into the data section), then the tensor data, each tensor starting at a multiple of the alignment.
/// </summary>
public static class GgufFormat
{
    /// <summary>"GGUF" read as a little-endian uint32.</summary>
    public const uint Magic = 0x46554747;
    public const uint Version = 3;
    /// <summary>The alignment llama.cpp assumes without <c>general.alignment</c>; we write that key too.</summary>
    public const int Alignment = 32;
}

/// <summary>The metadata value types of GGUF (their numbers are the format's).</summary>
public enum GgufValueType : uint
{
    UInt8 = 0, Int8 = 1, UInt16 = 2, Int16 = 3, UInt32 = 4, Int32 = 5, Float32 = 6, Bool = 7, String = 8, Array = 9,
    UInt64 = 10, Int64 = 11, Float64 = 12,
}

/// <summary>The ggml tensor types written here (their numbers are ggml's <c>enum ggml_type</c>).</summary>
public enum GgmlType : uint
{
    F32 = 0,
    F16 = 1,
    /// <summary>Blocks of 32 weights: an fp16 scale and 32 4-bit values (offset 8), 18 bytes.</summary>
    Q4_0 = 2,
    /// <summary>Blocks of 32 weights: an fp16 scale and 32 int8 values, 34 bytes.</summary>
    Q8_0 = 8,
}

/// <summary>A metadata value: its GGUF type (for arrays, the element type) and the value (scalar, string or array).</summary>
public sealed record GgufValue(GgufValueType Type, object Value, GgufValueType ElementType = GgufValueType.UInt8)
{
    public static GgufValue Of(string value) => new(GgufValueType.String, value);
    public static GgufValue Of(uint value) => new(GgufValueType.UInt32, value);
    public static GgufValue Of(int value) => new(GgufValueType.Int32, value);
    public static GgufValue Of(float value) => new(GgufValueType.Float32, value);
    public static GgufValue Of(bool value) => new(GgufValueType.Bool, value);
    public static GgufValue Of(IReadOnlyList<string> values) => new(GgufValueType.Array, values, GgufValueType.String);
    public static GgufValue Of(IReadOnlyList<int> values) => new(GgufValueType.Array, values, GgufValueType.Int32);
    public static GgufValue Of(IReadOnlyList<float> values) => new(GgufValueType.Array, values, GgufValueType.Float32);

    /// <summary>
    /// A value given as plain data (a tokenizer's GGUF description, for one): string, uint (ids, UINT32), int, float,
    /// bool, or a list of strings, ints or floats.
    /// </summary>
    public static GgufValue From(object value) => value switch
    {
        string text => Of(text),
        uint number => Of(number),
        int number => Of(number),
        float number => Of(number),
        bool flag => Of(flag),
        IReadOnlyList<string> texts => Of(texts),
        IReadOnlyList<int> numbers => Of(numbers),
        IReadOnlyList<float> numbers => Of(numbers),
        _ => throw new ArgumentException($"No GGUF value type for {value.GetType().Name}."),
    };
}

/// <summary>
/// One tensor of a GGUF file. <paramref name="Dimensions"/> are ggml's <c>ne</c>, innermost (contiguous) first: a
/// PyTorch weight of shape [out, in] is [in, out] here. <paramref name="Data"/> is already in <paramref name="Type"/>.
/// </summary>
public sealed record GgufTensor(string Name, long[] Dimensions, GgmlType Type, byte[] Data);
