namespace Afm.Compression.Tests;

/// <summary>The report snapshots' comparison tolerates CPU drift in the last digits and nothing else.</summary>
public sealed class ReportSnapshotTests
{
    private const string Report = "| layers.0.q_proj | 4 | 0.69621 | 2.0061 | -0.00030 |";

    [Fact]
    public void Drift_in_the_last_digits_agrees() =>
        Assert.True(ReportSnapshot.Agree(Report, "| layers.0.q_proj | 4 | 0.69624 | 2.0062 | -0.00075 |", out _));

    [Theory]
    [InlineData("| layers.0.q_proj | 2 | 0.69621 | 2.0061 | -0.00030 |")]  // a decision (bits) changed
    [InlineData("| layers.0.k_proj | 4 | 0.69621 | 2.0061 | -0.00030 |")]  // a name changed
    [InlineData("| layers.0.q_proj | 4 | 0.70621 | 2.0061 | -0.00030 |")]  // a measurement moved by 1.4%
    [InlineData("| layers.0.q_proj | 4 | 0.69621 | 2.0061 |")]            // a column went missing
    public void Any_other_change_does_not(string actual) =>
        Assert.False(ReportSnapshot.Agree(Report, actual, out _));
}
