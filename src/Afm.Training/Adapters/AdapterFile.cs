using System.Globalization;
using System.Security.Cryptography;
using Afm.Core.Spec;
using Afm.Training.Checkpoints;
using static TorchSharp.torch;

namespace Afm.Training.Adapters;

/// <summary>What an adapter file says about itself (safetensors metadata).</summary>
/// <param name="Kind">"accuracy-recovery" or "feature".</param>
/// <param name="Version">The adapter's own version (the Adapter item's Version, else the project's).</param>
/// <param name="BaseSha256">SHA-256 (lowercase hex) of the base weights file the adapter was trained against.</param>
public sealed record AdapterInfo(string Name, string Kind, int Rank, string Version, string BaseSha256);

/// <summary>
/// <c>adapter.safetensors</c>: for every adapted base weight N, <c>N.lora_A</c> F32 [rank, in] and <c>N.lora_B</c>
/// F32 [out, rank] with the training scale folded into B (a consumer computes x A^T B^T and adds it to x N^T),
/// and the metadata name, kind, rank, version, base_sha256.
/// </summary>
public static class AdapterFile
{
    public const string FileName = Afm.Core.Artifacts.StageLayout.Adapters.Adapter.Weights;

    public static void Write(string path, LoraAdapter adapter, AdapterInfo info)
    {
        if (info.Rank != adapter.Rank) throw new ArgumentException($"The info says rank {info.Rank}, the adapter has {adapter.Rank}.", nameof(info));
        var tensors = adapter.FoldedTensors().ToList();
        try
        {
            SafeTensors.Write(path, tensors, new Dictionary<string, string>
            {
                ["name"] = info.Name, ["kind"] = info.Kind, ["rank"] = info.Rank.ToString(CultureInfo.InvariantCulture),
                ["version"] = info.Version, ["base_sha256"] = info.BaseSha256, ["format"] = "afm-lora-v1",
            });
        }
        finally
        {
            foreach (var (_, t) in tensors) t.Dispose();
        }
    }

    /// <summary>The metadata only.</summary>
    public static AdapterInfo ReadInfo(string path)
    {
        var m = SafeTensors.ReadMetadata(path);
        string Get(string key) => m.TryGetValue(key, out var v) ? v : throw new InvalidDataException($"{path} is not an AFM adapter: no '{key}' metadata.");
        return new AdapterInfo(Get("name"), Get("kind"), int.Parse(Get("rank"), CultureInfo.InvariantCulture), Get("version"), Get("base_sha256"));
    }

    /// <summary>The adapter for <paramref name="architecture"/>; <paramref name="trainingScale"/> as in <see cref="LoraAdapter.FromTensors"/>.</summary>
    public static (LoraAdapter Adapter, AdapterInfo Info) Read(string path, ArchitectureSpec architecture, double trainingScale = 1.0)
    {
        var info = ReadInfo(path);
        var (tensors, _) = SafeTensors.Read(path);
        try
        {
            return (LoraAdapter.FromTensors(architecture, tensors, trainingScale), info);
        }
        finally
        {
            foreach (var t in tensors.Values) t.Dispose();
        }
    }

    /// <summary>SHA-256 (lowercase hex) of a file: what <see cref="AdapterInfo.BaseSha256"/> holds.</summary>
    public static string Sha256(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexStringLower(SHA256.HashData(stream));
    }
}
