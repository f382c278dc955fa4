using Afm.Core.Spec;
using Afm.Data.Cleaning;
using Afm.Data.Reporting;
using Afm.Tokenizers;

namespace Afm.Data.Packing;

/// <summary>
/// The data stage: read corpora, tokenize (end-of-document after each document), split train/validation by a
/// seeded hash of document ids, and pack per-stage training and validation sequences into binary shards with an
/// index.json. Exact duplicates, near-duplicates and documents contaminated by Decontaminate eval sets are dropped
/// first (<see cref="CleaningPipeline"/>); report.json / report.md say what was dropped and what was packed.
/// Same inputs, same seed: byte-identical output, whatever the thread count.
/// </summary>
/// <remarks>
/// Output layout: <c>&lt;out&gt;/&lt;stage&gt;/train-00000.bin</c>, <c>valid-00000.bin</c>, ... and
/// <c>&lt;out&gt;/index.json</c> written last. Training sequences: ceil(Tokens / L) of L + 1 tokens, corpora
/// sampled by the stage's mix, a corpus smaller than its share repeated over freshly shuffled epochs. Validation
/// sequences: the validation documents of the same corpora in reading order, same mix, at most
/// <see cref="MaxValidationSequences"/>.
/// </remarks>
public static class DataStage
{
    public const int MaxValidationSequences = 256;
    public const long DefaultShardBytes = 64L << 20;

    public static DataIndex Run(ModelSpec spec, string tokenizerDirectory, string outputDirectory, Action<string>? progress = null) =>
        Run(spec, tokenizerDirectory, outputDirectory, DefaultShardBytes, progress);

    internal static DataIndex Run(ModelSpec spec, string tokenizerDirectory, string outputDirectory, long shardBytes, Action<string>? progress)
    {
        var tokenizer = AfmTokenizer.Load(tokenizerDirectory);
        Directory.CreateDirectory(outputDirectory);
        // Remove the old index first: from here until the new one is written the directory is incomplete.
        File.Delete(Path.Combine(outputDirectory, DataIndex.FileName));

        var cleaning = CleaningPipeline.Run(spec, tokenizerDirectory, tokenizer.EndOfDocumentId, progress);
        var corpora = spec.Corpora.Select((c, i) => Split(c.Name, cleaning, i, spec, progress)).ToList();

        var stages = spec.PackedStages.Select(stage => stage.Kind == StageKind.Sft
            ? SftPacker.Pack(stage, tokenizer, spec, outputDirectory, shardBytes, MaxValidationSequences, progress)
            : stage.IsPreference ? PreferencePacker.Pack(stage, tokenizer, spec, outputDirectory, shardBytes, progress)
            : StagePacker.Pack(stage, corpora, spec.Seed, tokenizer.VocabSize, outputDirectory, shardBytes, MaxValidationSequences, progress)).ToList();

        var index = new DataIndex
        {
            VocabSize = tokenizer.VocabSize,
            DType = BytesPerToken(tokenizer.VocabSize) == 2 ? "uint16" : "uint32",
            EndOfDocumentId = tokenizer.EndOfDocumentId,
            Seed = spec.Seed,
            ValidationFraction = spec.ValidationFraction,
            Corpora = corpora.Select(c => new CorpusSummary(c.Name, c.Train.Count, c.Valid.Count, c.TrainTokens, c.ValidTokens, c.DuplicatesRemoved, c.ContaminatedRemoved)).ToList(),
            Stages = stages,
        };
        DataReportBuilder.Build(spec, cleaning, corpora, stages, tokenizer).Save(outputDirectory);
        index.Save(outputDirectory);
        return index;
    }

    private static TokenizedCorpus Split(string name, CleaningResult cleaning, int corpus, ModelSpec spec, Action<string>? progress)
    {
        var (train, valid) = DocumentSplit.Split(LongDocuments.Cut(cleaning.Kept[corpus]), spec.Seed, spec.ValidationFraction);
        long Removed(string filter) => cleaning.Filters.Single(f => f.Name == filter).ByCorpus[corpus].Documents;
        var result = new TokenizedCorpus(name, train, valid,
            (int)(Removed(CleaningPipeline.ExactDuplicatesStep) + Removed(CleaningPipeline.NearDuplicatesStep)),
            (int)Removed(CleaningPipeline.DecontaminationStep));
        progress?.Invoke($"corpus {name}: {cleaning.Kept[corpus].Count} documents kept ({result.DuplicatesRemoved} duplicates and "
                         + $"{result.ContaminatedRemoved} contaminated removed), {result.TrainTokens} train + {result.ValidTokens} validation tokens");
        return result;
    }

    /// <summary>
    /// Cross-entropy in nats/token of the validation targets under the add-one-smoothed unigram distribution of
    /// the training targets: the loss a model that ignores context would reach. NaN when validation is empty.
    /// </summary>
    public static double UnigramCrossEntropy(IPackedSequences train, IPackedSequences valid)
    {
        if (train.VocabSize != valid.VocabSize)
            throw new ArgumentException("Train and validation sequences come from different vocabularies.");
        return UnigramBaseline.CrossEntropy(UnigramBaseline.CountTargets(train), UnigramBaseline.CountTargets(valid));
    }

    internal static int BytesPerToken(int vocabSize) => vocabSize <= 65536 ? 2 : 4;
}
