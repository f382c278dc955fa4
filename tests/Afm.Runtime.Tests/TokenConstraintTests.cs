using Afm.Runtime.Generation.Constraints;

namespace Afm.Runtime.Tests;

/// <summary>
/// The constraint's masks (trie walk, masks reused by state far from the budget's end) equal a brute-force check of
/// every token on its own: its text continues the automaton and leaves no more characters owed than tokens remain.
/// </summary>
public sealed class TokenConstraintTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private bool[] BruteForce(ITextAutomaton state, int vocabulary, int tokensLeft)
    {
        var tokenizer = fixture.Model.Tokenizer;
        var added = tokenizer.AddedTokens.Select(t => t.Id).ToHashSet();
        var allowed = new bool[vocabulary];
        if (state.IsComplete)
        {
            allowed[tokenizer.EndOfDocumentId] = true;
            return allowed;
        }
        for (int id = 0; id < vocabulary; id++)
        {
            if (added.Contains(id) || fixture.Model.Generator.Suppression.IsSuppressed(id)) continue;
            var text = tokenizer.Decode([id]);
            ITextAutomaton? next = text.Length == 0 ? null : state;
            foreach (var c in text) next = next?.Advance(c);
            allowed[id] = next is not null && next.CharactersToComplete <= tokensLeft - 1;
        }
        return allowed;
    }

    [Theory]
    [InlineData(false, 1)]
    [InlineData(false, 2)]
    [InlineData(true, 3)]
    public void Masks_equal_a_token_by_token_check_at_every_step_down_to_the_end_of_the_budget(bool schema, int seed)
    {
        var tokenizer = fixture.Model.Tokenizer;
        int vocabulary = fixture.Model.Session.VocabSize;
        var trie = new TokenTrie(tokenizer, fixture.Model.Generator.Suppression);
        ITextAutomaton start = schema
            ? SchemaState.Start(new ObjectShape([("a", new ArrayShape(new StringShape())), ("b", new NumberShape(true))]))
            : JsonState.Start(objectOnly: true);
        var constraint = new TokenConstraint(trie, tokenizer.EndOfDocumentId, start);
        var random = new Random(seed);
        for (int tokensLeft = 80; tokensLeft >= 1 && !constraint.State.IsComplete; tokensLeft--)
        {
            var expected = BruteForce(constraint.State, vocabulary, tokensLeft);
            var logits = new float[vocabulary];
            int count = constraint.Mask(logits, tokensLeft);
            Assert.Equal(expected, logits.Select(l => !float.IsNegativeInfinity(l)));
            Assert.Equal(expected.Count(a => a), count);
            if (count == 0) break;
            var choices = Enumerable.Range(0, vocabulary).Where(i => expected[i]).ToList();
            constraint.Accept(tokenizer.Decode([choices[random.Next(choices.Count)]]));
        }
        Assert.True(constraint.State.IsComplete, "the budget closed the text");
    }
}
