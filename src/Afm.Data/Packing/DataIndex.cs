using Afm.Core.IO;

namespace Afm.Data.Packing;

/// <summary>
/// index.json of a data directory: what the data stage wrote. It is written last, so its presence means the
/// shards it lists are complete. Lists (not maps) keep the file's order fixed.
/// </summary>
public sealed record DataIndex
{
    public const int CurrentFormatVersion = 1;
    public const string FileName = Afm.Core.Artifacts.StageLayout.Data.Index;

    public int FormatVersion { get; init; } = CurrentFormatVersion;
    public required int VocabSize { get; init; }
    /// <summary>"uint16" when the vocabulary fits (&lt;= 65536 ids), else "uint32"; always little-endian.</summary>
    [System.Text.Json.Serialization.JsonPropertyName("dtype")]
    public required string DType { get; init; }
    public required int EndOfDocumentId { get; init; }
    public required long Seed { get; init; }
    public required double ValidationFraction { get; init; }
    public required IReadOnlyList<CorpusSummary> Corpora { get; init; }
    public required IReadOnlyList<StageData> Stages { get; init; }

    public int BytesPerToken => DType == "uint16" ? 2 : 4;

    public StageData Stage(string name) =>
        Stages.FirstOrDefault(s => s.Name == name) ?? throw new KeyNotFoundException($"The data index has no stage '{name}'.");

    public static DataIndex Load(string dataDirectory) => JsonFiles.Read<DataIndex>(Path.Combine(dataDirectory, FileName));

    internal void Save(string dataDirectory) => JsonFiles.Write(Path.Combine(dataDirectory, FileName), this);
}

/// <param name="DuplicatesRemoved">Documents dropped as exact (normalized) copies or near-duplicates of an earlier document.</param>
/// <param name="ContaminatedRemoved">Documents dropped because they overlap an eval set marked Decontaminate (report.json says how).</param>
public sealed record CorpusSummary(string Name, int TrainDocuments, int ValidDocuments, long TrainTokens, long ValidTokens,
    int DuplicatesRemoved, int ContaminatedRemoved);

public sealed record StageData
{
    public required string Name { get; init; }
    public required int SequenceLength { get; init; }
    public required SplitData Train { get; init; }
    public required SplitData Valid { get; init; }
    /// <summary>Nats per token of the validation targets under the add-one unigram of the training targets; null without validation data.</summary>
    public required double? UnigramCrossEntropy { get; init; }

    public SplitData Split(string split) => split switch
    {
        DataSplit.Train => Train,
        DataSplit.Validation => Valid,
        _ => throw new ArgumentException($"Split must be \"{DataSplit.Train}\" or \"{DataSplit.Validation}\", not \"{split}\".", nameof(split)),
    };
}

/// <param name="Shards">Paths relative to the data directory, in sequence order.</param>
public sealed record SplitData(long Sequences, long SequencesPerShard, IReadOnlyList<string> Shards, IReadOnlyList<CorpusShare> Corpora);

/// <param name="Tokens">Target tokens drawn from the corpus (L per sequence).</param>
/// <param name="Epochs">How many times the corpus's documents were (partly) gone through: above 1 means repetition.</param>
public sealed record CorpusShare(string Corpus, long Sequences, long Tokens, double Epochs);
