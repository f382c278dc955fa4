using System.CommandLine;
using Afm.Cli.Compilation;
using Afm.Core.IO;
using Afm.Core.Spec;
using Afm.Core.Artifacts;

namespace Afm.Cli.Commands;

/// <summary>
/// <c>afm validate</c>: project snapshot -> spec.json plus one fingerprint per stage, or diagnostics.
/// Writes the stamp last: it is this stage's declared output, so a failed validation re-runs next build.
/// </summary>
internal static class ValidateCommand
{

    public static Command Create()
    {
        var snapshot = StageOptions.Required("--snapshot", "The project snapshot the SDK wrote.").ExistingFile();
        var output = StageOptions.Out("Folder for spec.json, the stage fingerprints and validate.stamp.");
        var command = new Command("validate", "Check an .afmproj and resolve it into a typed spec.") { snapshot, output };
        command.SetAction(result => CompilerRun.Guard(() => Run(result.GetValue(snapshot)!, result.GetValue(output)!)));
        return command;
    }

    private static int Run(string snapshotPath, string outputDirectory)
    {
        var snapshot = InputFile.Load(snapshotPath, "project snapshot written by the SDK", InputFile.NotWhatItShouldBe, ProjectSnapshot.Load);
        var result = ProjectSpecReader.Read(snapshot, new Afm.Interchange.HuggingFace.HfBaseModelFormat());
        foreach (var diagnostic in result.Diagnostics)
            CompilerOutput.Report(diagnostic);
        if (result.Spec is null)
            return 1;

        Directory.CreateDirectory(outputDirectory);
        AtomicOutput.WriteAllTextIfChanged(Path.Combine(outputDirectory, StageLayout.Spec.File), SpecFile.Serialize(result.Spec));
        StageFingerprints.Write(result.Spec, outputDirectory);
        // The files validate read besides the snapshot (the BaseModel's): the SDK reads them back as Inputs of validate,
        // so an edited or replaced checkpoint is hashed again and re-runs every stage whose fingerprint names it.
        // The project's chat template too: a removed or edited one is checked again (AFM1658) before the package stage reads it.
        AtomicOutput.WriteAllTextIfChanged(Path.Combine(outputDirectory, StageLayout.Spec.ValidateInputs),
            string.Concat((result.Spec.BaseModel?.Files.Select(f => Path.Combine(result.Spec.BaseModel.Folder, f.Path)) ?? [])
                .Concat(result.Spec.ChatTemplate is { } template ? [template.Path] : []).Select(f => f + "\n")));
        AtomicOutput.WriteAllText(Path.Combine(outputDirectory, StageLayout.Spec.ValidateStamp), "");
        CompilerOutput.Progress($"validate: {result.Spec.Name} {result.Spec.Version} — {result.Spec.TrainingStages.Count} training stage(s), " +
                                $"{result.Spec.Corpora.Count} corpus/corpora");
        return 0;
    }
}
