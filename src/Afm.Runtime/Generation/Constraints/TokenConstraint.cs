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
        var allowed = Allowed(logits.Length, tokensLeft);
        int count = 0;
        for (int id = 0; id < logits.Length; id++)
            if (allowed[id]) count++;
            else logits[id] = float.NegativeInfinity;
        return count;
    }

    /// <summary>The allowed states' masks when the budget cannot bind, by state: decoding stays in few states (inside a
    /// string most tokens leave the state as it was), so most steps reuse one. Bounded: a long generation visits many.</summary>
    private readonly Dictionary<ITextAutomaton, bool[]> unbound = [];
    private const int MaxCachedStates = 1024;

    private bool[] Allowed(int vocabulary, int tokensLeft)
    {
        // Far from the end of the budget no token can owe more than remains: the mask depends on the state alone.
        bool budgetBinds = tokensLeft - 1 < State.CharactersToComplete + State.MaxRisePerCharacter * trie.MaxTokenLength;
        if (!budgetBinds && unbound.TryGetValue(State, out var cached) && cached.Length == vocabulary) return cached;
        var allowed = new bool[vocabulary];
        if (State.IsComplete)
        {
            if ((uint)endOfDocumentId < (uint)vocabulary) allowed[endOfDocumentId] = true;
        }
        else Visit(trie.Root, State, budgetBinds ? tokensLeft - 1 : int.MaxValue, allowed);
        if (!budgetBinds && unbound.Count < MaxCachedStates) unbound[State] = allowed;
        return allowed;
    }

    /// <summary>Follows the chosen token's text (the end-of-document token changes nothing).</summary>
    public void Accept(string tokenText)
    {
        var state = State;
        foreach (var c in tokenText) state = state.Advance(c) ?? throw new InvalidOperationException($"'{tokenText}' does not continue the constrained text.");
        State = state;
    }

    private static void Visit(TokenTrie.Node node, ITextAutomaton state, int tokensAfter, bool[] allowed)
    {
        foreach (var (c, child) in node.Children)
        {
            if (state.Advance(c) is not { } next) continue;
            if (child.Ids.Count > 0 && next.CharactersToComplete <= tokensAfter)
                foreach (var id in child.Ids)
                    if ((uint)id < (uint)allowed.Length) allowed[id] = true;
            Visit(child, next, tokensAfter, allowed);
        }
    }
}
