using System.Globalization;
using System.Runtime.InteropServices;
using Afm.Onnx.Proto;
using Google.Protobuf;

namespace Afm.Onnx.Graph;

/// <summary>
/// Builds one ONNX graph node by node. Value names are chosen by the caller or generated from a counter, so
/// the same calls always give the same graph (and, serialized, the same bytes). Constants are deduplicated.
/// </summary>
public sealed class OnnxGraphBuilder
{
    private readonly List<NodeProto> nodes = [];
    private readonly List<TensorProto> initializers = [];
    private readonly List<ValueInfoProto> inputs = [];
    private readonly List<ValueInfoProto> outputs = [];
    private readonly HashSet<string> names = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> constants = new(StringComparer.Ordinal);
    private readonly List<string> scopes = [];
    private int counter;

    public int NodeCount => nodes.Count;

    /// <summary>
    /// Names the nodes added until the returned handle is disposed <c>scope/OpType_N</c> (scopes nest, outer first).
    /// Only node names change, never values: a profiler's per-node events (ONNX Runtime keeps the name as the prefix of
    /// a node its optimizer fuses) then say which part of the model a kernel belongs to.
    /// </summary>
    public IDisposable Scope(string name)
    {
        scopes.Add(name);
        int depth = scopes.Count;
        return new ScopeExit(() => scopes.RemoveRange(depth - 1, scopes.Count - depth + 1));
    }

    private sealed class ScopeExit(Action exit) : IDisposable
    {
        private Action? exit = exit;
        public void Dispose() { exit?.Invoke(); exit = null; }
    }

    /// <summary>Declares a graph input; a dimension is a <see cref="long"/> (fixed) or a <see cref="string"/> (symbolic).</summary>
    public string Input(string name, TensorProto.Types.DataType type, params object[] dims)
    {
        Claim(name);
        inputs.Add(ValueInfo(name, type, dims));
        return name;
    }

    /// <summary>
    /// An optional graph input: a float input that also has an initializer of the same name, which ONNX Runtime uses
    /// when the caller feeds nothing (an "overridable initializer", IR version 4+). Its LoRA support feeds an active
    /// adapter's tensors through exactly such inputs.
    /// </summary>
    public string OptionalInput(string name, ReadOnlySpan<float> defaultValues, long[] defaultDims, params object[] dims)
    {
        inputs.Add(ValueInfo(name, TensorProto.Types.DataType.Float, dims));
        return Initializer(name, defaultValues, defaultDims);
    }

    /// <summary>An optional int64 graph input with a default initializer (as <see cref="OptionalInput(string, ReadOnlySpan{float}, long[], object[])"/>).</summary>
    public string OptionalInt64Input(string name, ReadOnlySpan<long> defaultValues, long[] defaultDims, params object[] dims)
    {
        inputs.Add(ValueInfo(name, TensorProto.Types.DataType.Int64, dims));
        return Initializer(name, defaultValues, defaultDims);
    }

    /// <summary>Declares that <paramref name="value"/> (an existing value) is the graph output <paramref name="name"/>.</summary>
    public void Output(string value, string name, TensorProto.Types.DataType type, params object[] dims)
    {
        if (value != name) Node("Identity", [value], name);
        outputs.Add(ValueInfo(name, type, dims));
    }

    public string Initializer(string name, ReadOnlySpan<float> values, params long[] dims) =>
        AddInitializer(name, TensorProto.Types.DataType.Float, MemoryMarshal.AsBytes(values), dims);

    public string Initializer(string name, ReadOnlySpan<long> values, params long[] dims) =>
        AddInitializer(name, TensorProto.Types.DataType.Int64, MemoryMarshal.AsBytes(values), dims);

    /// <summary>Raw little-endian element bytes, for element types without a typed overload (int8/uint8 payloads).</summary>
    public string Initializer(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> littleEndianBytes, params long[] dims) =>
        AddInitializer(name, type, littleEndianBytes, dims);

    /// <summary>A 1-D int64 constant (shapes, axes, indices); equal constants share one initializer.</summary>
    public string Int64s(params long[] values) =>
        Constant("i64[" + string.Join(",", values) + "]", name => Initializer(name, values, values.Length));

    /// <summary>A 1-D int32 constant (index arithmetic where int64 would double the memory); equal constants share one initializer.</summary>
    public string Int32s(params int[] values) =>
        Constant("i32[" + string.Join(",", values) + "]", name => AddInitializer(name, TensorProto.Types.DataType.Int32, MemoryMarshal.AsBytes(values.AsSpan()), [values.Length]));

