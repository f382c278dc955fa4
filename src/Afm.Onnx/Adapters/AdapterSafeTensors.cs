using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;
using System.Text.Json;

namespace Afm.Onnx.Adapters;

/// <summary>
/// A trained LoRA adapter as the adapters stage writes it (<c>adapters/&lt;name&gt;/adapter.safetensors</c>): float32
/// tensors <c>N.lora_A</c> [rank, in] and <c>N.lora_B</c> [out, rank] (scale folded into B) for base weights N, and
/// string metadata name, kind, rank, version and base_sha256 (the SHA-256 of the weights file it was trained on).
/// </summary>
public sealed record TrainedAdapter(string Name, string Kind, int Rank, string Version, string BaseSha256,
    IReadOnlyDictionary<string, (long[] Shape, float[] Values)> Tensors)
{
    public static readonly string[] RequiredMetadata = ["name", "kind", "rank", "version", "base_sha256"];

    /// <summary>Reads the file; its own safetensors parsing because Afm.Training's returns libtorch tensors.</summary>
    public static TrainedAdapter Load(string path)
    {
        byte[] file = File.ReadAllBytes(path);
        if (file.Length < 8) throw new InvalidDataException($"{path}: too short to be a safetensors file.");
        ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(file);
        if (headerLength > (ulong)(file.Length - 8)) throw new InvalidDataException($"{path}: header length {headerLength} exceeds the file.");
        int dataStart = 8 + (int)headerLength;
        using var header = JsonDocument.Parse(file.AsMemory(8, (int)headerLength));

        var metadata = new Dictionary<string, string>(StringComparer.Ordinal);
        var tensors = new SortedDictionary<string, (long[], float[])>(StringComparer.Ordinal);
        foreach (var entry in header.RootElement.EnumerateObject())
        {
            if (entry.Name == "__metadata__")
            {
                foreach (var item in entry.Value.EnumerateObject())
                    if (item.Value.ValueKind == JsonValueKind.String) metadata[item.Name] = item.Value.GetString()!;
                continue;
            }
            var dtype = entry.Value.GetProperty("dtype").GetString();
            if (dtype != "F32") throw new InvalidDataException($"{path}: '{entry.Name}' is {dtype}; adapters are float32.");
            var shape = entry.Value.GetProperty("shape").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            var offsets = entry.Value.GetProperty("data_offsets").EnumerateArray().Select(d => d.GetInt64()).ToArray();
            long begin = dataStart + offsets[0], end = dataStart + offsets[1];
            if (end > file.Length || begin > end) throw new InvalidDataException($"{path}: '{entry.Name}' lies outside the file.");
            var values = MemoryMarshal.Cast<byte, float>(file.AsSpan((int)begin, (int)(end - begin))).ToArray();
            if (values.LongLength != shape.Aggregate(1L, (a, b) => a * b))
                throw new InvalidDataException($"{path}: '{entry.Name}' has {values.Length} values but shape [{string.Join(",", shape)}].");
            tensors[entry.Name] = (shape, values);
        }

        var missing = RequiredMetadata.Where(k => !metadata.ContainsKey(k)).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"{path}: metadata lacks {string.Join(", ", missing)}.");
        if (!int.TryParse(metadata["rank"], NumberStyles.None, CultureInfo.InvariantCulture, out int rank) || rank < 1)
            throw new InvalidDataException($"{path}: metadata rank '{metadata["rank"]}' is not a positive integer.");
        return new TrainedAdapter(metadata["name"], metadata["kind"], rank, metadata["version"], metadata["base_sha256"].ToLowerInvariant(), tensors);
    }
}
