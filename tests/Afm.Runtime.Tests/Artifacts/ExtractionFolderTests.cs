using System.Diagnostics;
using Afm.Runtime.Artifacts;

namespace Afm.Runtime.Tests.Artifacts;

/// <summary>A killed run leaves its extraction folder behind; the next run removes it, and only folders whose owner is gone.</summary>
public sealed class ExtractionFolderTests : IDisposable
{
    private readonly string directory = Path.Combine(Path.GetTempPath(), "afm-runtime-tests", Guid.NewGuid().ToString("N")[..12]);

    [Fact]
    public void Opening_an_artifact_removes_the_folder_of_a_run_that_was_killed()
    {
        var stale = Path.Combine(Path.GetTempPath(), ExtractionFolder.NameFor(DeadProcess(), Guid.NewGuid()));
        Directory.CreateDirectory(Path.Combine(stale, "model"));
        File.WriteAllText(Path.Combine(stale, "model", "model.onnx"), "left behind");

        using (var artifact = VerifiedArtifact.Open(TestArtifact.Create(directory))) { }

        Assert.False(Directory.Exists(stale));
    }

    [Fact]
    public void The_folder_of_a_run_that_is_still_running_is_kept()
    {
        using var other = Process.Start(new ProcessStartInfo("sleep", "60"))!;
        var live = Path.Combine(Path.GetTempPath(), ExtractionFolder.NameFor(ExtractionFolder.Owner.Of(other), Guid.NewGuid()));
        Directory.CreateDirectory(live);
        try
        {
            using (var artifact = VerifiedArtifact.Open(TestArtifact.Create(directory))) { }
            Assert.True(Directory.Exists(live));
        }
        finally
        {
            other.Kill();
            Directory.Delete(live, true);
        }
    }

    [Fact]
    public void A_folder_whose_process_id_was_reused_by_a_later_process_counts_as_stale()
    {
        var me = ExtractionFolder.Owner.Of(Process.GetCurrentProcess());
        var reused = Path.Combine(Path.GetTempPath(), ExtractionFolder.NameFor(me with { StartedUnixMs = me.StartedUnixMs - 3_600_000 }, Guid.NewGuid()));
        Directory.CreateDirectory(reused);

        ExtractionFolder.RemoveStale();

        Assert.False(Directory.Exists(reused));
    }

    [Fact]
    public void A_verified_artifact_is_extracted_into_a_folder_named_for_this_process_and_removed_on_dispose()
    {
        var artifact = VerifiedArtifact.Open(TestArtifact.Create(directory));
        Assert.StartsWith(ExtractionFolder.Prefix + Environment.ProcessId + "-", Path.GetFileName(artifact.Directory));
        artifact.Dispose();
        Assert.False(Directory.Exists(artifact.Directory));
    }

    [Fact]
    public void Files_larger_than_the_free_space_of_the_temp_disk_are_AFM7012_before_anything_is_written()
    {
        var error = Assert.Throws<Afm.Core.Diagnostics.DiagnosticException>(() => ExtractionFolder.CheckRoom("big.afmpkg", 2_411_724_800, 1_000_000_000));
        Assert.Equal("AFM7012", error.Diagnostic.Code);
        Assert.Contains("needs 2,411,724,800 bytes", error.Message);
        ExtractionFolder.CheckRoom("big.afmpkg", 1_000, 1_000);
    }

    [Fact]
    public void Sizes_that_add_up_past_the_largest_number_saturate_instead_of_wrapping_to_a_small_total()
    {
        Assert.Equal(long.MaxValue, ExtractionFolder.Total([1L << 62, 1L << 62]));
        Assert.Equal(3, ExtractionFolder.Total([1, 2]));
    }

    private static ExtractionFolder.Owner DeadProcess()
    {
        using var process = Process.Start(new ProcessStartInfo("sleep", "60"))!;
        var owner = ExtractionFolder.Owner.Of(process);
        process.Kill();
        process.WaitForExit();
        return owner;
    }

    public void Dispose()
    {
        try { Directory.Delete(directory, true); } catch (IOException) { }
    }
}
