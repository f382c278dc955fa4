using System.Globalization;
using Afm.Core.Spec;
using Afm.Onnx.Export;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Afm.Runtime.Sessions;

/// <summary>
/// Owns the one long-lived ONNX Runtime session of a model (Run is thread-safe, so concurrent generations
/// share it) and runs the exported decoder step by step with the OrtValue API.
/// </summary>
public sealed class DecoderSession : IDisposable
{
    private readonly InferenceSession session;
    private readonly string[] inputNames;
    private readonly string[] outputNames;

    public DecoderSession(string modelPath, RuntimeOptions options)
    {
        using var sessionOptions = CreateSessionOptions(options);
        session = new InferenceSession(modelPath, sessionOptions);
        var metadata = session.ModelMetadata.CustomMetadataMap;
        int Read(string key) => metadata.TryGetValue(key, out var v)
            ? int.Parse(v, CultureInfo.InvariantCulture)
            : throw new InvalidDataException($"{modelPath} has no '{key}' metadata; it was not written by the AFM exporter.");
        Layers = Read(DecoderNames.Metadata.Layers);
        KvHeads = Read(DecoderNames.Metadata.KvHeads);
        LayerKvHeads = metadata.TryGetValue(DecoderNames.Metadata.LayerKvHeads, out var perLayer)
            ? ReadList(modelPath, DecoderNames.Metadata.LayerKvHeads, perLayer, Layers)
            : Enumerable.Repeat(KvHeads, Layers).ToArray();
        HeadDim = Read(DecoderNames.Metadata.HeadDim);
        VocabSize = Read(DecoderNames.Metadata.VocabSize);
        MaxSequenceLength = Read(DecoderNames.Metadata.MaxSequenceLength);
        BaseSha256 = metadata.TryGetValue(DecoderNames.Metadata.BaseSha256, out var baseSha256) ? baseSha256 : null;
        // Graphs exported before the fused form have no such key: they are standard.
        Ops = !metadata.TryGetValue(DecoderNames.Metadata.OnnxOps, out var ops) ? OnnxOps.Standard
            : OnnxOpsNames.Parse(ops) ?? throw new InvalidDataException($"{modelPath}: metadata '{DecoderNames.Metadata.OnnxOps}' is '{ops}', not standard or fused.");
        // ORT lists inputs that have a default initializer (the LoRA inputs) apart, as overridable initializers.
        GraphInputs = session.InputMetadata.Keys.Concat(session.OverridableInitializerMetadata.Keys).ToHashSet(StringComparer.Ordinal);

        inputNames = [DecoderNames.InputIds, .. (Ops == OnnxOps.Fused ? [DecoderNames.AttentionMask] : Array.Empty<string>()), .. Enumerable.Range(0, Layers).SelectMany(l => new[] { DecoderNames.PastKey(l), DecoderNames.PastValue(l) })];
        outputNames = [DecoderNames.Logits, .. Enumerable.Range(0, Layers).SelectMany(l => new[] { DecoderNames.PresentKey(l), DecoderNames.PresentValue(l) })];
    }

    public int Layers { get; }
    /// <summary>Key/value heads of a uniform model's caches (the largest layer's with per-layer shapes: use <see cref="LayerKvHeads"/>).</summary>
    public int KvHeads { get; }
    /// <summary>Key/value heads of each layer's cache, in layer order (all <see cref="KvHeads"/> in a uniform model).</summary>
    public IReadOnlyList<int> LayerKvHeads { get; }
    public int HeadDim { get; }
    public int VocabSize { get; }
    public int MaxSequenceLength { get; }
    /// <summary>SHA-256 of the weights the graph was exported from (null for graphs exported before adapters existed).</summary>
    public string? BaseSha256 { get; }
    /// <summary>
    /// Which operators the graph uses. A fused graph's cache is one preallocated buffer per layer of
    /// <see cref="MaxSequenceLength"/> positions, bound to both past and present, so a step copies nothing.
    /// </summary>
    public OnnxOps Ops { get; }
    /// <summary>Every input of the graph, the optional LoRA inputs included.</summary>
    public IReadOnlyCollection<string> GraphInputs { get; }

