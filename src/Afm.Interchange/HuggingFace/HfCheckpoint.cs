using System.Text.Json.Nodes;
using Afm.Core.IO;
using Afm.Core.Spec;

namespace Afm.Interchange.HuggingFace;

/// <summary>
/// A Hugging Face checkpoint folder opened for import: its config read into the decoder's architecture, its weights
/// (<c>model.safetensors</c> or the shards a <c>model.safetensors.index.json</c> names) checked tensor by tensor against
/// the config through <see cref="HfTensorMap"/>, and read one tensor at a time (bf16 / fp16 / fp32 widened to fp32), so
/// importing never holds the checkpoint whole.
/// </summary>
public sealed class HfCheckpoint : IDisposable
{
    /// <summary>Elements converted per read when writing: bounds the importer's memory whatever the tensor's size.</summary>
    private const int CopyChunkElements = 1 << 20;

    private readonly Dictionary<string, SafeTensorsReader> _shards;
    private readonly Dictionary<string, (SafeTensorsReader Reader, HfTensorMap.Entry Entry, long FirstElement)> _ours;

    private HfCheckpoint(string folder, HfConfig config, HfTensorMap map, Dictionary<string, SafeTensorsReader> shards,
        Dictionary<string, SafeTensorsReader> byTensor, IReadOnlyList<string> files)
    {
        Folder = folder;
        Config = config;
        Map = map;
        _shards = shards;
        Files = files;
        _ours = new(StringComparer.Ordinal);
        foreach (var entry in map.Entries)
        {
            long first = 0;
            foreach (var part in entry.Parts)
            {
                _ours[part.Name] = (byTensor[entry.HfName], entry, first);
                first += part.Elements;
            }
        }
    }

    public string Folder { get; }
    public HfConfig Config { get; }
    public HfTensorMap Map { get; }
    /// <summary>The files import reads (absolute, sorted): configs, index, shards and the tokenizer's files present.</summary>
    public IReadOnlyList<string> Files { get; }

    /// <summary>Reads config.json and checks every tensor of the weights against it (names, dtypes, shapes), reading no tensor data.</summary>
    /// <exception cref="BaseModelException">The first problem found, with its AFM16xx code.</exception>
    public static HfCheckpoint Open(string folder)
    {
        folder = Path.GetFullPath(folder);
        var config = HfConfig.Read(folder);
        var map = HfTensorMap.For(config.Family, config.Architecture);
        var (shardNames, index) = ShardFiles(folder);
        var shards = new Dictionary<string, SafeTensorsReader>(StringComparer.Ordinal);
        try
        {
            foreach (var name in shardNames)
            {
                var path = Path.Combine(folder, name);
                if (!File.Exists(path))
                    throw new BaseModelException(InterchangeCodes.ShardMissing,
                        $"{HfLayout.WeightsIndex} names the shard '{name}', which is not in {folder}. Copy every shard of the checkpoint into the folder.");
                try
                {
                    shards[name] = SafeTensorsReader.Open(path);
                }
                catch (InvalidDataException e)
                {
                    throw new BaseModelException(InterchangeCodes.SafeTensorsMalformed, $"{e.Message} Download the file again.");
                }
            }
            var byTensor = Locate(map, shards, index);
            var files = new List<string> { Path.Combine(folder, HfLayout.Config) };
            files.AddRange(new[] { HfLayout.GenerationConfig, HfLayout.WeightsIndex }.Concat(HfLayout.TokenizerFiles)
                .Select(f => Path.Combine(folder, f)).Where(File.Exists));
            files.AddRange(shardNames.Select(n => Path.Combine(folder, n)));
            files.Sort(StringComparer.Ordinal);
            return new HfCheckpoint(folder, config, map, shards, byTensor, files);
        }
        catch
        {
            foreach (var shard in shards.Values) shard.Dispose();
            throw;
        }
    }

