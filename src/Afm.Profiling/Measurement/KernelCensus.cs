using System.Collections.Concurrent;
using Afm.Core.Spec;
using Afm.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Profiling.Measurement;

/// <summary>
/// How many kernels each op of the model is once ONNX Runtime has optimized the exported graph (fusions such as six
/// RMSNorm nodes into one SimplifiedLayerNormalization, SiLU into QuickGelu, the score scaling into FusedMatMul; shape
/// computations shared across layers): counted on the optimized model ORT writes, each node attributed to its op by
/// <see cref="KernelAttribution"/>. The cost model charges one launch per kernel, so these counts are not guessed.
/// </summary>
public sealed class KernelCensus
{
    private static readonly ConcurrentDictionary<(ArchitectureSpec, Model.GraphForm), KernelCensus> Cache = new();
    private readonly IReadOnlyDictionary<string, int> counts;
    private readonly int censusLayers;

    public KernelCensus(IReadOnlyDictionary<string, int> counts, int censusLayers)
    {
        this.counts = counts;
        this.censusLayers = censusLayers;
    }

    public IReadOnlyDictionary<string, int> Counts => counts;

    /// <summary>
    /// The census of an architecture, taken on its export cut to at most three layers and a feed-forward width of 16 (it
    /// only sizes weights). Three because ORT's optimizer merges the layers' equal shape computations into one node that
    /// it leaves in the first layer (queries' heads) or the last (keys' and values'): layers between are alike. Every
    /// size that appears in a shape constant is kept, since equal constants change what it merges. Cached per structure.
    /// A model with per-layer shapes (layer-wise scaling) has no alike layers between: its census keeps every layer.
    /// </summary>
    public static KernelCensus For(ArchitectureSpec arch) => For(arch, Model.GraphForm.Float);

    /// <summary>The census of the graph of <paramref name="form"/> (fused operators, resident weights at its bits).</summary>
    public static KernelCensus For(ArchitectureSpec arch, Model.GraphForm form)
    {
        var structure = arch.LayerShapes is { } shapes
            ? arch with { FfnDim = Math.Min(arch.FfnDim, 16), LayerShapes = shapes.Select(s => s with { FfnDim = Math.Min(s.FfnDim, 16) }).ToList() }
            : arch with { FfnDim = Math.Min(arch.FfnDim, 16), Layers = Math.Min(arch.Layers, 3) };
        var census = Cache.GetOrAdd((structure, form), s => Take(ExportedDecoder.Export(s.Item1, s.Item2), s.Item1.Layers));
        return census.censusLayers == arch.Layers ? census : new KernelCensus(census.counts, census.censusLayers) { modelLayers = arch.Layers };
    }

    private int modelLayers;

    /// <summary>Kernels ONNX Runtime runs for a model once optimized as Afm.Runtime does (Identity nodes aside).</summary>
    public static int KernelsOf(byte[] model) => Optimized(model, graph => graph.Node.Count(n => n.OpType != "Identity"));

    private static T Optimized<T>(byte[] model, Func<GraphProto, T> read)
    {
        var optimized = Path.Combine(Path.GetTempPath(), $"afm-census-{Environment.ProcessId}-{Guid.NewGuid():N}.onnx");
        try
        {
            using (var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL, OptimizedModelFilePath = optimized, LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR })
            using (new InferenceSession(model, options)) { }
            return read(ModelProto.Parser.ParseFrom(File.ReadAllBytes(optimized)).Graph);
        }
        finally
        {
            if (File.Exists(optimized)) File.Delete(optimized);
        }
    }

    /// <summary>Optimizes the model as Afm.Runtime does (every level) and counts the kernels of each op.</summary>
    public static KernelCensus Take(byte[] model, int layers) => Optimized(model, graph =>
    {
        var executed = graph.Node.Where(n => n.OpType != "Identity").Select(n => n.Name).ToList();
        var counts = KernelAttribution.Attribute(executed).GroupBy(op => op).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        return new KernelCensus(counts, layers);
    });

    /// <summary>Kernels of the op named <paramref name="op"/> (<see cref="Model.DecoderOpCosts"/> names); 0 for an op ORT removed entirely.</summary>
    public int Of(string op)
    {
        if (op.StartsWith("layers.", StringComparison.Ordinal))
        {
            int dot = op.IndexOf('.', "layers.".Length);
            int layer = int.Parse(op["layers.".Length..dot], System.Globalization.CultureInfo.InvariantCulture);
            // A model deeper than the census: its first and last layers are the census's, the others its middle one.
            if (modelLayers > censusLayers && layer > 0)
                op = $"layers.{(layer == modelLayers - 1 ? censusLayers - 1 : 1)}{op[dot..]}";
        }
        return counts.TryGetValue(op, out var n) ? n : 0;
    }
}
