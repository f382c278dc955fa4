using System.Globalization;
using Afm.Core.Spec;
using Afm.Onnx.Proto;
using Google.Protobuf;

namespace Afm.Onnx.Export;

/// <summary>A decoder to export: its architecture, the RoPE base it was trained with last, and its weights by training name.</summary>
public sealed record DecoderModel(ArchitectureSpec Architecture, double RopeBase, IReadOnlyDictionary<string, ExportWeight> Weights)
{
    /// <summary>Whether every adaptable projection gets optional LoRA inputs (specs/onnx-export.md, "LoRA adapter inputs").</summary>
    public bool LoraInputs { get; init; } = true;
    /// <summary>SHA-256 of the weights file the graph was exported from; adapters name the base they were trained on by it.</summary>
    public string? BaseSha256 { get; init; }
    /// <summary>Which operators the graph is written with (specs/onnx-export.md, "The fused graph").</summary>
    public OnnxOps Ops { get; init; } = OnnxOps.Standard;
    /// <summary>What the MatMulNBits nodes of resident weights multiply with (their accuracy_level; specs/onnx-export.md).</summary>
    public RuntimeActivations NBitsActivations { get; init; } = RuntimeActivations.Float32;
}

/// <summary>Exports the generalized decoder to ONNX bytes (layout and opset in specs/onnx-export.md).</summary>
public static class DecoderExporter
{
    /// <summary>ai.onnx opset: 17 has every op used (Shape with start/end needs 15) and loads in any recent ONNX Runtime.</summary>
    public const int Opset = 17;
    /// <summary>IR version 8 is the one released with opset 17.</summary>
    public const int IrVersion = 8;

    /// <summary>The graph as bytes: for models whose initializers fit one protobuf message (tests, small models).</summary>
    public static byte[] Export(DecoderModel model, string producerVersion) => Build(model, producerVersion).ToByteArray();

    /// <summary>Writes the graph to <paramref name="modelPath"/>, with a data file beside it for a large model (<see cref="OnnxModelFile"/>).</summary>
    public static OnnxModelFile.Written Export(DecoderModel model, string producerVersion, string modelPath) =>
        OnnxModelFile.Write(Build(model, producerVersion), modelPath);

    public static ModelProto Build(DecoderModel model, string producerVersion)
    {
        var arch = model.Architecture;
        if (arch.Inconsistency() is { } why) throw new ArgumentException($"The architecture cannot be exported: {why}.");
        if (model.Ops == OnnxOps.Fused && !OnnxOpsNames.FusedSupports(arch.HeadDim))
            throw new ArgumentException($"The fused graph needs a head width that is a multiple of 8 (ONNX Runtime's GroupQueryAttention); this model's is {arch.HeadDim}.");

        var graph = new DecoderGraph(model).Build().Build("afm_decoder");
        var proto = new ModelProto
        {
            IrVersion = IrVersion,
            ProducerName = "AfmToolchain",
            ProducerVersion = producerVersion,
            Domain = "ai.afm",
            ModelVersion = 1,
            Graph = graph,
        };
        proto.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Opset });
        // Only a fused graph or one with resident compressed weights uses ONNX Runtime's contrib ops; every other graph
        // stays standard opset 17.
        if (graph.Node.Any(n => n.Domain == DecoderNames.Contrib.Domain))
            proto.OpsetImport.Add(new OperatorSetIdProto { Domain = DecoderNames.Contrib.Domain, Version = DecoderNames.Contrib.Opset });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = DecoderNames.Metadata.OnnxOps, Value = model.Ops.Name() });
        AddMetadata(proto, DecoderNames.Metadata.Layers, arch.Layers);
        AddMetadata(proto, DecoderNames.Metadata.KvHeads, arch.KvHeads);
        // Only a model with per-layer shapes has the list, so a uniform model's graph is what it was before them.
        if (arch.LayerShapes is { } shapes)
            proto.MetadataProps.Add(new StringStringEntryProto
            {
                Key = DecoderNames.Metadata.LayerKvHeads,
                Value = string.Join(",", shapes.Select(s => s.KvHeads.ToString(CultureInfo.InvariantCulture))),
            });
        AddMetadata(proto, DecoderNames.Metadata.HeadDim, arch.HeadDim);
        AddMetadata(proto, DecoderNames.Metadata.VocabSize, arch.VocabSize);
        AddMetadata(proto, DecoderNames.Metadata.MaxSequenceLength, arch.MaxSequenceLength);
        if (model.BaseSha256 is { } baseSha256)
            proto.MetadataProps.Add(new StringStringEntryProto { Key = DecoderNames.Metadata.BaseSha256, Value = baseSha256 });
        proto.MetadataProps.Add(new StringStringEntryProto { Key = DecoderNames.Metadata.RopeBase, Value = model.RopeBase.ToString("R", CultureInfo.InvariantCulture) });
        return proto;
    }

    private static void AddMetadata(ModelProto proto, string key, int value) =>
        proto.MetadataProps.Add(new StringStringEntryProto { Key = key, Value = value.ToString(CultureInfo.InvariantCulture) });
}