    /// <summary>The shard files (relative names) and, when sharded, which shard holds each tensor.</summary>
    private static (List<string> Names, Dictionary<string, string>? Index) ShardFiles(string folder)
    {
        var indexPath = Path.Combine(folder, HfLayout.WeightsIndex);
        if (!File.Exists(indexPath))
        {
            if (!File.Exists(Path.Combine(folder, HfLayout.Weights)))
                throw new BaseModelException(InterchangeCodes.WeightsMissing,
                    $"{folder} has neither {HfLayout.Weights} nor {HfLayout.WeightsIndex}; the toolchain reads safetensors weights only (convert a pytorch_model.bin with transformers' save_pretrained(safe_serialization=True)).");
            return ([HfLayout.Weights], null);
        }
        var json = HfJson.Load(indexPath, InterchangeCodes.IndexMalformed, maxBytes: 64 << 20);
        if (json.Node("weight_map") is not JsonObject weightMap)
            throw new BaseModelException(InterchangeCodes.IndexMalformed, $"{HfLayout.WeightsIndex} has no 'weight_map' object.");
        var index = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (tensor, node) in weightMap)
        {
            var file = node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
            // A shard is a file of this folder: a path that leaves it (or names a folder) is not a checkpoint's.
            if (file is null || file.Length == 0 || file != Path.GetFileName(file) || file is "." or "..")
                throw new BaseModelException(InterchangeCodes.IndexMalformed, $"{HfLayout.WeightsIndex} maps '{tensor}' to {node?.ToJsonString() ?? "null"}, which is not a file name in the checkpoint folder.");
            index[tensor] = file;
        }
        return (index.Values.Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal).ToList(), index);
    }

    private static Dictionary<string, SafeTensorsReader> Locate(HfTensorMap map, Dictionary<string, SafeTensorsReader> shards, Dictionary<string, string>? index)
    {
        var byTensor = new Dictionary<string, SafeTensorsReader>(StringComparer.Ordinal);
        foreach (var entry in map.Entries)
        {
            var shard = index is null ? shards.Values.Single()
                : index.TryGetValue(entry.HfName, out var file) ? shards[file]
                : throw Missing(entry, map);
            if (!shard.Header.Tensors.TryGetValue(entry.HfName, out var info))
                throw index is null ? Missing(entry, map)
                    : new BaseModelException(InterchangeCodes.TensorMissing, $"{HfLayout.WeightsIndex} puts '{entry.HfName}' in {Path.GetFileName(shard.Path)}, which does not hold it.");
            if (!SafeTensorsReader.IsFloatDType(info.DType))
                throw new BaseModelException(InterchangeCodes.TensorDTypeUnsupported,
                    $"'{entry.HfName}' in {Path.GetFileName(shard.Path)} is {info.DType}; the toolchain reads F32, F16 and BF16 weights (dequantize the checkpoint first).");
            if (!info.Shape.SequenceEqual(entry.Shape))
                throw new BaseModelException(InterchangeCodes.TensorShapeMismatch,
                    $"'{entry.HfName}' in {Path.GetFileName(shard.Path)} has shape [{string.Join(", ", info.Shape)}], but config.json gives [{string.Join(", ", entry.Shape)}]; the weights and the config are of different models.");
            byTensor[entry.HfName] = shard;
        }
        var expected = map.Entries.Select(e => e.HfName).ToHashSet(StringComparer.Ordinal);
        foreach (var shard in shards.Values)
            foreach (var name in shard.Header.Tensors.Keys.Order(StringComparer.Ordinal))
                if (!expected.Contains(name) && !map.IgnoredWhenPresent.Contains(name) && !name.EndsWith(".rotary_emb.inv_freq", StringComparison.Ordinal))
                    throw new BaseModelException(InterchangeCodes.UnexpectedTensor,
                        $"{Path.GetFileName(shard.Path)} holds '{name}', which a {HfFamilies.ClassName(map.Family)} with this config.json does not have; importing without it would drop part of the model.");
        return byTensor;
    }

    private static BaseModelException Missing(HfTensorMap.Entry entry, HfTensorMap map) =>
        new(InterchangeCodes.TensorMissing, $"The weights have no '{entry.HfName}', which a {HfFamilies.ClassName(map.Family)} with this config.json needs.");

    /// <summary>Our tensor <paramref name="name"/> (a name of the decoder's), as fp32, in <paramref name="destination"/> (exactly its size).</summary>
    public void ReadTensor(string name, Span<float> destination, long firstElement = 0)
    {
        var (reader, entry, first) = _ours[name];
        reader.ReadFloat32(entry.HfName, first + firstElement, destination);
    }

    public float[] ReadTensor(string name)
    {
        var part = Map.OurTensors.First(p => p.Name == name);
        var values = new float[checked((int)part.Elements)];
        ReadTensor(name, values);
        return values;
    }

    /// <summary>
    /// Writes the weights in the decoder's names as fp32 safetensors (the train stage's <c>model.safetensors</c>
    /// convention), a chunk at a time: memory stays a few MB whatever the model's size.
    /// </summary>
    public void WriteDecoderWeights(string path, IReadOnlyDictionary<string, string> metadata)
    {
        var buffer = new float[CopyChunkElements];
        SafeTensorsWriter.Write(path, Map.OurTensors.Select(part => new SafeTensorsWriter.Tensor(part.Name, "F32", part.Shape, stream =>
        {
            for (long done = 0; done < part.Elements; done += buffer.Length)
            {
                var chunk = buffer.AsSpan(0, (int)Math.Min(buffer.Length, part.Elements - done));
                ReadTensor(part.Name, chunk, done);
                SafeTensorsWriter.WriteFloat32(stream, chunk);
            }
        })), metadata);
    }

    public void Dispose()
    {
        foreach (var shard in _shards.Values) shard.Dispose();
    }
}
