using Afm.Core.IO;
using Afm.Onnx.Proto;
using Google.Protobuf;

namespace Afm.Onnx.Export;

/// <summary>
/// Writes an exported model as <c>model.onnx</c>, and, when its initializers are too large for one protobuf message (the
/// format's 2 GB limit; a 0.6B model is 2.4 GB in fp32), <c>model.onnx.data</c> beside it with ONNX's external-data
/// fields: each large initializer's raw bytes at a page-aligned offset of the data file, its TensorProto keeping name,
/// type and dims plus <c>location</c>/<c>offset</c>/<c>length</c> and <c>data_location = EXTERNAL</c>. ONNX Runtime
/// resolves the location relative to the model file's folder (specs/onnx-export.md, "External data").
/// </summary>
public static class OnnxModelFile
{
    public const string DataSuffix = ".data";
    /// <summary>Above this many bytes of initializers the model gets a data file: well under protobuf's 2 GB, so the rest fits.</summary>
    public const long DefaultInlineLimitBytes = 1L << 30;
    /// <summary>Initializers smaller than this stay inline (constants, norms), as ONNX's own converter does with its 1 KB threshold.</summary>
    public const int ExternalMinBytes = 1024;
    /// <summary>Offsets aligned to a page, so a runtime may map each tensor in place.</summary>
    public const int Alignment = 4096;

    /// <summary>What was written: the model file's bytes and the data file's (0 when every initializer is inline).</summary>
    public sealed record Written(long ModelBytes, long DataBytes);

    public static Written Write(ModelProto model, string modelPath) => Write(model, modelPath, DefaultInlineLimitBytes);

    /// <param name="inlineLimitBytes">Initializer bytes a model may hold inline (tests pass 0 to reach the data file with a small model).</param>
    public static Written Write(ModelProto model, string modelPath, long inlineLimitBytes)
    {
        string dataPath = modelPath + DataSuffix;
        var large = model.Graph.Initializer.Where(t => t.RawData.Length >= ExternalMinBytes).ToList();
        long dataBytes = 0;
        if (model.Graph.Initializer.Sum(t => (long)t.RawData.Length) > inlineLimitBytes && large.Count > 0)
        {
            string location = Path.GetFileName(dataPath);
            AtomicOutput.WriteFile(dataPath, stream =>
            {
                foreach (var tensor in large)
                {
                    long offset = (stream.Position + Alignment - 1) / Alignment * Alignment;
                    while (stream.Position < offset) stream.WriteByte(0);
                    tensor.RawData.WriteTo(stream);
                    tensor.ExternalData.Add(Entry("location", location));
                    tensor.ExternalData.Add(Entry("offset", offset.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    tensor.ExternalData.Add(Entry("length", tensor.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture)));
                    tensor.DataLocation = TensorProto.Types.DataLocation.External;
                    tensor.ClearRawData();
                }
                dataBytes = stream.Position;
            });
        }
        else if (File.Exists(dataPath))
            File.Delete(dataPath); // a smaller model than last time: a stale data file would be packaged beside it
        long modelBytes = 0;
        AtomicOutput.WriteFile(modelPath, stream =>
        {
            model.WriteTo(stream);
            modelBytes = stream.Position;
        });
        return new Written(modelBytes, dataBytes);
    }

    private static StringStringEntryProto Entry(string key, string value) => new() { Key = key, Value = value };
}
