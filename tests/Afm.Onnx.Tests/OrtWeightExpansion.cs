using Afm.Onnx.Proto;
using Microsoft.ML.OnnxRuntime;

namespace Afm.Onnx.Tests;

/// <summary>How ONNX Runtime expands compressed weights: folded once at session load, or computed in every run.</summary>
public enum Expansion { AtLoad, OnTheFly }

internal static class OrtWeightExpansion
{
    /// <summary>Session options for <paramref name="expansion"/>: on the fly = every optimization but constant folding.</summary>
    public static SessionOptions Options(Expansion expansion)
    {
        var options = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_ALL };
        if (expansion == Expansion.OnTheFly) options.AddSessionConfigEntry("optimization.disable_specified_optimizers", "ConstantFolding");
        return options;
    }

    /// <summary>A model of <paramref name="graph"/> with the exporter's IR version and opset.</summary>
    public static byte[] Model(GraphProto graph)
    {
        var model = new ModelProto { IrVersion = Export.DecoderExporter.IrVersion, Graph = graph };
        model.OpsetImport.Add(new OperatorSetIdProto { Domain = "", Version = Export.DecoderExporter.Opset });
        return Google.Protobuf.MessageExtensions.ToByteArray(model);
    }
}
