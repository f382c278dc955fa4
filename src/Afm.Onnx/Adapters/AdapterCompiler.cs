using System.Globalization;
using Afm.Onnx.Export;
using Afm.Onnx.Proto;

namespace Afm.Onnx.Adapters;

/// <summary>
/// What an adapter must fit: the LoRA inputs of an exported base graph (name -> dims, null for the symbolic rank),
/// the base weights' SHA-256 and the graph's model version, read from model.onnx itself.
/// </summary>
public sealed record AdapterBase(IReadOnlyDictionary<string, long?[]> LoraInputs, string? BaseSha256, int ModelVersion)
{
    public static AdapterBase FromModel(byte[] onnxModel)
    {
        var model = ModelProto.Parser.ParseFrom(onnxModel);
        var inputs = new Dictionary<string, long?[]>(StringComparer.Ordinal);
        foreach (var input in model.Graph.Input.Where(i => i.Name.EndsWith(".lora_A", StringComparison.Ordinal) || i.Name.EndsWith(".lora_B", StringComparison.Ordinal)))
            inputs[input.Name] = input.Type.TensorType.Shape.Dim.Select(d => d.HasDimValue ? d.DimValue : (long?)null).ToArray();
        var sha = model.MetadataProps.FirstOrDefault(p => p.Key == DecoderNames.Metadata.BaseSha256)?.Value;
        return new AdapterBase(inputs, sha, (int)model.ModelVersion);
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
    public static (byte[] File, AdapterDescription Description) Compile(TrainedAdapter adapter, AdapterBase baseGraph)
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

        // ORT's adapter_version is an int: the adapter's version when it is one, else 0 (the description keeps the string).
        int adapterVersion = int.TryParse(adapter.Version, NumberStyles.None, CultureInfo.InvariantCulture, out var v) ? v : 0;
        var file = OnnxAdapterFormat.Write(adapterVersion, baseGraph.ModelVersion, parameters);
        var description = new AdapterDescription(AdapterDescription.CurrentFormat, adapter.Name, adapter.Kind, adapter.Rank, adapter.Version,
            adapterVersion, adapter.BaseSha256, parameters.Count);
        return (file, description);
    }

    private static string Describe(long?[] dims, int rank) =>
        string.Join(",", dims.Select(d => d?.ToString(CultureInfo.InvariantCulture) ?? rank.ToString(CultureInfo.InvariantCulture)));
}
