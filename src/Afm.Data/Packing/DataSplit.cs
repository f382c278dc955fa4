namespace Afm.Data.Packing;

/// <summary>
/// The two splits of every stage's packed data (specs/data-pipeline.md). One name each, from the data stage's shard
/// files and index.json to the trainer, quantizer and adapters that open them: "validation" and "valid" both meant
/// the second, and each reader mapped one onto the other.
/// </summary>
public static class DataSplit
{
    public const string Train = "train";
    /// <summary>The held-out split; "valid" is the name on disk (shard files, the <c>valid</c> key of index.json).</summary>
    public const string Validation = "valid";
}
