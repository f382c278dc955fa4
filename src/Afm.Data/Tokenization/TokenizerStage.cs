using Afm.Core.Spec;
using Afm.Data.Corpora;

namespace Afm.Data.Tokenization;

/// <summary>
/// The tokenizer stage: train a byte-level BPE vocabulary on the text of every corpus of the project (eval sets
/// excluded, so evaluation text never shapes the vocabulary) and save it to the tokenizer directory.
/// </summary>
public static class TokenizerStage
{
    public static BpeVocabulary Run(ModelSpec spec, string outputDirectory, Action<string>? progress = null)
    {
        if (spec.Tokenizer.Kind != "bpe")
            throw new NotSupportedException($"Tokenizer kind '{spec.Tokenizer.Kind}' is not supported; only \"bpe\" is.");
        var options = new BpeTrainingOptions(spec.Tokenizer.VocabSize, spec.Tokenizer.SplitDigits, spec.Tokenizer.ByteFallback, spec.Tokenizer.SpecialTokens);
        var texts = spec.Corpora.SelectMany(CorpusReader.Read).Select(d => d.Text);
        var vocabulary = BpeTrainer.Train(texts, options, progress);
        vocabulary.Save(outputDirectory);
        progress?.Invoke($"tokenizer: {vocabulary.LearnedVocabSize} learned tokens ({vocabulary.MergeCount} merges), {vocabulary.ReservedCount} reserved, vocab {vocabulary.VocabSize}");
        return vocabulary;
    }
}
