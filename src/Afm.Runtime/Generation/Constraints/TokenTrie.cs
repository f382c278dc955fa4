using Afm.Tokenizers;

namespace Afm.Runtime.Generation.Constraints;

/// <summary>
/// The vocabulary's ordinary tokens as a trie of their texts, so a character-level automaton tries each shared prefix
/// once per step instead of once per token. A token that decodes to part of a UTF-8 sequence has U+FFFD in its text;
/// automata treat that as an ordinary character (in JSON: only inside strings, where any character may stand).
/// Added tokens (special or not) and reserved ids are left out: a constraint decides about them separately.
/// </summary>
public sealed class TokenTrie
{
    internal sealed class Node
    {
        public Dictionary<char, Node> Children { get; } = [];
        public List<int> Ids { get; } = [];
    }

    internal Node Root { get; } = new();

    /// <summary>The most characters one token's text has.</summary>
    public int MaxTokenLength { get; }

    public TokenTrie(AfmTokenizer tokenizer, TokenSuppression suppression)
    {
        var added = tokenizer.AddedTokens.Select(t => t.Id).ToHashSet();
        for (int id = 0; id < Math.Min(tokenizer.VocabSize, suppression.LogitCount); id++)
        {
            if (added.Contains(id) || suppression.IsSuppressed(id)) continue;
            var text = tokenizer.Decode([id]);
            if (text.Length == 0) continue;
            MaxTokenLength = Math.Max(MaxTokenLength, text.Length);
            var node = Root;
            foreach (var c in text)
            {
                if (!node.Children.TryGetValue(c, out var child)) node.Children[c] = child = new Node();
                node = child;
            }
            node.Ids.Add(id);
        }
    }
}
