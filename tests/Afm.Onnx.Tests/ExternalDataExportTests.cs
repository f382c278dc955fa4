using Afm.Onnx.Export;
using Afm.Onnx.Proto;

namespace Afm.Onnx.Tests;

/// <summary>
/// A model too large for one protobuf message (2 GB) is written as model.onnx + model.onnx.data with ONNX's external-data
/// fields, and ONNX Runtime, loading the file, computes what it computes from the inline model. The size limit is passed
/// in, so a micro model takes the large model's path.
/// </summary>
public sealed class ExternalDataExportTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-onnx-tests", Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public void Above_the_inline_limit_large_initializers_move_to_the_data_file_and_ort_gives_the_same_logits()
    {
        var architecture = MicroDecoder.Architecture();
        using var decoder = MicroDecoder.Create(architecture);
        var export = MicroDecoder.ToExport(decoder);
        var modelPath = Path.Combine(directory, "model.onnx");
        var written = OnnxModelFile.Write(DecoderExporter.Build(export, "test"), modelPath, inlineLimitBytes: 0);

        Assert.True(written.DataBytes > 0);
        Assert.Equal(written.DataBytes, new FileInfo(modelPath + ".data").Length);
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
        var external = model.Graph.Initializer.Where(t => t.DataLocation == TensorProto.Types.DataLocation.External).ToList();
        Assert.NotEmpty(external);
        foreach (var tensor in external)
        {
            Assert.Equal(0, tensor.RawData.Length);
            var fields = tensor.ExternalData.ToDictionary(e => e.Key, e => e.Value);
            Assert.Equal("model.onnx.data", fields["location"]);
            Assert.Equal(0, long.Parse(fields["offset"]) % OnnxModelFile.Alignment);
        }
        // Small initializers (norms, constants) stay inline.
        Assert.Contains(model.Graph.Initializer, t => t.DataLocation != TensorProto.Types.DataLocation.External && t.RawData.Length > 0);

        var ids = Enumerable.Range(0, 12).Select(i => (long)((i * 5 + 1) % architecture.VocabSize)).ToArray();
        using var inline = new OrtDecoder(DecoderExporter.Export(export, "test"), architecture);
        using var fromFile = new OrtDecoder(modelPath, architecture);
        Assert.Equal(inline.Run(ids, 1, inline.Empty(1)).Logits, fromFile.Run(ids, 1, fromFile.Empty(1)).Logits);
    }

    [Fact]
    public void Below_the_limit_the_model_is_one_file_with_the_bytes_of_the_inline_export_and_a_stale_data_file_goes()
    {
        using var decoder = MicroDecoder.Create(MicroDecoder.Architecture());
        var export = MicroDecoder.ToExport(decoder);
        var modelPath = Path.Combine(directory, "model.onnx");
        OnnxModelFile.Write(DecoderExporter.Build(export, "test"), modelPath, inlineLimitBytes: 0);
        var written = OnnxModelFile.Write(DecoderExporter.Build(export, "test"), modelPath);
        Assert.Equal(0, written.DataBytes);
        Assert.False(File.Exists(modelPath + ".data"));
        Assert.Equal(DecoderExporter.Export(export, "test"), File.ReadAllBytes(modelPath));
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
