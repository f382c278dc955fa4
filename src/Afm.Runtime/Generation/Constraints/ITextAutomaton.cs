namespace Afm.Runtime.Generation.Constraints;

/// <summary>
/// A character-level recognizer of the texts a constrained generation may write, as immutable states: what
/// <see cref="TokenConstraint"/> needs to mask the tokens that cannot continue the text within the budget.
/// </summary>
public interface ITextAutomaton
{
    /// <summary>The state after <paramref name="c"/>, or null when no text of the language continues this way.</summary>
    ITextAutomaton? Advance(char c);

    /// <summary>The text so far is a whole text of the language (the end-of-document token may come).</summary>
    bool IsComplete { get; }

    /// <summary>The fewest characters that complete the text from here.</summary>
    int CharactersToComplete { get; }

    /// <summary>
    /// The most one character can raise <see cref="CharactersToComplete"/> (a ',' in an object owes a key, a colon and a
    /// value): far enough from the end of the budget, no token can owe more than remains, so the allowed tokens depend
    /// on the state alone and a constraint may reuse them.
    /// </summary>
    int MaxRisePerCharacter { get; }
}
