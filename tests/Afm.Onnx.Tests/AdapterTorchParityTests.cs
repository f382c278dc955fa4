using static Afm.Onnx.Tests.Parity;
using Afm.Core.Artifacts;
using Afm.Onnx.Adapters;
using Afm.Onnx.Export;
using Afm.Training.Adapters;
using Afm.Training.Checkpoints;
using Microsoft.ML.OnnxRuntime;
using TorchSharp;

namespace Afm.Onnx.Tests;

/// <summary>
/// The path of the pipeline end to end: weights file -> model.onnx (base hash recorded); Afm.Training's LoRA adapter ->
/// adapter.safetensors -> .onnx_adapter; ONNX Runtime with the adapter active gives the TorchSharp decoder's logits
/// with the same adapter attached (fp32, max abs diff 1e-3), for prefill and decode steps through the cache.
/// </summary>
public sealed class AdapterTorchParityTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-onnx-tests", Guid.NewGuid().ToString("N")[..12]);

    [Theory]
    [InlineData(8, false)]
    [InlineData(16, false)]
    [InlineData(8, true)]
    public void With_the_adapter_active_ORT_matches_the_torch_model_with_the_same_adapter(int rank, bool generalized)
    {
        Directory.CreateDirectory(directory);
        var architecture = generalized ? MicroDecoder.Generalized() : MicroDecoder.Architecture();
        var weightsPath = Path.Combine(directory, "model.safetensors");
        var adapterPath = Path.Combine(directory, "adapter.safetensors");
        using var model = MicroDecoder.Create(architecture);
        SafeTensors.Write(weightsPath, model.named_parameters().Select(p => (p.name, (torch.Tensor)p.parameter)), new Dictionary<string, string>());
        var baseSha = Hashing.Sha256OfFile(weightsPath);

        using var lora = LoraAdapter.Create(architecture, rank, alpha: 2 * rank, seed: 5);
        using (torch.no_grad())
        {
            // A fresh adapter has B = 0; give B values so the test compares a real update (as if trained).
            using var generator = new torch.Generator(17);
            foreach (var pair in lora.Pairs) pair.B.copy_(torch.randn(pair.B.shape, generator: generator).mul_(0.05));
        }
        AdapterFile.Write(adapterPath, lora, new AdapterInfo("recovery", "accuracy-recovery", rank, "0.2.1", baseSha));

        var export = SafeTensorsWeights.Load(architecture, weightsPath) with { BaseSha256 = baseSha };
        var onnx = DecoderExporter.Export(export, "test");
        var (file, description) = AdapterCompiler.Compile(TrainedAdapter.Load(adapterPath), Afm.Onnx.Adapters.ExportedBase.FromModel(onnx));
        Assert.Equal(2 * 7 * architecture.Layers, description.Parameters);
        Assert.Equal(2_001, OnnxAdapterFormat.Read(file).AdapterVersion);

        using var ort = new OrtDecoder(onnx, architecture);
        using var adapter = OrtLoraAdapter.Create(file, null);
        lora.Attach(model);
        int batch = 2, prompt = 9;
        var random = new Random(rank);
        var sequence = Enumerable.Range(0, batch * (prompt + 3)).Select(_ => (long)random.Next(architecture.VocabSize)).ToArray();
        var (logits, cache) = ort.Run(Columns(sequence, batch, 0, prompt), batch, ort.Empty(batch), adapter);
        AssertClose(TorchLogits(model, Columns(sequence, batch, 0, prompt), batch), logits);
        for (int position = prompt; position < prompt + 3; position++)
        {
            var (step, next) = ort.Run(Columns(sequence, batch, position, 1), batch, cache, adapter);
            cache = next;
            var full = TorchLogits(model, Columns(sequence, batch, 0, position + 1), batch);
            AssertClose(LastPosition(full, batch, position + 1, architecture.VocabSize), step);
        }

        lora.Detach();
        var (baseLogits, _) = ort.Run(Columns(sequence, batch, 0, prompt), batch, ort.Empty(batch));
        AssertClose(TorchLogits(model, Columns(sequence, batch, 0, prompt), batch), baseLogits);
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
