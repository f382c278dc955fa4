namespace Afm.Evaluation.Scoring;

/// <summary>
/// What the scorers ask of a model. The stage's implementation runs the exported ONNX graph through Afm.Runtime
/// (<see cref="Running.OnnxLanguageModel"/>); tests give models whose answers they know.
/// </summary>
public interface ILanguageModel
{
    /// <summary>ln P(<paramref name="continuation"/> | <paramref name="context"/>): the sum over the continuation's tokens, in nats.</summary>
    double LogLikelihood(string context, string continuation);

    /// <summary>
    /// <see cref="LogLikelihood"/> of each pair, in order. A model may score them together (the ONNX model runs many
    /// pairs per graph run); the results are the same up to float rounding.
    /// </summary>
    IReadOnlyList<double> LogLikelihoods(IReadOnlyList<(string Context, string Continuation)> requests) =>
        requests.Select(r => LogLikelihood(r.Context, r.Continuation)).ToList();

    /// <summary>-ln P(<paramref name="text"/>) over all of its tokens (each predicted from the ones before it), in nats.</summary>
    double NegativeLogLikelihood(string text);

    /// <summary>The greedy continuation of <paramref name="prompt"/>: at most <paramref name="maxTokens"/> tokens, cut before the first stop.</summary>
    string Generate(string prompt, int maxTokens, IReadOnlyList<string> stop);
}
