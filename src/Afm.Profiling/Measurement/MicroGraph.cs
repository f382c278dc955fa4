using Afm.Onnx.Graph;
using Afm.Onnx.Proto;
using Google.Protobuf;

namespace Afm.Profiling.Measurement;

/// <summary>A one-operation ONNX model and the inputs to run it with (random values: timing does not depend on them).</summary>
public sealed record MicroGraph(string Name, byte[] Model, IReadOnlyList<MicroInput> Inputs, IReadOnlyList<string> Outputs, int Nodes)
{
    /// <summary>Every output written into a buffer (float, of its shape), or into the input it names (a cache updated in place); null: ORT allocates them.</summary>
    public IReadOnlyList<MicroOutput>? BoundOutputs { get; init; }

    /// <summary>
    /// Kernels at the start of every run that are run but not timed: the first kernel a run splits across threads wakes them
    /// from their sleep between runs, which the model pays once per run, not in every such kernel (<see cref="HostCalibration.RowsNormChain"/>).
    /// </summary>
    public int UntimedKernels { get; init; }

    /// <summary>The only kernel type that is timed (null: every kernel): the others set up the context the timed ones run in.</summary>
    public string? TimedOpType { get; init; }

    /// <summary>The kernels of a run that count (in execution order, without the <see cref="UntimedKernels"/>, of <see cref="TimedOpType"/>).</summary>
    public IReadOnlyList<NodeTime> Timed(IReadOnlyList<NodeTime> nodes) => UntimedKernels == 0 && TimedOpType is null ? nodes
        : nodes.Skip(UntimedKernels).Where(n => TimedOpType is null || n.OpType == TimedOpType).ToList();
}

public sealed record MicroOutput(string Name, long[] Shape, string? Input);

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

    /// <summary>
    /// A float input declared with the dimensions given (a <see cref="string"/> is symbolic, as the export's batch and
    /// sequence axes): ORT folds a Shape of a fully known shape into a constant, which the export never lets it do.
    /// </summary>
    public string FloatInput(string name, long[] shape, object[] declared)
    {
        inputs.Add(new MicroInput(name, shape, RandomFloats(shape.Aggregate(1L, (a, b) => a * b)), null));
        return Graph.Input(name, TensorProto.Types.DataType.Float, declared);
    }

    /// <summary>Token ids below <paramref name="vocab"/>, of the given shape (the export's input_ids are [batch, time]).</summary>
    public string IdsInput(string name, long vocab, params long[] shape)
    {
        var ids = Enumerable.Range(0, (int)shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (long)random.Next((int)vocab)).ToArray();
        return Int64Input(name, ids, shape);
    }

    /// <summary>An int64 input with these values (shapes computed elsewhere in the model).</summary>
    public string Int64Input(string name, long[] values, params long[] shape) => Int64Input(name, values, shape, shape.Cast<object>().ToArray());

    public string Int64Input(string name, long[] values, long[] shape, object[] declared)
    {
        inputs.Add(new MicroInput(name, shape, null, values));
        return Graph.Input(name, TensorProto.Types.DataType.Int64, declared);
    }

    public string Weight(string name, params long[] shape) => Graph.Initializer(name, RandomFloats(shape.Aggregate(1L, (a, b) => a * b)), shape);

    public MicroGraph Finish(string name, string output, params long[] outputShape) => Finish(name, [(output, outputShape)]);

    public MicroGraph Finish(string name, IReadOnlyList<(string Value, long[] Shape)> outputs) =>
        Finish(name, outputs.Select(o => (o.Value, o.Shape, TensorProto.Types.DataType.Float)).ToList());

    public MicroGraph Finish(string name, IReadOnlyList<(string Value, long[] Shape, TensorProto.Types.DataType Type)> outputs)
    {
        int opNodes = Graph.NodeCount; // the Identity nodes that name the outputs are not part of the op
        var names = new List<string>();
        foreach (var (value, shape, type) in outputs)
        {
            names.Add("out" + names.Count);
            Graph.Output(value, names[^1], type, shape.Cast<object>().ToArray());
        }
        var model = new ModelProto { IrVersion = 8, ProducerName = "AfmToolchain.Profiling", Graph = Graph.Build(name) };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        // ONNX Runtime's contrib ops (MatMulNBits of resident weights, the fused graph's kernels); unused imports cost nothing.
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = Afm.Onnx.Export.DecoderNames.Contrib.Domain, Version = Afm.Onnx.Export.DecoderNames.Contrib.Opset });
        return new MicroGraph(name, model.ToByteArray(), inputs, names, opNodes);
    }

    private float[] RandomFloats(long count)
    {
        var values = new float[count];
        for (long i = 0; i < count; i++) values[i] = (float)(random.NextDouble() * 0.04 - 0.02);
        return values;
    }
}
