using System.IO.Compression;
using System.Text.Json.Nodes;
using Afm.Core.Artifacts;
using Afm.Onnx.Export;
using Afm.Runtime.Artifacts;

namespace Afm.Bench.Runtime;

/// <summary>
/// A copy of a float artifact whose model.onnx is re-exported by this toolchain's exporter from the artifact's own
/// model/model.safetensors (the manifest's entry updated to the new size and hash), for artifacts built before the
/// graph had its attention_mask input: the batching bench needs it, and rebuilding the sample would retrain it.
/// The weights and everything else are the artifact's.
/// </summary>
internal static class ReexportedArtifact
{
    /// <summary>Both graphs, as files in the scratch folder: the artifact's and the re-exported one.</summary>
    public const string OriginalGraph = "original.onnx", CurrentGraph = "current.onnx";

    public static string Create(string artifact, string scratch)
    {
        Directory.CreateDirectory(scratch);
        var entries = new SortedDictionary<string, byte[]>(StringComparer.Ordinal);
        using (var zip = ZipFile.OpenRead(artifact))
            foreach (var entry in zip.Entries)
            {
                using var stream = entry.Open();
                using var buffer = new MemoryStream();
                stream.CopyTo(buffer);
                entries[entry.FullName] = buffer.ToArray();
            }
        if (!entries.TryGetValue("model/model.safetensors", out var weights) || !entries.TryGetValue("spec.json", out var spec))
            throw new InvalidDataException($"{artifact} has no model/model.safetensors or spec.json to re-export from " +
                "(the float weights are left out of a quantized project's deploy layout; build it with -p:AfmPackageSources=true to keep them).");

        var weightsPath = Path.Combine(scratch, "model.safetensors");
        var specPath = Path.Combine(scratch, "spec.json");
        File.WriteAllBytes(weightsPath, weights);
        File.WriteAllBytes(specPath, spec);
        var model = SafeTensorsWeights.Load(DecodeBench.ReadArchitecture(specPath), weightsPath) with { BaseSha256 = Hashing.Sha256(weights) };
        var onnx = DecoderExporter.Export(model, "bench");
        File.WriteAllBytes(Path.Combine(scratch, OriginalGraph), entries[VerifiedArtifact.OnnxModelEntry]);
        File.WriteAllBytes(Path.Combine(scratch, CurrentGraph), onnx);
        entries[VerifiedArtifact.OnnxModelEntry] = onnx;

        var manifest = JsonNode.Parse(entries[VerifiedArtifact.ManifestEntry])!;
        var file = manifest["files"]!.AsArray().Single(f => (string?)f!["path"] == VerifiedArtifact.OnnxModelEntry)!;
        file["size"] = onnx.LongLength;
        file["sha256"] = Hashing.Sha256(onnx);
        entries[VerifiedArtifact.ManifestEntry] = System.Text.Encoding.UTF8.GetBytes(manifest.ToJsonString());

        var path = Path.Combine(scratch, Path.GetFileName(artifact));
        using var output = ZipFile.Open(path, ZipArchiveMode.Create);
        foreach (var (name, bytes) in entries)
        {
            using var stream = output.CreateEntry(name).Open();
            stream.Write(bytes);
        }
        return path;
    }
}
