using Afm.Onnx.Graph;
using Afm.Onnx.Proto;
using Google.Protobuf;

namespace Afm.Profiling.Measurement;

/// <summary>A one-operation ONNX model and the inputs to run it with (random values: timing does not depend on them).</summary>
public sealed record MicroGraph(string Name, byte[] Model, IReadOnlyList<MicroInput> Inputs, IReadOnlyList<string> Outputs, int Nodes);

public sealed record MicroInput(string Name, long[] Shape, float[]? Floats, long[]? Int64s);

/// <summary>Small helpers over <see cref="OnnxGraphBuilder"/> shared by the micro graphs.</summary>
internal sealed class MicroGraphWriter
{
    public const int Opset = 17;
    private readonly Random random;
    private readonly List<MicroInput> inputs = [];

    public MicroGraphWriter(int seed)
    {
        random = new Random(seed);
    }

    public OnnxGraphBuilder Graph { get; } = new();

    public string FloatInput(string name, params long[] shape)
    {
        inputs.Add(new MicroInput(name, shape, RandomFloats(shape.Aggregate(1L, (a, b) => a * b)), null));
        return Graph.Input(name, TensorProto.Types.DataType.Float, shape.Cast<object>().ToArray());
    }

    public string IdsInput(string name, long count, long vocab)
    {
        var ids = Enumerable.Range(0, (int)count).Select(_ => (long)random.Next((int)vocab)).ToArray();
        inputs.Add(new MicroInput(name, [count], null, ids));
        return Graph.Input(name, TensorProto.Types.DataType.Int64, count);
    }

    public string Weight(string name, params long[] shape) => Graph.Initializer(name, RandomFloats(shape.Aggregate(1L, (a, b) => a * b)), shape);

    /// <summary>x / sqrt(mean(x^2) + eps) * weight over the last axis: the exporter's seven nodes.</summary>
    public string RmsNorm(string x, string weight)
    {
        var squared = Graph.Node("Mul", [x, x]);
        var mean = Graph.Node("ReduceMean", [squared], null, Attr.Ints("axes", -1), Attr.Int("keepdims", 1));
        var rms = Graph.Node("Sqrt", [Graph.Node("Add", [mean, Graph.FloatScalar(1e-5f)])]);
        return Graph.Node("Mul", [Graph.Node("Mul", [x, Graph.Node("Reciprocal", [rms])]), weight]);
    }

    public MicroGraph Finish(string name, string output, params long[] outputShape) => Finish(name, [(output, outputShape)]);

    public MicroGraph Finish(string name, IReadOnlyList<(string Value, long[] Shape)> outputs)
    {
        int opNodes = Graph.NodeCount; // the Identity nodes that name the outputs are not part of the op
        var names = new List<string>();
        foreach (var (value, shape) in outputs)
        {
            names.Add("out" + names.Count);
            Graph.Output(value, names[^1], TensorProto.Types.DataType.Float, shape.Cast<object>().ToArray());
        }
        var model = new ModelProto { IrVersion = 8, ProducerName = "AfmToolchain.Profiling", Graph = Graph.Build(name) };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        return new MicroGraph(name, model.ToByteArray(), inputs, names, opNodes);
    }

    private float[] RandomFloats(long count)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 0.04 - 0.02);
        return values;
    }
}
