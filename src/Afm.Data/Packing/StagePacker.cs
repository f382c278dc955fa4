using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Corpora;

namespace Afm.Data.Packing;

/// <summary>Writes the training and validation shards of one training stage.</summary>
internal static class StagePacker
{
    public static StageData Pack(TrainingStageSpec stage, IReadOnlyList<TokenizedCorpus> corpora, long seed, int vocabSize,
        string outputDirectory, long shardBytes, int maxValidationSequences, Action<string>? progress)
    {
        var directory = Path.Combine(outputDirectory, stage.Name);
        Directory.CreateDirectory(directory);
        foreach (var stale in Directory.GetFiles(directory, "*.bin*"))
            File.Delete(stale);

        var mix = Mix(stage, corpora);
        var length = stage.SequenceLength;
        var trainCount = (stage.Tokens + length - 1) / length;
        // Validation uses the same mix over the corpora that have validation documents, each gone through once
        // (the last sequence may wrap), capped so evaluation stays cheap.
        var validMix = mix.Where(m => m.Corpus.Valid.Count > 0).Select(m => (m.Corpus, m.Corpus.Valid, m.Weight)).ToList();
        var validTokens = validMix.Sum(m => m.Corpus.ValidTokens);
        var validCount = validMix.Count == 0 ? 0 : Math.Clamp((validTokens + length - 1) / length, 1, maxValidationSequences);
        if (validCount == 0)
            throw NoValidation(stage, mix.Select(m => m.Corpus).ToList());

        var trainTargets = new long[vocabSize];
        var train = WriteSplit(directory, stage.Name, DataSplit.Train, mix.Select(m => (m.Corpus, m.Corpus.Train, m.Weight)).ToList(),
            shuffle: true, seed, length, trainCount, vocabSize, shardBytes, trainTargets);
        var validTargets = new long[vocabSize];
        var valid = WriteSplit(directory, stage.Name, DataSplit.Validation, validMix, shuffle: false, seed, length, validCount, vocabSize, shardBytes, validTargets);

        var unigram = UnigramBaseline.CrossEntropy(trainTargets, validTargets);
        progress?.Invoke($"stage {stage.Name}: {train.Sequences} train + {valid.Sequences} validation sequences of {length} tokens, unigram baseline {unigram:F3} nats/token");
        return new StageData { Name = stage.Name, SequenceLength = length, Train = train, Valid = valid, UnigramCrossEntropy = unigram };
    }

    /// <summary>
    /// Training would report no validation loss and every later stage that measures the model (quantize, adapters) would
    /// have nothing to measure it on: said here, before any training, at the stage.
    /// </summary>
    private static Exception NoValidation(TrainingStageSpec stage, IReadOnlyList<TokenizedCorpus> corpora)
    {
        var held = string.Join(", ", corpora.Select(c => $"'{c.Name}' {c.Train.Count + c.Valid.Count} document(s) of {c.TrainTokens + c.ValidTokens} tokens"));
        return DataDiagnostics.Error(DataDiagnostics.NoValidationSequences,
            $"Stage '{stage.Name}' has no validation sequences: its corpora ({held}) are too small to hold any text out. Validation holds out whole documents, "
            + $"and documents longer than {LongDocuments.ChunkTokens} tokens in chunks of {LongDocuments.ChunkTokens}, so a corpus needs at least two documents or chunks. "
            + "Add text to the corpus (or more files), or mix in a corpus that has more.",
            stage.Location ?? SourceLocation.FileOnly(stage.Name));
    }

    /// <summary>The stage's mix resolved to corpora; an empty mix means "every corpus, in proportion to its size".</summary>
    private static List<(TokenizedCorpus Corpus, double Weight)> Mix(TrainingStageSpec stage, IReadOnlyList<TokenizedCorpus> corpora)
    {
        if (stage.Mix.Count == 0)
            return corpora.Select(c => (c, (double)c.TrainTokens)).ToList();
        return stage.Mix
            .Where(m => m.Weight > 0)
            .Select(m => (corpora.FirstOrDefault(c => c.Name == m.Corpus)
                          ?? throw new InvalidOperationException($"Stage '{stage.Name}' mixes unknown corpus '{m.Corpus}'."), m.Weight))
            .ToList();
    }

    private static SplitData WriteSplit(string directory, string stage, string split,
        IReadOnlyList<(TokenizedCorpus Corpus, IReadOnlyList<TokenizedDocument> Documents, double Weight)> mix,
        bool shuffle, long seed, int length, long count, int vocabSize, long shardBytes, long[] targetCounts)
    {
        using var writer = new ShardWriter(directory, split, length + 1, DataStage.BytesPerToken(vocabSize), shardBytes);
        var streams = mix.Select(m => new TokenStream(m.Documents, shuffle, seed, stage, m.Corpus.Name)).ToList();
        var shares = new List<CorpusShare>();
        if (count > 0)
        {
            var packer = new SequencePacker(streams, mix.Select(m => m.Weight).ToList(), length);
            var sequence = new int[length + 1];
            for (long i = 0; i < count; i++)
            {
                packer.Next(sequence);
                writer.Write(sequence);
                for (var t = 1; t < sequence.Length; t++)
                    targetCounts[sequence[t]]++;
            }
            for (var c = 0; c < mix.Count; c++)
            {
                var epochs = streams[c].TokensPerEpoch == 0 ? 0 : (double)streams[c].TokensTaken / streams[c].TokensPerEpoch;
                shares.Add(new CorpusShare(mix[c].Corpus.Name, packer.SequencesByCorpus[c], packer.SequencesByCorpus[c] * length, Math.Round(epochs, 4)));
            }
        }
        writer.Dispose(); // closes (renames) the last shard before the file names are reported
        return new SplitData(writer.Count, writer.SequencesPerShard, writer.ShardFiles.Select(f => $"{stage}/{f}").ToList(), shares);
    }
}
