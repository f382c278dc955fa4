using System.Globalization;
using System.Runtime.InteropServices;
using Afm.Core.IO;
using Afm.Core.Spec;

namespace Afm.Onnx.Export;

/// <summary>Reads a float32 safetensors file (as the train stage writes it) into a <see cref="DecoderModel"/>.</summary>
public static class SafeTensorsWeights
{
    public static DecoderModel Load(ArchitectureSpec architecture, string path)
    {
        var file = SafeTensorsFile.Read(path);
        var weights = new SortedDictionary<string, ExportWeight>(StringComparer.Ordinal);
        foreach (var (name, entry) in file.Tensors)
        {
            if (entry.DType != "F32") throw new InvalidDataException($"{path}: '{name}' is {entry.DType}; the exporter reads float32 weights.");
            var values = MemoryMarshal.Cast<byte, float>(entry.Bytes.Span).ToArray();
            weights[name] = new FloatWeight(values, entry.Shape).Validate(name);
        }
        return new DecoderModel(architecture, RopeBase(file, architecture), weights);
    }

    /// <summary>The RoPE base the weights were trained with last (metadata <c>rope_base</c>), else the architecture's.</summary>
    internal static double RopeBase(SafeTensorsFile file, ArchitectureSpec architecture)
    {
        // The graph rotates pairs (i, i + d/2); weights trained with another pairing would export wrong silently.
        if (file.Metadata.TryGetValue("rope_style", out var style) && style != "rotate_half")
            throw new InvalidDataException($"{file.Path}: RoPE style '{style}' is not the 'rotate_half' the exporter writes.");
        return file.Metadata.TryGetValue("rope_base", out var rope) ? double.Parse(rope, CultureInfo.InvariantCulture) : architecture.RopeBase;
    }
}
