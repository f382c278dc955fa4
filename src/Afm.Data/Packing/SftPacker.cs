using System.Text;
using System.Text.Json;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Data.Common;
using Afm.Data.Corpora;
using Afm.Tokenizers;
using Afm.Core.IO;

namespace Afm.Data.Packing;

/// <summary>
/// Packs the data of one <c>Kind="sft"</c> stage: prompt/response JSON lines, each example encoded as
/// prompt tokens + response tokens + end-of-document and packed back to back like pretraining data (fixed
/// sequences of L + 1 tokens, consecutive sequences overlapping by one token). Next to the token shards it writes
/// a loss mask (<see cref="LossMaskedSequences"/>): the loss counts only response and end-of-document targets.
/// </summary>
/// <remarks>
/// The prompt is encoded exactly as written (no template is added): a project that wants a separator between prompt
/// and response writes it into its prompts. Prompt and response are encoded separately, so a BPE merge never
/// straddles the boundary and the first response token is always a target. Examples are split into training and
/// validation by the same seeded hash as documents (<see cref="DocumentSplit"/>).
/// </remarks>
internal static class SftPacker
{
    /// <summary>A JSON lines record of an sft stage is not an object with the prompt and response fields as strings.</summary>
    public const string BadSftLine = "AFM3001";
    /// <summary>An sft stage's Data files hold no example.</summary>
    public const string NoSftExamples = "AFM3002";

    public static StageData Pack(TrainingStageSpec stage, AfmTokenizer tokenizer, ModelSpec spec, string outputDirectory,
        long shardBytes, int maxValidationSequences, Action<string>? progress)
    {
        var directory = Path.Combine(outputDirectory, stage.Name);
        Directory.CreateDirectory(directory);
        foreach (var stale in Directory.GetFiles(directory, "*.bin*"))
            File.Delete(stale);

        var examples = ReadExamples(stage, tokenizer);
        var (trainDocs, validDocs) = DocumentSplit.Split(examples.Select(e => e.Document).ToList(), spec.Seed, spec.ValidationFraction);
        var responseStart = examples.ToDictionary(e => e.Document.Id, e => e.ResponseStart, StringComparer.Ordinal);
        if (validDocs.Count == 0)
            throw DataDiagnostics.Error(DataDiagnostics.NoValidationSequences,
                $"'{stage.Name}' has {examples.Count} example(s) in its Data, so none can be held out to measure it on: add examples (at least 2; "
                + $"about 1 in {Math.Round(1 / spec.ValidationFraction)} is held out).",
                stage.Location ?? new SourceLocation(stage.Data.FirstOrDefault() ?? stage.Name, 0, 0));

        int length = stage.SequenceLength, vocab = tokenizer.VocabSize;
        var trainTargets = new long[vocab];
        var train = WriteSplit(directory, stage.Name, DataSplit.Train, trainDocs, responseStart, shuffle: true, spec.Seed, length,
            (stage.Tokens + length - 1) / length, vocab, shardBytes, trainTargets);
        long validTokens = validDocs.Sum(d => (long)d.Tokens.Length);
        long validCount = validDocs.Count == 0 ? 0 : Math.Clamp((validTokens + length - 1) / length, 1, maxValidationSequences);
        var validTargets = new long[vocab];
        var valid = WriteSplit(directory, stage.Name, DataSplit.Validation, validDocs, responseStart, shuffle: false, spec.Seed, length,
            validCount, vocab, shardBytes, validTargets);

        double? unigram = validCount == 0 ? null : UnigramBaseline.CrossEntropy(trainTargets, validTargets);
        progress?.Invoke($"stage {stage.Name} (sft): {examples.Count} examples ({trainDocs.Count} train, {validDocs.Count} validation), " +
                         $"{train.Sequences} train + {valid.Sequences} validation sequences of {length} tokens, loss on response tokens only" +
                         (unigram is { } u ? $", response unigram baseline {u:F3} nats/token" : ""));
        return new StageData { Name = stage.Name, SequenceLength = length, Train = train, Valid = valid, UnigramCrossEntropy = unigram };
    }

    private static List<(TokenizedDocument Document, int ResponseStart)> ReadExamples(TrainingStageSpec stage, AfmTokenizer tokenizer)
    {
        var examples = new List<(TokenizedDocument, int)>();
        foreach (var (file, lineNumber, line) in DataLines.Of(stage.Data))
        {
            var (prompt, response) = Parse(line, stage, file, lineNumber);
            var promptIds = tokenizer.Encode(prompt);
            var responseIds = tokenizer.Encode(response);
            int[] tokens = [.. promptIds, .. responseIds, tokenizer.EndOfDocumentId];
            examples.Add((new TokenizedDocument($"{stage.Name}/{Path.GetFileName(file)}:{lineNumber}", tokens), promptIds.Count));
        }
        if (examples.Count == 0)
            throw DataDiagnostics.Error(NoSftExamples,
                $"The sft stage '{stage.Name}' has no examples: its Data files hold no non-blank line. Add prompt/response lines or fix Data.",
                stage.Location ?? new SourceLocation(stage.Data.FirstOrDefault() ?? stage.Name, 0, 0));
        return examples;
    }