    /// <summary>A 0-D int32 constant.</summary>
    public string Int32Scalar(int value) =>
        Constant("i32(" + value.ToString(CultureInfo.InvariantCulture) + ")", name => AddInitializer(name, TensorProto.Types.DataType.Int32, MemoryMarshal.AsBytes(new[] { value }.AsSpan()), []));

    /// <summary>A 0-D int64 constant.</summary>
    public string Int64Scalar(long value) =>
        Constant("i64(" + value.ToString(CultureInfo.InvariantCulture) + ")", name => Initializer(name, [value]));

    /// <summary>A 0-D float constant.</summary>
    public string FloatScalar(float value) =>
        Constant("f32(" + value.ToString("R", CultureInfo.InvariantCulture) + ")", name => Initializer(name, [value]));

    /// <summary>Adds a node with one output and returns the output's name.</summary>
    public string Node(string opType, IReadOnlyList<string> nodeInputs, string? output = null, params AttributeProto[] attributes) =>
        NodeWithOutputs(opType, nodeInputs, [output ?? Fresh(opType)], attributes)[0];

    public IReadOnlyList<string> NodeWithOutputs(string opType, IReadOnlyList<string> nodeInputs, IReadOnlyList<string> nodeOutputs, params AttributeProto[] attributes) =>
        DomainNode("", opType, nodeInputs, nodeOutputs, attributes);

    /// <summary>
    /// A node of operator set <paramref name="domain"/> ("" is ai.onnx; the model must import the domain). An empty output
    /// name leaves that optional output unused, as ONNX allows.
    /// </summary>
    public IReadOnlyList<string> DomainNode(string domain, string opType, IReadOnlyList<string> nodeInputs, IReadOnlyList<string> nodeOutputs, params AttributeProto[] attributes)
    {
        var prefix = scopes.Count == 0 ? "" : string.Join("/", scopes) + "/";
        var node = new NodeProto { OpType = opType, Name = $"{prefix}{opType}_{nodes.Count}" };
        if (domain.Length > 0) node.Domain = domain;
        node.Input.AddRange(nodeInputs);
        foreach (var output in nodeOutputs)
        {
            if (output.Length > 0) Claim(output);
            node.Output.Add(output);
        }
        node.Attribute.AddRange(attributes);
        nodes.Add(node);
        return nodeOutputs;
    }

    /// <summary>A node of operator set <paramref name="domain"/> (e.g. ONNX Runtime's com.microsoft) with one output.</summary>
    public string DomainNode(string domain, string opType, IReadOnlyList<string> nodeInputs, string? output = null, params AttributeProto[] attributes) =>
        DomainNode(domain, opType, nodeInputs, [output ?? Fresh(opType)], attributes)[0];

    /// <summary>A fresh value name with a readable prefix.</summary>
    public string Fresh(string prefix) => $"{prefix}_{counter++}";

    public GraphProto Build(string name)
    {
        var graph = new GraphProto { Name = name };
        graph.Node.AddRange(nodes);
        graph.Initializer.AddRange(initializers);
        graph.Input.AddRange(inputs);
        graph.Output.AddRange(outputs);
        return graph;
    }

    private string AddInitializer(string name, TensorProto.Types.DataType type, ReadOnlySpan<byte> bytes, long[] dims)
    {
        if (!BitConverter.IsLittleEndian) throw new PlatformNotSupportedException("ONNX raw_data is little-endian; this host is not.");
        Claim(name);
        var tensor = new TensorProto { Name = name, DataType = (int)type, RawData = ByteString.CopyFrom(bytes) };
        tensor.Dims.AddRange(dims);
        initializers.Add(tensor);
        return name;
    }

    private string Constant(string key, Func<string, string> create)
    {
        if (constants.TryGetValue(key, out var existing)) return existing;
        var name = create($"const_{constants.Count}");
        constants[key] = name;
        return name;
    }

    private void Claim(string name)
    {
        if (!names.Add(name)) throw new InvalidOperationException($"ONNX value '{name}' is defined twice.");
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, object[] dims)
    {
        var shape = new TensorShapeProto();
        foreach (var dim in dims)
        {
            shape.Dim.Add(dim switch
            {
                long value => new TensorShapeProto.Types.Dimension { DimValue = value },
                int value => new TensorShapeProto.Types.Dimension { DimValue = value },
                string param => new TensorShapeProto.Types.Dimension { DimParam = param },
                _ => throw new ArgumentException($"Dimension {dim} is neither a number nor a name."),
            });
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }
}
