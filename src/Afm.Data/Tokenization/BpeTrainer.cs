using System.Text;

using Afm.Tokenizers;

namespace Afm.Data.Tokenization;

/// <summary>
/// Byte-level BPE training. Id layout of the result: special tokens first (0 = <c>&lt;|endoftext|&gt;</c>), then
/// the 256 byte tokens in byte order, then one token per learned merge in the order learned.
/// </summary>
/// <remarks>
/// Words are counted once, then merges run on distinct words. Pair counts are kept incrementally: a merge only
/// revisits the words that contain the merged pair (an index from pair to words), and the best pair comes from
/// a priority queue whose stale entries are skipped when popped. Ties go to the pair with the smaller
/// (left id, right id), so the result never depends on hash order or thread scheduling.
/// </remarks>
public static class BpeTrainer
{
    public static BpeVocabulary Train(IEnumerable<string> documents, BpeTrainingOptions options, Action<string>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(documents);
        ArgumentNullException.ThrowIfNull(options);
        var specials = options.EffectiveSpecialTokens();
        var minimum = specials.Count + 256;
        if (options.VocabSize < minimum)
            throw new ArgumentOutOfRangeException(nameof(options), $"VocabSize {options.VocabSize} is below {minimum} (special tokens + 256 bytes).");

        var pattern = PreTokenization.Pattern(options.SplitDigits);
        var counts = WordCounter.Count(documents, new UnicodeRegexSplitter(pattern), new SpecialTokenMatcher(specials), progress);
        progress?.Invoke($"{counts.Count} distinct words; learning {options.VocabSize - minimum} merges");

        var state = MergeState.FromWordCounts(counts);
        var targetMerges = options.VocabSize - minimum;
        while (state.TokenCount - 256 < targetMerges && state.TryMergeBest())
        {
            var learned = state.TokenCount - 256;
            if (learned % 500 == 0)
                progress?.Invoke($"learned {learned}/{targetMerges} merges");
        }

        return new BpeVocabulary(options, specials, pattern, state.TokenBytes, state.Merges);
    }

    /// <summary>The words as symbol sequences plus the incremental pair statistics.</summary>
    private sealed class MergeState
    {
        private readonly int[][] _words;
        private readonly int[] _lengths;
        private readonly long[] _frequencies;
        private readonly Dictionary<long, long> _pairCounts = new();
        private readonly Dictionary<long, List<int>> _wordsWithPair = new();
        private readonly PriorityQueue<long, (long Count, long Key)> _queue = new(BestFirst.Instance);
        private readonly Dictionary<string, int> _idByBytes = new(StringComparer.Ordinal);

        public List<byte[]> TokenBytes { get; } = new();
        public List<(int Left, int Right)> Merges { get; } = new();
        public int TokenCount => TokenBytes.Count;

        private MergeState(int[][] words, long[] frequencies)
        {
            _words = words;
            _frequencies = frequencies;
            _lengths = words.Select(w => w.Length).ToArray();
            for (var b = 0; b < 256; b++)
            {
                TokenBytes.Add([(byte)b]);
                _idByBytes.Add(ByteLevelAlphabet.Map([(byte)b]), b);
            }
        }

        public static MergeState FromWordCounts(Dictionary<string, long> counts)
        {
            var ordered = counts.Keys.Order(StringComparer.Ordinal).ToArray();
            var words = ordered.Select(w => Encoding.UTF8.GetBytes(w).Select(b => (int)b).ToArray()).ToArray();
            var state = new MergeState(words, ordered.Select(w => counts[w]).ToArray());
            for (var w = 0; w < words.Length; w++)
            {
                var word = words[w];
                for (var i = 0; i + 1 < word.Length; i++)
                {
                    var key = Key(word[i], word[i + 1]);
                    state._pairCounts[key] = state._pairCounts.GetValueOrDefault(key) + state._frequencies[w];
                    state.Index(key, w);
                }
            }
            foreach (var (key, count) in state._pairCounts)
                state._queue.Enqueue(key, (count, key));
            return state;
        }

        public bool TryMergeBest()
        {
            while (_queue.TryDequeue(out var key, out var priority))
            {
                if (!_pairCounts.TryGetValue(key, out var count) || count != priority.Count)
                    continue; // stale entry: the pair's count changed after it was queued
                Merge(key);
                return true;
            }
            return false;
        }

        private void Merge(long key)
        {
            var (left, right) = ((int)(key >> 32), (int)(key & 0xFFFFFFFF));
            var bytes = TokenBytes[left].Concat(TokenBytes[right]).ToArray();
            var spelled = ByteLevelAlphabet.Map(bytes);
            // Two merge paths can spell the same bytes ("ab"+"c", "a"+"bc"); like GPT-2 files, they share one token.
            if (!_idByBytes.TryGetValue(spelled, out var merged))
            {
                merged = TokenBytes.Count;
                TokenBytes.Add(bytes);
                _idByBytes.Add(spelled, merged);
            }
            Merges.Add((left, right));

            var delta = new Dictionary<long, long>();
            foreach (var w in _wordsWithPair[key])
                MergeInWord(w, left, right, merged, delta);
            _wordsWithPair.Remove(key);

            foreach (var (pair, change) in delta.OrderBy(d => d.Key))
            {
                if (change == 0)
                    continue;
                var count = _pairCounts.GetValueOrDefault(pair) + change;
                if (count <= 0)
                {
                    _pairCounts.Remove(pair);
                    continue;
                }
                _pairCounts[pair] = count;
                _queue.Enqueue(pair, (count, pair));
            }
        }

        private void MergeInWord(int w, int left, int right, int merged, Dictionary<long, long> delta)
        {
            var word = _words[w];
            var length = _lengths[w];
            if (!Contains(word, length, left, right))
                return; // the index is never pruned, so a word may no longer hold the pair
            var frequency = _frequencies[w];
            AddPairs(word, length, -frequency, delta);

            var write = 0;
            for (var read = 0; read < length; read++)
            {
                if (read + 1 < length && word[read] == left && word[read + 1] == right)
                {
                    word[write++] = merged;
                    read++;
                }
                else
                {
                    word[write++] = word[read];
                }
            }
            _lengths[w] = write;

            AddPairs(word, write, frequency, delta);
            for (var i = 0; i + 1 < write; i++)
            {
                if (word[i] == merged || word[i + 1] == merged)
                    Index(Key(word[i], word[i + 1]), w);
            }
        }

        private static bool Contains(int[] word, int length, int left, int right)
        {
            for (var i = 0; i + 1 < length; i++)
            {
                if (word[i] == left && word[i + 1] == right)
                    return true;
            }
            return false;
        }

        private static void AddPairs(int[] word, int length, long frequency, Dictionary<long, long> delta)
        {
            for (var i = 0; i + 1 < length; i++)
            {
                var key = Key(word[i], word[i + 1]);
                delta[key] = delta.GetValueOrDefault(key) + frequency;
            }
        }

        private void Index(long key, int w)
        {
            if (!_wordsWithPair.TryGetValue(key, out var list))
                _wordsWithPair[key] = list = new List<int>();
            if (list.Count == 0 || list[^1] != w)
                list.Add(w);
        }

        private static long Key(int left, int right) => ((long)left << 32) | (uint)right;
    }

    /// <summary>Highest count first; among equal counts the smaller pair key.</summary>
    private sealed class BestFirst : IComparer<(long Count, long Key)>
    {
        public static readonly BestFirst Instance = new();

        public int Compare((long Count, long Key) x, (long Count, long Key) y) =>
            x.Count != y.Count ? y.Count.CompareTo(x.Count) : x.Key.CompareTo(y.Key);
    }
}
