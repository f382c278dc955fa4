using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>
/// The README's main job builds samples/tiny-afm, and the README names what it ships (a palettized model, the phone-npu
/// profile, the recovery-r16 and summarize adapters that `afm run --adapter` selects). Building it takes minutes, so
/// this checks the project itself: it reads without a diagnostic and declares those items under those names.
/// </summary>
public sealed class SampleProjectTests
{
    [Fact]
    public void The_sample_reads_cleanly_and_declares_the_plan_device_and_adapters_the_README_names()
    {
        var result = ProjectSpecReader.Read(FakeSdkEvaluation.Evaluate(SampleProject()));

        Assert.Empty(result.Diagnostics);
        var spec = Assert.IsType<ModelSpec>(result.Spec);
        Assert.Equal(QuantizationMethod.Palettize, Assert.IsType<QuantizationPlanSpec>(spec.Quantization).Method);
        Assert.Equal(["phone-npu"], spec.Devices.Select(d => d.Name));
        Assert.Equal([("recovery-r16", AdapterKind.AccuracyRecovery, (string?)null), ("summarize", AdapterKind.Feature, "recovery-r16")],
            spec.Adapters.Select(a => (a.Name, a.Kind, a.InitFrom)));
        Assert.Equal([("capitals", EvalTaskKind.MultipleChoice, (string?)null), ("summaries", EvalTaskKind.Generate, "summarize"), ("heldout", EvalTaskKind.Perplexity, null)],
            spec.EvalTasks.Select(t => (t.Name, t.Kind, t.Adapter)));
    }

    private static string SampleProject()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
            if (File.Exists(Path.Combine(directory.FullName, "AfmToolchain.sln")))
                return Path.Combine(directory.FullName, "samples", "tiny-afm", "tiny-afm.afmproj");
        throw new InvalidOperationException("The tests run outside the AfmToolchain repository.");
    }
}