    private static (string Prompt, string Response) Parse(string line, TrainingStageSpec stage, string file, int lineNumber)
    {
        string problem;
        try
        {
            using var json = JsonDocument.Parse(line);
            var root = json.RootElement;
            if (root.ValueKind != JsonValueKind.Object) problem = "the line is not a JSON object";
            else if (Field(root, stage.PromptField, out problem) is { } prompt && Field(root, stage.ResponseField, out problem) is { } response)
                return (prompt, response);
        }
        catch (JsonException e)
        {
            problem = $"the line is not valid JSON ({e.Message})";
        }
        throw DataDiagnostics.Error(BadSftLine,
            $"Bad sft record of stage '{stage.Name}': {problem}. Each non-blank line must be an object with string \"{stage.PromptField}\" and \"{stage.ResponseField}\" fields (set PromptField/ResponseField on the stage to use others).",
            new SourceLocation(file, lineNumber, 1));
    }

    private static string? Field(JsonElement root, string name, out string problem)
    {
        problem = "";
        if (!root.TryGetProperty(name, out var field)) problem = $"the object has no \"{name}\" field";
        else if (field.ValueKind != JsonValueKind.String) problem = $"the \"{name}\" field is not a string";
        else return field.GetString();
        return null;
    }

    private static SplitData WriteSplit(string directory, string stage, string split, IReadOnlyList<TokenizedDocument> documents,
        IReadOnlyDictionary<string, int> responseStart, bool shuffle, long seed, int length, long count, int vocabSize,
        long shardBytes, long[] targetCounts)
    {
        using var writer = new ShardWriter(directory, split, length + 1, DataStage.BytesPerToken(vocabSize), shardBytes);
        var sequence = new int[length + 1];
        var mask = new byte[length + 1];
        long tokensTaken = 0;
        var epochs = 0.0;
        AtomicOutput.WriteFile(Path.Combine(directory, LossMaskedSequences.MaskFileName(split)), maskStream =>
        {
            if (count == 0 || documents.Count == 0) return;
            var stream = new MaskedStream(documents, responseStart, shuffle, seed, stage);
            for (long i = 0; i < count; i++)
            {
                // As in SequencePacker: the last token of one sequence is the first (input-only) token of the next.
                int start = 0;
                if (i > 0)
                {
                    sequence[0] = sequence[^1];
                    mask[0] = mask[^1];
                    start = 1;
                }
                stream.Take(sequence.AsSpan(start), mask.AsSpan(start));
                writer.Write(sequence);
                maskStream.Write(mask);
                for (var t = 1; t < sequence.Length; t++)
                    if (mask[t] != 0) targetCounts[sequence[t]]++;
            }
            tokensTaken = stream.TokensTaken;
            epochs = stream.TokensPerEpoch == 0 ? 0 : (double)stream.TokensTaken / stream.TokensPerEpoch;
        });
        writer.Dispose(); // closes (renames) the last shard before the file names are reported
        var shares = count == 0 ? new List<CorpusShare>() : [new CorpusShare($"{stage}.sft", writer.Count, writer.Count * length, Math.Round(epochs, 4))];
        return new SplitData(writer.Count, writer.SequencesPerShard, writer.ShardFiles.Select(f => $"{stage}/{f}").ToList(), shares);
    }

    /// <summary>The examples' tokens and loss mask back to back, epoch after epoch (each epoch freshly shuffled when training).</summary>
    private sealed class MaskedStream(IReadOnlyList<TokenizedDocument> documents, IReadOnlyDictionary<string, int> responseStart,
        bool shuffle, long seed, string stage)
    {
        private int[] _order = [];
        private int _position, _offset, _epoch = -1;

        public long TokensTaken { get; private set; }
        public long TokensPerEpoch { get; } = documents.Sum(d => (long)d.Tokens.Length);

        public void Take(Span<int> tokens, Span<byte> mask)
        {
            for (var written = 0; written < tokens.Length; written++)
            {
                if (_position >= _order.Length) StartEpoch();
                var document = documents[_order[_position]];
                tokens[written] = document.Tokens[_offset];
                mask[written] = _offset >= responseStart[document.Id] ? (byte)1 : (byte)0;
                if (++_offset == document.Tokens.Length)
                {
                    _position++;
                    _offset = 0;
                }
            }
            TokensTaken += tokens.Length;
        }

        private void StartEpoch()
        {
            _epoch++;
            _order = Enumerable.Range(0, documents.Count).ToArray();
            if (shuffle)
                new SplitMix64(StableHash.Of("epoch", seed, stage, "sft", _epoch)).Shuffle(_order);
            _position = 0;
            _offset = 0;
        }
    }
}