    /// <summary>
    /// Whether the graph has the optional key-padding mask, so sequences of different lengths can decode in one run
    /// (<see cref="BatchedDecodeStep"/>). Graphs exported before it existed decode each sequence in its own runs.
    /// </summary>
    public bool SupportsBatching => GraphInputs.Contains(DecoderNames.AttentionMask);

    /// <summary>Runs the graph on named inputs (a batched step's ids, mask and padded cache); the caller disposes the outputs.</summary>
    internal IDisposableReadOnlyCollection<OrtValue> RunBatch(IReadOnlyCollection<string> names, IReadOnlyCollection<OrtValue> values, OrtLoraAdapter? adapter)
    {
        using var runOptions = new RunOptions();
        if (adapter is not null) runOptions.AddActiveLoraAdapter(adapter);
        return session.Run(runOptions, names, values, outputNames);
    }

    /// <summary>Runs the graph into caller-owned outputs (logits, then each layer's present key and value): a fused graph's present is its past buffer.</summary>
    internal void RunInto(IReadOnlyCollection<string> names, IReadOnlyCollection<OrtValue> values, IReadOnlyCollection<OrtValue> outputs, OrtLoraAdapter? adapter)
    {
        using var runOptions = new RunOptions();
        if (adapter is not null) runOptions.AddActiveLoraAdapter(adapter);
        session.Run(runOptions, names, values, outputNames, outputs);
    }

    /// <summary>
    /// An empty cache (zero past positions) for one sequence. For a fused graph it is allocated once at the model's full
    /// context ([1, kvHeads, MaxSequenceLength, headDim] per layer, in native memory that the OS maps as it is written).
    /// </summary>
    public KvCache NewCache()
    {
        if (Ops == OnnxOps.Fused)
        {
            OrtValue Buffer(int layer) => OrtValue.CreateAllocatedTensorValue(OrtAllocator.DefaultInstance, TensorElementType.Float, [1, LayerKvHeads[layer], MaxSequenceLength, HeadDim]);
            return new KvCache(Enumerable.Range(0, Layers).Select(Buffer).ToArray(), Enumerable.Range(0, Layers).Select(Buffer).ToArray(), MaxSequenceLength);
        }
        OrtValue Empty(int layer) => OrtValue.CreateTensorValueFromMemory(Array.Empty<float>(), [1, LayerKvHeads[layer], 0, HeadDim]);
        return new KvCache(Enumerable.Range(0, Layers).Select(Empty).ToArray(), Enumerable.Range(0, Layers).Select(Empty).ToArray(), capacity: null);
    }

    /// <summary>
    /// Runs <paramref name="ids"/> (new tokens of one sequence) after the cache; extends the cache and returns the last
    /// position's logits. With <paramref name="adapter"/>, its tensors feed the graph's LoRA inputs for this call only.
    /// </summary>
    public float[] Forward(long[] ids, KvCache cache, OrtLoraAdapter? adapter = null) => Forward(ids, cache, adapter, 1);

