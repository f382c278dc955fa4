using System.Globalization;
using System.Runtime.InteropServices;

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

    /// <summary>Reads the file through the exporter's byte-level safetensors reader (no libtorch).</summary>
    public static TrainedAdapter Load(string path)
    {
        var file = Afm.Core.IO.SafeTensorsFile.Read(path);
        var metadata = file.Metadata;
        var tensors = new SortedDictionary<string, (long[], float[])>(StringComparer.Ordinal);
        foreach (var (name, entry) in file.Tensors)
        {
            if (entry.DType != "F32") throw new InvalidDataException($"{path}: '{name}' is {entry.DType}; adapters are float32.");
            var values = MemoryMarshal.Cast<byte, float>(entry.Bytes.Span).ToArray();
            if (values.LongLength != entry.Shape.Aggregate(1L, (a, b) => a * b))
                throw new InvalidDataException($"{path}: '{name}' has {values.Length} values but shape [{string.Join(",", entry.Shape)}].");
            tensors[name] = (entry.Shape, values);
        }

        var missing = RequiredMetadata.Where(k => !metadata.ContainsKey(k)).ToList();
        if (missing.Count > 0) throw new InvalidDataException($"{path}: metadata lacks {string.Join(", ", missing)}.");
        if (!int.TryParse(metadata["rank"], NumberStyles.None, CultureInfo.InvariantCulture, out int rank) || rank < 1)
            throw new InvalidDataException($"{path}: metadata rank '{metadata["rank"]}' is not a positive integer.");
        return new TrainedAdapter(metadata["name"], metadata["kind"], rank, metadata["version"], metadata["base_sha256"].ToLowerInvariant(), tensors);
    }
}
