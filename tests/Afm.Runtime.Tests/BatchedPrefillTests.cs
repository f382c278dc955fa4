using Afm.Runtime.Sessions;

namespace Afm.Runtime.Tests;

/// <summary>
/// Padded multi-token batches against each row run alone by <see cref="DecoderSession.Forward(long[], KvCache, Microsoft.ML.OnnxRuntime.OrtLoraAdapter?, int)"/>
/// on the test artifact's real (standard) graph, every position's logits compared.
/// </summary>
public sealed class BatchedPrefillTests(ArtifactFixture fixture) : IClassFixture<ArtifactFixture>
{
    private DecoderSession Session => fixture.Model.Session;

    private long[] Ids(string text) => fixture.Model.Generator.Tokenize(text).Select(i => (long)i).ToArray();

    private float[] Alone(long[] prefix, long[] row)
    {
        using var cache = Session.NewCache();
        if (prefix.Length > 0) Session.Forward(prefix, cache);
        return Session.Forward(row, cache, null, row.Length);
    }

    private static void AssertClose(float[] expected, float[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        double worst = expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max();
        Assert.True(worst < 1e-4, $"largest difference {worst}");
    }

    [Fact]
    public void Rows_of_different_lengths_from_the_start_get_the_logits_each_gets_alone()
    {
        long[][] rows = [Ids("Ada"), Ids("Bo reads a green book by the lamp."), Ids("The kite is red.")];
        var batched = BatchedPrefill.Run(Session, rows, prefix: null, adapter: null);
        for (int b = 0; b < rows.Length; b++) AssertClose(Alone([], rows[b]), batched[b]);
    }

    [Fact]
    public void Rows_after_a_shared_prefix_get_the_logits_each_gets_after_that_prefix_alone()
    {
        var prefix = Ids("The capital of Veniselia is");
        long[][] rows = [[5, 9, 11], [7], [3, 4, 5, 6, 7, 8]];
        using var cache = Session.NewCache();
        Session.Forward(prefix, cache);
        var batched = BatchedPrefill.Run(Session, rows, cache, adapter: null);
        Assert.Equal(prefix.Length, cache.Length);
        for (int b = 0; b < rows.Length; b++) AssertClose(Alone(prefix, rows[b]), batched[b]);
    }

    [Fact]
    public void A_batch_beyond_the_context_is_refused()
    {
        long[][] rows = [new long[Session.MaxSequenceLength + 1]];
        Assert.Throws<ArgumentException>(() => BatchedPrefill.Run(Session, rows, null, null));
    }
}
