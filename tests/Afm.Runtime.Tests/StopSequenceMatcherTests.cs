using Afm.Runtime.Generation;

namespace Afm.Runtime.Tests;

public sealed class StopSequenceMatcherTests
{
    [Fact]
    public void The_earliest_complete_stop_sequence_is_found() =>
        Assert.Equal(3, new StopSequenceMatcher(["END", "x."]).FindStop("abcx.dEND"));

    [Fact]
    public void Text_that_may_start_a_stop_sequence_is_held_back() =>
        Assert.Equal(5, new StopSequenceMatcher(["\n\nQ:"]).SafeLength("hello\n\n"));

    [Fact]
    public void Without_stop_sequences_everything_is_safe() =>
        Assert.Equal(5, new StopSequenceMatcher([]).SafeLength("hello"));
}
