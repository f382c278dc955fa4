using Afm.Core.Spec;

namespace Afm.Cli.Compilation;

/// <summary>
/// The spec as it goes into an artifact: paths relative to the project and no source locations, so the
/// artifact does not depend on where the project was checked out.
/// </summary>
public static class PortableSpec
{
    public static ModelSpec From(ModelSpec spec)
    {
        var projectDirectory = Path.GetDirectoryName(spec.ProjectPath)!;
        string Relative(string path) => Path.GetRelativePath(projectDirectory, path).Replace('\\', '/');
        return spec with
        {
            ProjectPath = Path.GetFileName(spec.ProjectPath),
            Tokenizer = spec.Tokenizer with { Location = null },
            Corpora = spec.Corpora.Select(c => c with { Files = c.Files.Select(Relative).ToList(), Location = null }).ToList(),
            EvalSets = spec.EvalSets.Select(e => e with { Files = e.Files.Select(Relative).ToList(), Location = null }).ToList(),
            Stages = spec.Stages.Select(s => s with { Location = null }).ToList(),
            Quantization = spec.Quantization is null ? null
                : spec.Quantization with { Location = null, TargetLocation = null, MaxWeightBytesLocation = null, MaxLatencyMsLocation = null, MaxEnergyMjLocation = null },
            Teacher = spec.Teacher is null ? null
                : spec.Teacher with { ProjectPath = Relative(spec.Teacher.ProjectPath), Location = null, InitLocation = null },
        };
    }
}
