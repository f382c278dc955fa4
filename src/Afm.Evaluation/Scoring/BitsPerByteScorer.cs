using System.Text;
using Afm.Evaluation.Tasks;

namespace Afm.Evaluation.Scoring;

/// <summary>
/// Bits per byte: the total negative log2-likelihood of the documents over their total UTF-8 bytes. Unlike a
/// perplexity per token it does not depend on the tokenizer, so models with different vocabularies compare.
/// </summary>
public static class BitsPerByteScorer
{
    public static TaskScore Score(IReadOnlyList<TextDocument> documents, ILanguageModel model, long seed)
    {
        var bits = documents.Select(d => model.NegativeLogLikelihood(d.Text) / Math.Log(2)).ToList();
        var bytes = documents.Select(d => (double)Encoding.UTF8.GetByteCount(d.Text)).ToList();
        var value = bits.Sum() / bytes.Sum();
        return new TaskScore([new MetricValue("bits_per_byte", value, Bootstrap.StandardError(bits, bytes, seed))], documents.Count);
    }
}
