using Afm.Evaluation.Reports;

namespace Afm.Evaluation.Tests;

/// <summary>A committed evaluation baseline is a file the user names: one that is no report is null (AFM-coded by the gate), never read whole when huge.</summary>
public sealed class EvaluationReportFileTests
{
    [Fact]
    public void A_baseline_of_gigabytes_or_a_device_that_never_ends_is_no_report()
    {
        using var files = new TaskFiles();
        var huge = Path.Combine(files.Directory, "evaluation.json");
        using (var stream = File.Create(huge)) stream.SetLength(4L << 30); // sparse: 4 GiB
        Assert.Null(EvaluationReport.TryLoad(huge));
        Assert.Null(EvaluationReport.TryLoad("/dev/zero"));
    }
}
