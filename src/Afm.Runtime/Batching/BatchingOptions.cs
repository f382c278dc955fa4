namespace Afm.Runtime.Batching;

/// <summary>How decode steps of concurrent generations are joined into one run (<see cref="DecodeBatcher"/>).</summary>
public sealed record BatchingOptions
{
    /// <summary>The most sequences one run decodes. 1 still runs each step through the batcher, one per run.</summary>
    public int MaxBatchSize { get; init; } = 8;
    /// <summary>
    /// How long a waiting step may wait for the other members of its adapter group to submit theirs before the run starts
    /// without them. Members normally resubmit within microseconds (sample, stream a chunk); this bounds what a slow
    /// reader costs the others.
    /// </summary>
    public TimeSpan MaxWait { get; init; } = TimeSpan.FromMilliseconds(2);
}
