using Afm.Runtime.Generation.Constraints;

namespace Afm.Serving.Tools;

/// <summary>
/// The union of several automata: a text is allowed while any of them allows it. A forced call of one of several
/// functions is each function's call shape side by side; once the name is written only one remains.
/// </summary>
public sealed class AnyOfState : ITextAutomaton, IEquatable<AnyOfState>
{
    private readonly ITextAutomaton[] alternatives;

    private AnyOfState(ITextAutomaton[] alternatives, int maxRise)
    {
        this.alternatives = alternatives;
        MaxRisePerCharacter = maxRise;
    }

    /// <summary>
    /// When the alternative that was shortest to complete dies, the fewest characters left can jump to another's: the
    /// longest start of any alternative bounds that jump, on top of what one alternative's own character can owe.
    /// </summary>
    public static ITextAutomaton Start(IReadOnlyList<ITextAutomaton> alternatives) =>
        new AnyOfState([.. alternatives], alternatives.Max(a => a.MaxRisePerCharacter) + alternatives.Max(a => a.CharactersToComplete));

    public ITextAutomaton? Advance(char c)
    {
        var next = alternatives.Select(a => a.Advance(c)).OfType<ITextAutomaton>().ToArray();
        return next.Length switch
        {
            0 => null,
            1 => next[0],
            _ => new AnyOfState(next, MaxRisePerCharacter),
        };
    }

    public bool IsComplete => alternatives.Any(a => a.IsComplete);

    public int CharactersToComplete => alternatives.Min(a => a.CharactersToComplete);

    public int MaxRisePerCharacter { get; }

    // Equal states allow equal tokens: TokenConstraint reuses masks by state.
    public bool Equals(AnyOfState? other) => other is not null && alternatives.SequenceEqual(other.alternatives);

    public override bool Equals(object? obj) => Equals(obj as AnyOfState);

    public override int GetHashCode()
    {
        var hash = new HashCode();
        foreach (var alternative in alternatives) hash.Add(alternative);
        return hash.ToHashCode();
    }
}