    /// <summary>
    /// As <see cref="Forward(long[], KvCache, OrtLoraAdapter?)"/>, returning the logits of the last <paramref name="positions"/>
    /// positions, row after row ([positions x vocabulary]): a prompt's own log-likelihood needs every position's.
    /// </summary>
    public float[] Forward(long[] ids, KvCache cache, OrtLoraAdapter? adapter, int positions)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(positions, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(positions, ids.Length);
        if (cache.Length + ids.Length > MaxSequenceLength)
            throw new ArgumentException($"{cache.Length + ids.Length} positions exceed the model's context of {MaxSequenceLength}.");
        if (Ops == OnnxOps.Fused) return ForwardInPlace(ids, cache, adapter, positions);
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [1, ids.Length]);
        var inputs = new OrtValue[1 + 2 * Layers];
        inputs[0] = idsValue;
        for (int l = 0; l < Layers; l++)
        {
            inputs[1 + 2 * l] = cache.Keys[l];
            inputs[2 + 2 * l] = cache.Values[l];
        }
        using var runOptions = new RunOptions();
        if (adapter is not null) runOptions.AddActiveLoraAdapter(adapter);
        var outputs = session.Run(runOptions, inputNames, inputs, outputNames);
        // The outputs are not disposed as a collection: the present values live on as the cache.
        var logitsValue = outputs[0];
        float[] last;
        try
        {
            last = logitsValue.GetTensorDataAsSpan<float>()[((ids.Length - positions) * VocabSize)..].ToArray();
        }
        finally
        {
            logitsValue.Dispose();
        }
        var keys = new OrtValue[Layers];
        var values = new OrtValue[Layers];
        for (int l = 0; l < Layers; l++)
        {
            keys[l] = outputs[1 + 2 * l];
            values[l] = outputs[2 + 2 * l];
        }
        cache.Replace(keys, values, cache.Length + ids.Length);
        return last;
    }

    /// <summary>
    /// A fused graph's step: GroupQueryAttention writes the new positions into the cache buffers, which are bound as both
    /// past and present (it sees one buffer and copies nothing), and attends over the mask's length, all ones here.
    /// </summary>
    private float[] ForwardInPlace(long[] ids, KvCache cache, OrtLoraAdapter? adapter, int positions)
    {
        var logits = new float[ids.Length * VocabSize];
        var mask = new long[cache.Length + ids.Length];
        Array.Fill(mask, 1L);
        using var idsValue = OrtValue.CreateTensorValueFromMemory(ids, [1, ids.Length]);
        using var maskValue = OrtValue.CreateTensorValueFromMemory(mask, [1, mask.Length]);
        using var logitsValue = OrtValue.CreateTensorValueFromMemory(logits, [1, ids.Length, VocabSize]);
        var inputs = new OrtValue[2 + 2 * Layers];
        var outputs = new OrtValue[1 + 2 * Layers];
        (inputs[0], inputs[1], outputs[0]) = (idsValue, maskValue, logitsValue);
        for (int l = 0; l < Layers; l++)
        {
            inputs[2 + 2 * l] = outputs[1 + 2 * l] = cache.Keys[l];
            inputs[3 + 2 * l] = outputs[2 + 2 * l] = cache.Values[l];
        }
        RunInto(inputNames, inputs, outputs, adapter);
        cache.Length += ids.Length;
        return logits[((ids.Length - positions) * VocabSize)..];
    }

    /// <summary>A comma-separated list of <paramref name="count"/> positive whole numbers (metadata <paramref name="key"/>).</summary>
    private static int[] ReadList(string modelPath, string key, string text, int count)
    {
        var values = text.Split(',').Select(v => int.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0 ? n : 0).ToArray();
        if (values.Length != count || values.Contains(0))
            throw new InvalidDataException($"{modelPath}: metadata '{key}' is '{text}', not {count} positive whole numbers separated by commas.");
        return values;
    }

    private static SessionOptions CreateSessionOptions(RuntimeOptions options)
    {
        var sessionOptions = new SessionOptions
        {
            GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL,
            // ORT warns once per LoRA input that an initializer which is also a graph input is not constant-folded:
            // that is the design (specs/onnx-export.md), so only errors are logged.
            LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR,
        };
        if (options.IntraOpThreads > 0) sessionOptions.IntraOpNumThreads = options.IntraOpThreads;
        if (options.ProfilePrefix is { } prefix)
        {
            // The prefix before enabling: enabling reads it.
            sessionOptions.ProfileOutputPathPrefix = prefix;
            sessionOptions.EnableProfiling = true;
        }
        var spinning = options.AllowSpinning ? "1" : "0";
        sessionOptions.AddSessionConfigEntry("session.intra_op.allow_spinning", spinning);
        sessionOptions.AddSessionConfigEntry("session.inter_op.allow_spinning", spinning);
        // Without constant folding the expansion subgraphs of compressed weights stay in the graph and run every time.
        if (options.WeightExpansion == WeightExpansion.OnTheFly)
            sessionOptions.AddSessionConfigEntry("optimization.disable_specified_optimizers", "ConstantFolding");
        switch (options.ExecutionProvider)
        {
            case ExecutionProvider.Cpu:
                break; // the CPU provider is always registered last; nothing to append
            default:
                sessionOptions.Dispose();
                throw new NotSupportedException($"Execution provider {options.ExecutionProvider} is not available in this build.");
        }
        return sessionOptions;
    }

    /// <summary>Ends the profiling <see cref="RuntimeOptions.ProfilePrefix"/> started and returns the trace file's path (empty when it was off).</summary>
    public string EndProfiling() => session.EndProfiling();

    public void Dispose() => session.Dispose();
}
