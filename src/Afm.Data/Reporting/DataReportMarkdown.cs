using System.Globalization;
using System.Text;

namespace Afm.Data.Reporting;

/// <summary>The data report as Markdown tables, for reading in a browser or a pull request.</summary>
internal static class DataReportMarkdown
{
    public static string Render(DataReport report)
    {
        var md = new StringBuilder("# Data report\n\n## Corpora through the filters\n\nDocuments / tokens (end-of-document included) after each step.\n\n");
        var steps = report.Corpora.FirstOrDefault()?.Steps.Select(s => s.Step).ToList() ?? [];
        md.Append("| corpus | ").AppendJoin(" | ", steps).Append(" | train | validation |\n|---|")
          .Append(string.Concat(Enumerable.Repeat("---|", steps.Count + 2))).Append('\n');
        foreach (var corpus in report.Corpora)
        {
            md.Append($"| {corpus.Name} | ").AppendJoin(" | ", corpus.Steps.Select(s => Cell(s.Amount)))
              .Append($" | {Cell(corpus.Train)} | {Cell(corpus.Valid)} |\n");
        }

        md.Append("\n## Removed\n");
        foreach (var filter in report.Filters)
        {
            md.Append($"\n### {filter.Name}: {N(filter.Documents)} documents, {N(filter.Tokens)} tokens\n\n");
            md.Append(string.Join(", ", filter.ByCorpus.Select(c => $"{c.Corpus}: {N(c.Documents)}"))).Append('\n');
            foreach (var example in filter.Examples)
                md.Append($"- `{example.Id}`: {example.Reason}\n");
        }

        md.Append($"\nNear-duplicates: MinHash of {report.NearDuplicates.Permutations} values over word {report.NearDuplicates.ShingleWords}-grams; ")
          .AppendJoin("; ", report.NearDuplicates.Bandings.Select(b => $"threshold {F(b.Threshold)}: {b.Bands} bands x {b.Rows} rows")).Append(".\n");
        foreach (var set in report.Decontamination)
            md.Append($"Decontamination against `{set.Name}`: {N(set.Documents)} documents, {N(set.NGrams)} distinct word n-grams of {set.MinN}-{set.MaxN} words; "
                      + $"n-grams in more than {N(set.CommonNGramThreshold)} training documents are common and ignored.\n");

        md.Append("\n## Tokens per stage\n\n| stage | sequence length | corpus | train tokens | share | epochs |\n|---|---|---|---|---|---|\n");
        foreach (var stage in report.Stages)
            foreach (var corpus in stage.Corpora)
                md.Append($"| {stage.Name} | {stage.SequenceLength} | {corpus.Corpus} | {N(corpus.Tokens)} | {F(corpus.Share)} | {F(corpus.Epochs)} |\n");

        var t = report.Tokenizer;
        md.Append($"\n## Tokenizer\n\nVocabulary {N(t.VocabSize)} ({N(t.LearnedTokens)} learned, {N(t.ReservedTokens)} reserved); "
                  + $"{N(t.UsedTokens)} ids used in the kept documents ({F(t.VocabUse * 100)}% of the learned tokens). "
                  + $"Compression: {F(t.BytesPerToken)} UTF-8 bytes per token over {N(t.Bytes)} bytes.\n\n| corpus | bytes | tokens | bytes/token |\n|---|---|---|---|\n");
        foreach (var corpus in t.Corpora)
            md.Append($"| {corpus.Corpus} | {N(corpus.Bytes)} | {N(corpus.Tokens)} | {F(corpus.BytesPerToken)} |\n");
        return md.ToString();
    }

    private static string Cell(Amount amount) => $"{N(amount.Documents)} / {N(amount.Tokens)}";
    private static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);
    private static string F(double value) => value.ToString("0.###", CultureInfo.InvariantCulture);
}
