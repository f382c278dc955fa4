using System.Globalization;
using Afm.Onnx.Export;
using Afm.Training.Checkpoints;
using Afm.Training.Stages;
using TorchSharp;

namespace Afm.Onnx.Tests;

/// <summary>The path `afm export` takes: a safetensors file as training writes it -> graph, matching the model training reloads.</summary>
public sealed class SafeTensorsExportTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-onnx-tests", Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public void A_graph_exported_from_the_weights_file_matches_the_model_loaded_from_it_with_its_rope_base()
    {
        Directory.CreateDirectory(directory);
        var architecture = MicroDecoder.Architecture(ropeBase: 10_000);
        var path = Path.Combine(directory, "model.safetensors");
        using (var trained = MicroDecoder.Create(architecture))
        {
            // Context lengthening raises the RoPE base after the architecture was declared; the file records it.
            SafeTensors.Write(path, trained.named_parameters().Select(p => (p.name, (torch.Tensor)p.parameter)),
                new Dictionary<string, string> { ["rope_base"] = 250_000.0.ToString("R", CultureInfo.InvariantCulture) });
        }

        var export = SafeTensorsWeights.Load(architecture, path);
        Assert.Equal(250_000.0, export.RopeBase);
        using var model = Trainer.LoadModel(architecture, path);
        using var ort = new OrtDecoder(DecoderExporter.Export(export, "test"), architecture);
        var ids = Enumerable.Range(0, 40).Select(i => (long)((i * 7 + 3) % architecture.VocabSize)).ToArray();
        var (logits, _) = ort.Run(ids, 1, ort.Empty(1));

        using var noGrad = torch.no_grad();
        using var reference = model.forward(torch.tensor(ids, [1, ids.Length], torch.int64));
        var expected = reference.contiguous().data<float>().ToArray();
        Assert.True(expected.Zip(logits).Max(p => Math.Abs(p.First - p.Second)) <= 1e-3f);
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
