using Afm.Core.Diagnostics;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Data.Corpora;
using Afm.Tokenizers;

namespace Afm.Data.Packing;

/// <summary>
/// Packs the data of one reward or dpo stage: every preference pair as two sequences of L + 1 tokens, chosen then
/// rejected, each <c>prompt + response + end-of-document</c> padded with end-of-document; the loss mask
/// (<see cref="LossMaskedSequences"/>) marks the response and its end-of-document, and <c>&lt;split&gt;.pairs.bin</c>
/// holds each pair's level and grades (<see cref="PreferencePairs"/>). Pairs are split into training and validation
/// by the same seeded hash as documents; the trainer draws the order, so each pair is written once.
/// </summary>
internal static class PreferencePacker
{
    private sealed record Pair(string Id, int[] Chosen, int ChosenResponse, int[] Rejected, int RejectedResponse, PreferenceRecord Record);

    public static StageData Pack(TrainingStageSpec stage, AfmTokenizer tokenizer, ModelSpec spec, string outputDirectory, long shardBytes, Action<string>? progress)
    {
        var directory = Path.Combine(outputDirectory, stage.Name);
        Directory.CreateDirectory(directory);
        foreach (var stale in Directory.GetFiles(directory, "*.bin*")) File.Delete(stale);

        var pairs = Read(stage, tokenizer);
        // Split by file name and line, not by stage: a reward stage and a dpo stage on the same Data hold out the same
        // pairs, so the reward model never scores a dpo stage's held-out prompts it was trained on.
        var byDocument = new Dictionary<TokenizedDocument, Pair>(ReferenceEqualityComparer.Instance);
        foreach (var pair in pairs) byDocument[new TokenizedDocument(pair.Id, [])] = pair;
        var (trainIds, validIds) = DocumentSplit.Split(byDocument.Keys.ToList(), spec.Seed, spec.ValidationFraction);
        var stageAt = stage.Location ?? new SourceLocation(stage.Data.FirstOrDefault() ?? stage.Name, 0, 0);
        if (validIds.Count == 0)
            throw DataDiagnostics.Error(DataDiagnostics.NoValidationSequences,
                $"'{stage.Name}' has {pairs.Count} preference pair(s) in its Data, so none can be held out to measure it on: add pairs (at least 2; "
                + $"about 1 in {Math.Round(1 / spec.ValidationFraction)} is held out).", stageAt);

        int length = stage.SequenceLength, eod = tokenizer.EndOfDocumentId;
        var train = WriteSplit(directory, stage.Name, DataSplit.Train, trainIds.Select(d => byDocument[d]).ToList(), length, eod, tokenizer.VocabSize, shardBytes);
        var valid = WriteSplit(directory, stage.Name, DataSplit.Validation, validIds.Select(d => byDocument[d]).ToList(), length, eod, tokenizer.VocabSize, shardBytes);
        progress?.Invoke($"stage {stage.Name} ({StageKinds.Name(stage.Kind)}): {pairs.Count} preference pairs ({trainIds.Count} train, {validIds.Count} validation), " +
                         $"each as two sequences of {length} tokens");
        return new StageData { Name = stage.Name, SequenceLength = length, Train = train, Valid = valid, UnigramCrossEntropy = null };
    }

    private static List<Pair> Read(TrainingStageSpec stage, AfmTokenizer tokenizer)
    {
        var pairs = new List<Pair>();
        foreach (var (file, lineNumber, line) in DataLines.Of(stage.Data))
        {
            var record = PreferenceRecord.Parse(line, stage.PromptField, file, lineNumber);
            var prompt = tokenizer.Encode(record.Prompt);
            int[] chosen = [.. prompt, .. tokenizer.Encode(record.Chosen), tokenizer.EndOfDocumentId];
            int[] rejected = [.. prompt, .. tokenizer.Encode(record.Rejected), tokenizer.EndOfDocumentId];
            // The reward reads the hidden state at the end-of-document, and dpo scores every response token: both
            // must be inputs of the L-token window.
            int longest = Math.Max(chosen.Length, rejected.Length);
            if (longest > stage.SequenceLength)
                throw DataDiagnostics.Error(PreferenceRecord.PairTooLong,
                    $"Preference pair of stage '{stage.Name}' is {longest} tokens (prompt {prompt.Count} + the longer response + end-of-document), " +
                    $"more than the stage's SequenceLength {stage.SequenceLength}. Raise SequenceLength or shorten the pair.",
                    new SourceLocation(file, lineNumber, 1));
            pairs.Add(new Pair($"{Path.GetFileName(file)}:{lineNumber}", chosen, prompt.Count, rejected, prompt.Count, record));
        }
        if (pairs.Count == 0)
            throw DataDiagnostics.Error(PreferenceRecord.NoPairs,
                $"The {StageKinds.Name(stage.Kind)} stage '{stage.Name}' has no preference pairs: its Data files hold no non-blank line. Add pairs or fix Data.",
                stage.Location ?? new SourceLocation(stage.Data.FirstOrDefault() ?? stage.Name, 0, 0));
        return pairs;
    }

    private static SplitData WriteSplit(string directory, string stage, string split, IReadOnlyList<Pair> pairs, int length, int eod, int vocabSize, long shardBytes)
    {
        using var writer = new ShardWriter(directory, split, length + 1, DataStage.BytesPerToken(vocabSize), shardBytes);
        var sequence = new int[length + 1];
        var mask = new byte[length + 1];
        AtomicOutput.WriteFile(Path.Combine(directory, LossMaskedSequences.MaskFileName(split)), maskStream =>
        {
            foreach (var pair in pairs)
            {
                Write(pair.Chosen, pair.ChosenResponse);
                Write(pair.Rejected, pair.RejectedResponse);
            }

            void Write(int[] tokens, int responseStart)
            {
                Array.Fill(sequence, eod);
                Array.Clear(mask);
                tokens.CopyTo(sequence, 0);
                for (int t = responseStart; t < tokens.Length; t++) mask[t] = 1;
                writer.Write(sequence);
                maskStream.Write(mask);
            }
        });
        AtomicOutput.WriteFile(Path.Combine(directory, PreferencePairs.LabelsFileName(split)), labels =>
        {
            foreach (var pair in pairs) PreferencePairs.WriteLabel(labels, pair.Record.Level, pair.Record.ChosenGrade, pair.Record.RejectedGrade);
        });
        writer.Dispose(); // closes (renames) the last shard before the file names are reported
        long responseTokens = pairs.Sum(p => (long)(p.Chosen.Length - p.ChosenResponse + p.Rejected.Length - p.RejectedResponse));
        var shares = pairs.Count == 0 ? new List<CorpusShare>() : [new CorpusShare($"{stage}.preference", writer.Count, responseTokens, 1)];
        return new SplitData(writer.Count, writer.SequencesPerShard, writer.ShardFiles.Select(f => $"{stage}/{f}").ToList(), shares);
    }
}
