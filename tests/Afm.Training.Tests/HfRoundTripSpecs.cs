using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Interchange.HuggingFace;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

/// <summary>
/// A model trained by the toolchain, exported in the Hugging Face layout and imported again as a BaseModel computes
/// bit-identical logits (issues #15 and #16): the exporter and the importer use one name map, and nothing on the way is
/// rounded.
/// </summary>
public sealed class HfRoundTripSpecs
{
    [Theory]
    [InlineData(true, true, "Qwen3ForCausalLM")]
    [InlineData(false, false, "LlamaForCausalLM")]
    public void A_trained_model_exported_and_imported_again_gives_bit_identical_logits(bool qkNorm, bool tie, string expectedClass)
    {
        var architecture = MicroModels.Architecture(qkNorm: qkNorm, tie: tie);
        var spec = MicroModels.Spec(architecture, MicroModels.Stage(steps: 8, evalEvery: 8, ropeBase: 20000));
        var directory = MicroModels.TempDirectory();
        var trained = Trainer.Train(spec, MicroModels.CountingData(), Path.Combine(directory, "checkpoints")).FinalWeightsPath;
        double ropeBase = double.Parse(SafeTensorsHeader.Read(trained).Metadata[DecoderWeightsMetadata.RopeBaseKey], System.Globalization.CultureInfo.InvariantCulture);

        var exported = Path.Combine(directory, "micro.hf");
        using (var weights = SafeTensorsReader.Open(trained))
            HfExporter.Write(exported, new HfExportRequest
            {
                Architecture = architecture, RopeBase = ropeBase, Weights = new DecoderWeightsFile(weights), ModelName = "micro", Version = "0.0.1", EosTokenIds = [3],
            });

        var imported = Path.Combine(directory, "imported.safetensors");
        ArchitectureSpec importedArchitecture;
        using (var checkpoint = HfCheckpoint.Open(exported))
        {
            Assert.Equal(expectedClass, checkpoint.Config.ClassName);
            importedArchitecture = checkpoint.Config.Architecture;
            checkpoint.WriteDecoderWeights(imported, DecoderWeightsMetadata.For(importedArchitecture, importedArchitecture.RopeBase));
        }
        Assert.Equal(20000, importedArchitecture.RopeBase);

        using var original = Trainer.LoadModel(architecture, trained);
        using var again = Trainer.LoadModel(importedArchitecture, imported);
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var ids = tensor(new long[] { 1, 5, 9, 13, 2, 6, 10, 14, 3, 7 }).reshape(1, 10);
        Assert.True(MicroModels.SameValues(original.forward(ids), again.forward(ids)), "the imported model's logits differ from the trained model's");
    }
}
