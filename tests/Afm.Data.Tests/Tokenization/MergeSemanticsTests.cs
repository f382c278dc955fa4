using System.Text.Json;
using Afm.Tokenizers;

namespace Afm.Data.Tests.Tokenization;

/// <summary>
/// The saved files mean what the trainer meant: Microsoft.ML.Tokenizers, reading vocab.json and merges.txt,
/// segments every word exactly as applying the learned merges one after another (the trainer's view) does.
/// </summary>
public sealed class MergeSemanticsTests(TokenizerFixture fixture) : IClassFixture<TokenizerFixture>
{
    [Fact]
    public void The_runtime_segments_words_exactly_as_the_merges_were_learned()
    {
        var vocab = JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(Path.Combine(fixture.Directory, "vocab.json")))!;
        var merges = File.ReadLines(Path.Combine(fixture.Directory, "merges.txt")).Skip(1).Select(l => l.Split(' ')).ToList();
        var splitter = new UnicodeRegexSplitter(fixture.Tokenizer.Manifest!.PreTokenizerPattern);
        var words = TokenizerFixture.TrainingText().Take(60).SelectMany(t => splitter.Split(t).Select(p => t.Substring(p.Offset, p.Length))).Distinct().ToList();

        foreach (var word in words)
        {
            var expected = ApplyMergesInOrder(word, merges).Select(s => vocab[s]).ToList();
            Assert.Equal(expected, fixture.Tokenizer.Encode(word));
        }
    }

    private static List<string> ApplyMergesInOrder(string word, List<string[]> merges)
    {
        var symbols = System.Text.Encoding.UTF8.GetBytes(word).Select(b => Spell(b)).ToList();
        foreach (var merge in merges)
        {
            for (var i = 0; i + 1 < symbols.Count; i++)
            {
                if (symbols[i] == merge[0] && symbols[i + 1] == merge[1])
                {
                    symbols[i] += symbols[i + 1];
                    symbols.RemoveAt(i + 1);
                }
            }
        }
        return symbols;
    }

    // GPT-2's byte-to-character table, written out independently of the code under test.
    private static string Spell(byte b)
    {
        var shifted = 0;
        for (var x = 0; x < b; x++)
        {
            if (!IsPrintable(x))
                shifted++;
        }
        return IsPrintable(b) ? ((char)b).ToString() : ((char)(256 + shifted)).ToString();
    }

    private static bool IsPrintable(int b) => (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
}
