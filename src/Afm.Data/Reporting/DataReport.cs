using Afm.Data.Cleaning;
using Afm.Core.IO;

namespace Afm.Data.Reporting;

/// <summary>
/// What the data stage did, for people: report.json (this record) and report.md in the data directory, copied
/// into the artifact as reports/data-report.json and .md. Lists, not maps, so the file's order is fixed.
/// Token counts include the end-of-document token after each document (as packed), except in
/// <see cref="TokenizerReport"/>, which measures the tokenizer on the text alone.
/// </summary>
public sealed record DataReport
{
    public const int CurrentFormatVersion = 1;
    public const string JsonFileName = Afm.Core.Artifacts.StageLayout.Data.Report;
    public const string MarkdownFileName = Afm.Core.Artifacts.StageLayout.Data.ReportMarkdown;

    public int FormatVersion { get; init; } = CurrentFormatVersion;
    public required IReadOnlyList<CorpusReport> Corpora { get; init; }
    /// <summary>The filters in the order they ran: exact-duplicates, near-duplicates, decontamination.</summary>
    public required IReadOnlyList<FilterReport> Filters { get; init; }
    public required NearDuplicateSettings NearDuplicates { get; init; }
    public required IReadOnlyList<EvalSetSummary> Decontamination { get; init; }
    public required IReadOnlyList<StageReport> Stages { get; init; }
    public required TokenizerReport Tokenizer { get; init; }

    public static DataReport Load(string dataDirectory) => JsonFiles.Read<DataReport>(Path.Combine(dataDirectory, JsonFileName));

    internal void Save(string dataDirectory)
    {
        JsonFiles.Write(Path.Combine(dataDirectory, JsonFileName), this);
        AtomicOutput.WriteAllBytes(Path.Combine(dataDirectory, MarkdownFileName), new System.Text.UTF8Encoding(false).GetBytes(DataReportMarkdown.Render(this)));
    }
}

public sealed record Amount(long Documents, long Tokens, long Bytes);

/// <param name="Steps">The corpus after each step: "read", then after each filter (same names as <see cref="DataReport.Filters"/>).</param>
public sealed record CorpusReport(string Name, double NearDuplicateThreshold, IReadOnlyList<CorpusStep> Steps, Amount Train, Amount Valid);

public sealed record CorpusStep(string Step, Amount Amount);

/// <param name="Examples">The first few documents removed (pipeline order), with why.</param>
public sealed record FilterReport(string Name, long Documents, long Tokens, IReadOnlyList<CorpusRemoval> ByCorpus, IReadOnlyList<RemovedExample> Examples);

public sealed record CorpusRemoval(string Corpus, long Documents, long Tokens);

public sealed record RemovedExample(string Id, string Reason);

/// <param name="Bandings">LSH banding used for each threshold in use (bands x rows of the 128 MinHash values).</param>
public sealed record NearDuplicateSettings(int ShingleWords, int Permutations, IReadOnlyList<Banding> Bandings);

public sealed record Banding(double Threshold, int Bands, int Rows);

/// <param name="Corpora">Training target tokens drawn from each corpus, with its share and epochs.</param>
public sealed record StageReport(string Name, int SequenceLength, long TrainTokens, long ValidTokens, IReadOnlyList<StageCorpus> Corpora);

public sealed record StageCorpus(string Corpus, long Tokens, double Share, double Epochs);

/// <param name="LearnedTokens">Special, byte and merged tokens (the ids encoding can produce); the rest are reserved padding.</param>
/// <param name="UsedTokens">Distinct ids that occur in the kept documents.</param>
/// <param name="VocabUse">UsedTokens / LearnedTokens.</param>
/// <param name="BytesPerToken">UTF-8 bytes of the kept documents' text per token (end-of-document excluded): the compression.</param>
public sealed record TokenizerReport(int VocabSize, int LearnedTokens, int ReservedTokens, int UsedTokens, double VocabUse,
    long Bytes, long Tokens, double BytesPerToken, IReadOnlyList<CorpusCompression> Corpora);

public sealed record CorpusCompression(string Corpus, long Bytes, long Tokens, double BytesPerToken);
