using Afm.Data.Cleaning;

namespace Afm.Data.Tests.Cleaning;

public sealed class WordHashesTests
{
    private const ulong PinnedAfm = 10950844526078095198UL;

    [Fact]
    public void Words_are_runs_of_letters_and_digits_lower_cased()
    {
        Assert.Equal(["mira", "s", "3", "cafés", "42b"], WordHashes.Words("Mira's 3 CAFÉS -- 42b!"));
        Assert.Equal(WordHashes.Of("mira s 3 cafés 42b"), WordHashes.Of("Mira's 3 CAFÉS -- 42b!"));
    }

    [Fact]
    public void Hashes_are_the_same_in_every_run()
    {
        // A pinned value: if it changes, every project drops different documents, and the data stage re-runs.
        Assert.Equal(PinnedAfm, WordHashes.Of("AFM")[0]);
        Assert.Equal(WordHashes.Of("hello world"), WordHashes.Of("Hello,   world."));
        Assert.NotEqual(WordHashes.Of("hello world"), WordHashes.Of("world hello"));
    }
}
