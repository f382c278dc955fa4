using Afm.Core.Spec;
using Afm.Data.Cleaning;
using Afm.Data.Packing;
using Afm.Tokenizers;

namespace Afm.Data.Reporting;

/// <summary>Puts together the data report from the cleaning result, the split corpora and the packed stages.</summary>
internal static class DataReportBuilder
{
    public static DataReport Build(ModelSpec spec, CleaningResult cleaning, IReadOnlyList<TokenizedCorpus> corpora,
        IReadOnlyList<StageData> stages, AfmTokenizer tokenizer) => new()
    {
        Corpora = corpora.Select((c, i) => new CorpusReport(c.Name, spec.Corpora[i].NearDuplicateThreshold, cleaning.Steps[i],
            Amount(c.Train), Amount(c.Valid))).ToList(),
        Filters = cleaning.Filters,
        NearDuplicates = cleaning.NearDuplicates,
        Decontamination = cleaning.EvalSets,
        Stages = stages.Select(Stage).ToList(),
        Tokenizer = Tokenizer(cleaning, corpora, tokenizer),
    };

    private static Amount Amount(IReadOnlyList<TokenizedDocument> documents) =>
        new(documents.Count, documents.Sum(d => (long)d.Tokens.Length), 0);

    private static StageReport Stage(StageData stage)
    {
        var total = stage.Train.Corpora.Sum(c => c.Tokens);
        return new StageReport(stage.Name, stage.SequenceLength, total, stage.Valid.Corpora.Sum(c => c.Tokens),
            stage.Train.Corpora.Select(c => new StageCorpus(c.Corpus, c.Tokens, total == 0 ? 0 : Math.Round((double)c.Tokens / total, 4), c.Epochs)).ToList());
    }

    private static TokenizerReport Tokenizer(CleaningResult cleaning, IReadOnlyList<TokenizedCorpus> corpora, AfmTokenizer tokenizer)
    {
        var used = new bool[tokenizer.VocabSize];
        var perCorpus = new List<CorpusCompression>();
        for (var c = 0; c < corpora.Count; c++)
        {
            long tokens = 0;
            foreach (var document in corpora[c].Train.Concat(corpora[c].Valid))
            {
                tokens += document.Tokens.Length - 1; // the end-of-document token is not text
                foreach (var id in document.Tokens) used[id] = true;
            }
            perCorpus.Add(new CorpusCompression(corpora[c].Name, cleaning.KeptBytes[c], tokens, Ratio(cleaning.KeptBytes[c], tokens)));
        }
        var learned = tokenizer.VocabSize - tokenizer.ReservedCount;
        var usedCount = used.Count(u => u);
        long allBytes = perCorpus.Sum(c => c.Bytes), allTokens = perCorpus.Sum(c => c.Tokens);
        return new TokenizerReport(tokenizer.VocabSize, learned, tokenizer.ReservedCount, usedCount, Math.Round((double)usedCount / learned, 4),
            allBytes, allTokens, Ratio(allBytes, allTokens), perCorpus);
    }

    private static double Ratio(long bytes, long tokens) => tokens == 0 ? 0 : Math.Round((double)bytes / tokens, 4);
}
