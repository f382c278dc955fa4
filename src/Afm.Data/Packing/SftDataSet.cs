using Afm.Core.Spec;
using Afm.Tokenizers;

namespace Afm.Data.Packing;

/// <summary>
/// Prompt/response JSON lines packed on their own, outside the data stage: a folder with one sft "stage" and its own
/// <see cref="DataIndex"/>, which <see cref="LossMaskedSequences.Open"/> reads like the data stage's. The adapters
/// stage packs each feature adapter's Data this way (same packing, masks and train/validation split as sft stages).
/// </summary>
public static class SftDataSet
{
    /// <param name="stage">An sft stage spec: Name (the folder), Data, PromptField, ResponseField, Tokens, SequenceLength.</param>
    public static DataIndex Pack(TrainingStageSpec stage, ModelSpec spec, string tokenizerDirectory, string outputDirectory, Action<string>? progress = null)
    {
        if (stage.Kind != StageKind.Sft) throw new ArgumentException("Only sft data packs into an SftDataSet.", nameof(stage));
        var tokenizer = AfmTokenizer.Load(tokenizerDirectory);
        Directory.CreateDirectory(outputDirectory);
        File.Delete(Path.Combine(outputDirectory, DataIndex.FileName));
        var data = SftPacker.Pack(stage, tokenizer, spec, outputDirectory, DataStage.DefaultShardBytes, DataStage.MaxValidationSequences, progress);
        var index = new DataIndex
        {
            VocabSize = tokenizer.VocabSize,
            DType = DataStage.BytesPerToken(tokenizer.VocabSize) == 2 ? "uint16" : "uint32",
            EndOfDocumentId = tokenizer.EndOfDocumentId,
            Seed = spec.Seed,
            ValidationFraction = spec.ValidationFraction,
            Corpora = [],
            Stages = [data],
        };
        index.Save(outputDirectory);
        return index;
    }
}
