using System.Globalization;
using Afm.Onnx.Export;
using Afm.Onnx.Proto;

namespace Afm.Onnx.Adapters;

/// <summary>
/// What an adapter must fit: the LoRA inputs of an exported base graph (name -> dims, null for the symbolic rank),
/// the base weights' SHA-256 and the graph's model version, read from model.onnx itself.
/// </summary>
public sealed record ExportedBase(IReadOnlyDictionary<string, long?[]> LoraInputs, string? BaseSha256, int ModelVersion)
{
    public static ExportedBase FromModel(byte[] onnxModel)
    {
        var model = ModelProto.Parser.ParseFrom(onnxModel);
        var inputs = new Dictionary<string, long?[]>(StringComparer.Ordinal);
        foreach (var input in model.Graph.Input.Where(i => i.Name.EndsWith(".lora_A", StringComparison.Ordinal) || i.Name.EndsWith(".lora_B", StringComparison.Ordinal)))
            inputs[input.Name] = input.Type.TensorType.Shape.Dim.Select(d => d.HasDimValue ? d.DimValue : (long?)null).ToArray();
        var sha = model.MetadataProps.FirstOrDefault(p => p.Key == DecoderNames.Metadata.BaseSha256)?.Value;
        return new ExportedBase(inputs, sha, (int)model.ModelVersion);
    }
}

/// <summary>
/// Compiles a trained adapter (adapter.safetensors) into ONNX Runtime's <c>.onnx_adapter</c> plus its description,
/// after checking it against the base graph: same base weights (SHA-256), every tensor a LoRA input of the graph
/// with the graph's dims and the adapter's rank, A and B in pairs. The tensors keep their names and training
/// layout: the graph's LoRA inputs are declared in that layout (specs/onnx-export.md).
/// </summary>
public static class AdapterCompiler
{
    public static (byte[] File, AdapterDescription Description) Compile(TrainedAdapter adapter, ExportedBase baseGraph)
    {
        if (baseGraph.BaseSha256 is null)
            throw new AdapterException(AdapterCodes.BaseMismatch,
                $"adapter '{adapter.Name}': the base model.onnx records no {DecoderNames.Metadata.BaseSha256}, so no adapter can be checked against it; re-export it with this toolchain.");
        if (!string.Equals(adapter.BaseSha256, baseGraph.BaseSha256, StringComparison.OrdinalIgnoreCase))
            throw new AdapterException(AdapterCodes.BaseMismatch,
                $"adapter '{adapter.Name}' was trained on base weights {adapter.BaseSha256}, but model.onnx was exported from {baseGraph.BaseSha256}; " +
                "retrain the adapter on this base (or export the weights it was trained on).");
        if (baseGraph.LoraInputs.Count == 0)
            throw new AdapterException(AdapterCodes.Invalid, $"adapter '{adapter.Name}': the base model.onnx has no LoRA inputs; re-export it with this toolchain.");

        var parameters = new List<AdapterParameter>();
        foreach (var (name, (shape, values)) in adapter.Tensors)
        {
            if (!baseGraph.LoraInputs.TryGetValue(name, out var expected))
                throw new AdapterException(AdapterCodes.Invalid, $"adapter '{adapter.Name}': tensor '{name}' is not a LoRA input of the base graph.");
            if (shape.Length != expected.Length || shape.Where((d, i) => d != (expected[i] ?? adapter.Rank)).Any())
                throw new AdapterException(AdapterCodes.Invalid,
                    $"adapter '{adapter.Name}': tensor '{name}' has shape [{string.Join(",", shape)}], the graph expects [{Describe(expected, adapter.Rank)}].");
            string partner = name.EndsWith(".lora_A", StringComparison.Ordinal) ? name[..^1] + "B" : name[..^1] + "A";
            if (!adapter.Tensors.ContainsKey(partner))
                throw new AdapterException(AdapterCodes.Invalid, $"adapter '{adapter.Name}': tensor '{name}' has no '{partner}'.");
            parameters.Add(AdapterParameter.FromFloats(name, values, shape));
        }
        if (parameters.Count == 0) throw new AdapterException(AdapterCodes.Invalid, $"adapter '{adapter.Name}' has no tensors.");

        int adapterVersion = IntegerVersion(adapter.Version);
        var file = OnnxAdapterFormat.Write(adapterVersion, baseGraph.ModelVersion, parameters);
        var description = new AdapterDescription(AdapterDescription.CurrentFormat, adapter.Name, adapter.Kind, adapter.Rank, adapter.Version,
            adapterVersion, adapter.BaseSha256, parameters.Count);
        return (file, description);
    }

    /// <summary>
    /// ORT's adapter_version is an int; the adapter's version is a string. An integer stays as it is; "a.b.c" with each
    /// part below 1000 becomes a*1,000,000 + b*1,000 + c (ordered like the versions); anything else is 0, and the
    /// description always keeps the string.
    /// </summary>
    public static int IntegerVersion(string version)
    {
        if (int.TryParse(version, NumberStyles.None, CultureInfo.InvariantCulture, out var whole)) return whole;
        var parts = version.Split('.');
        if (parts.Length is < 2 or > 3) return 0;
        int value = 0;
        foreach (var part in parts.Concat(Enumerable.Repeat("0", 3 - parts.Length)))
        {
            if (!int.TryParse(part, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n >= 1000) return 0;
            value = value * 1000 + n;
        }
        return value;
    }

    private static string Describe(long?[] dims, int rank) =>
        string.Join(",", dims.Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? rank.ToString(CultureInfo.InvariantCulture)));
}
