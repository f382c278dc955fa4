using Afm.Evaluation.Tasks;

namespace Afm.Evaluation.Scoring;

/// <summary>
/// Generation tasks: the greedy continuation of each prompt against its reference. <c>rouge_l</c> (the main metric: AFM's
/// summarization evaluation) is the ROUGE-L F-measure; <c>exact_match</c> compares the texts with white space trimmed at
/// both ends.
/// </summary>
public static class GenerateScorer
{
    public static TaskScore Score(IReadOnlyList<GenerateItem> items, ILanguageModel model, int maxTokens, IReadOnlyList<string> stop, long seed)
    {
        // One prompt after another: OnnxLanguageModel says why generations are not batched.
        var outputs = items.Select(i => model.Generate(i.Prompt, maxTokens, stop)).ToList();
        var rouge = items.Select((item, k) => RougeL.FMeasure(outputs[k], item.Reference)).ToList();
        var exact = items.Select((item, k) => outputs[k].Trim() == item.Reference.Trim() ? 1.0 : 0.0).ToList();
        return new TaskScore([Bootstrap.Mean("rouge_l", rouge, seed), Bootstrap.Mean("exact_match", exact, seed)], items.Count);
    }
}
