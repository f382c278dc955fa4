namespace Afm.Runtime.Generation.Constraints;

/// <summary>
/// Constrained decoding (the OpenAI API's <c>response_format</c>): before each choice, every token that cannot continue a
/// text of the automaton's language (<see cref="JsonState"/> for json_object, <see cref="SchemaState"/> for json_schema),
/// or that would leave more characters to write than tokens remain, gets logit -inf. So the output is always complete
/// when the budget allows its shortest text: near the end of the budget only tokens that bring the text closer to
/// complete remain, and once it is complete only the end-of-document token does.
/// </summary>
public sealed class TokenConstraint(TokenTrie trie, int endOfDocumentId, ITextAutomaton start)
{
    public ITextAutomaton State { get; private set; } = start;

    /// <summary>
    /// Sets the logits of the tokens not allowed now to -inf, given that <paramref name="tokensLeft"/> tokens (this one
    /// included) remain. Returns the number of tokens still allowed.
    /// </summary>
    public int Mask(float[] logits, int tokensLeft)
    {
        var allowed = new bool[logits.Length];
        int count = 0;
        if (State.IsComplete)
        {
            if ((uint)endOfDocumentId < (uint)logits.Length) { allowed[endOfDocumentId] = true; count = 1; }
        }
        else Visit(trie.Root, State, tokensLeft - 1, allowed, ref count);
        for (int id = 0; id < logits.Length; id++)
            if (!allowed[id]) logits[id] = float.NegativeInfinity;
        return count;
    }

    /// <summary>Follows the chosen token's text (the end-of-document token changes nothing).</summary>
    public void Accept(string tokenText)
    {
        var state = State;
        foreach (var c in tokenText) state = state.Advance(c) ?? throw new InvalidOperationException($"'{tokenText}' does not continue the constrained text.");
        State = state;
    }

    private static void Visit(TokenTrie.Node node, ITextAutomaton state, int tokensAfter, bool[] allowed, ref int count)
    {
        foreach (var (c, child) in node.Children)
        {
            if (state.Advance(c) is not { } next) continue;
            if (child.Ids.Count > 0 && next.CharactersToComplete <= tokensAfter)
                foreach (var id in child.Ids)
                    if ((uint)id < (uint)allowed.Length && !allowed[id]) { allowed[id] = true; count++; }
            Visit(child, next, tokensAfter, allowed, ref count);
        }
    }
}
