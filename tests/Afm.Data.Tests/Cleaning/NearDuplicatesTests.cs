using Afm.Data.Cleaning;

namespace Afm.Data.Tests.Cleaning;

public sealed class NearDuplicatesTests
{
    /// <summary>A ~100-word text whose words are all different, from a fixed seed.</summary>
    private static string Text(int seed, int words = 100)
    {
        var state = (uint)seed * 2654435761u + 12345;
        return string.Join(' ', Enumerable.Range(0, words).Select(_ =>
        {
            state = state * 1664525u + 1013904223u;
            return "w" + (state >> 12).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }));
    }

    private static string ChangeWord(string text, int index)
    {
        var words = text.Split(' ');
        words[index] = "changed";
        return string.Join(' ', words);
    }

    private static List<(int Removed, int Of, double Similarity)> Find(double threshold, int threads, params string[] texts) =>
        NearDuplicates.Find(texts.Select(WordHashes.Of).ToList(), texts.Select(_ => threshold).ToList(), threads);

    [Fact]
    public void A_copy_with_one_word_changed_is_a_near_duplicate_of_the_first()
    {
        var original = Text(1);
        var removed = Find(0.8, 2, original, Text(2), ChangeWord(original, 50));
        var (index, of, similarity) = Assert.Single(removed);
        Assert.Equal((2, 0), (index, of));
        Assert.InRange(similarity, 0.8, 1.0);
    }

    [Fact]
    public void Unrelated_documents_are_all_kept()
    {
        Assert.Empty(Find(0.8, 2, Enumerable.Range(0, 50).Select(i => Text(i)).ToArray()));
    }

    [Fact]
    public void Documents_that_share_half_their_text_are_kept_at_threshold_0_8_and_removed_at_0_2()
    {
        var a = Text(1);
        var b = string.Join(' ', a.Split(' ').Take(50).Concat(Text(2).Split(' ').Take(50)));
        Assert.Empty(Find(0.8, 1, a, b));
        Assert.Single(Find(0.2, 1, a, b)); // Jaccard 46/146 = 0.32
    }

    [Fact]
    public void Case_and_punctuation_do_not_hide_a_near_duplicate()
    {
        var original = Text(3);
        var shouted = ChangeWord(original, 10).ToUpperInvariant().Replace(" ", ", ");
        Assert.Single(Find(0.8, 1, original, shouted));
    }

    [Fact]
    public void The_result_does_not_depend_on_the_thread_count()
    {
        var texts = Enumerable.Range(0, 40).Select(i => i % 3 == 0 ? ChangeWord(Text(i / 3 * 3), 20 + i % 7) : Text(i)).ToArray();
        Assert.Equal(Find(0.8, 1, texts), Find(0.8, 4, texts));
    }

    [Fact]
    public void Documents_without_words_are_never_near_duplicates()
    {
        Assert.Empty(Find(0.8, 1, "", "!!! ???", "", "..."));
    }

    [Theory]
    [InlineData(0.5)]
    [InlineData(0.8)]
    [InlineData(0.95)]
    public void Banding_puts_the_s_curve_threshold_at_or_below_the_similarity_threshold(double threshold)
    {
        var (bands, rows) = MinHash.Banding(threshold);
        Assert.True(bands * rows <= MinHash.Permutations);
        // (1/b)^(1/r) approximates where the chance of becoming a candidate pair crosses one half.
        Assert.InRange(Math.Pow(1.0 / bands, 1.0 / rows), threshold - 0.25, threshold + 0.02);
    }
}
