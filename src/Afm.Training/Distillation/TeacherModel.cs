using System.Security.Cryptography;
using Afm.Core.Spec;
using Afm.Training.Model;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Distillation;

/// <summary>What the train stage knows of a built teacher: its spec item, architecture and trained weights.</summary>
public sealed record TeacherSource(TeacherSpec Spec, ArchitectureSpec Architecture, string WeightsPath);

/// <summary>
/// A trained teacher held in the training process, in eval mode: gives its part of the distillation target for a
/// batch (top-1 next token or logits) without building a graph. Its outputs are a deterministic function of the batch (no dropout, no random state), so a
/// resumed stage sees the same targets as an uninterrupted one.
/// </summary>
public sealed class TeacherModel : IDisposable
{
    private TeacherModel(TeacherSource source, AfmDecoder model, string weightsSha256)
    {
        Source = source;
        Model = model;
        WeightsSha256 = weightsSha256;
    }

    public TeacherSource Source { get; }
    public AfmDecoder Model { get; }
    public double Weight => Source.Spec.Weight;
    /// <summary>SHA-256 of the teacher's weights file: part of every student stage's fingerprint.</summary>
    public string WeightsSha256 { get; }

    /// <summary>What the student's result depends on: a changed teacher (weights, weight, pruning) retrains the student.</summary>
    /// Top-1 targets keep the facts they had before soft targets existed, so students built then keep their checkpoints.
    public object FingerprintFacts => Source.Spec.Distill == DistillTarget.Top1
        ? new { WeightsSha256, Source.Spec.Weight, Source.Spec.Init, Source.Architecture }
        : new { WeightsSha256, Source.Spec.Weight, Source.Spec.Init, Source.Architecture, Target = Source.Spec.Distill.ToString(), Source.Spec.Temperature };

    public static TeacherModel Load(TeacherSource source)
    {
        string hash;
        using (var stream = File.OpenRead(source.WeightsPath)) hash = Convert.ToHexStringLower(SHA256.HashData(stream));
        return new TeacherModel(source, Trainer.LoadModel(source.Architecture, source.WeightsPath), hash);
    }

    /// <summary>input ids [batch, time] -> the teacher's most likely next token [batch, time] (int64).</summary>
    public Tensor Top1(Tensor inputIds)
    {
        using var noGrad = no_grad();
        return Model.forward(inputIds).argmax(-1);
    }

    /// <summary>What the student is trained towards, for progress lines.</summary>
    public string TargetDescription => Source.Spec.Distill == DistillTarget.Distribution
        ? FormattableString.Invariant($"distilling towards the teacher's distribution at temperature {Source.Spec.Temperature:0.###} (weight {Weight:0.###})")
        : FormattableString.Invariant($"distilling towards the teacher's top-1 (weight {Weight:0.###})");

    /// <summary>input ids [batch, time] -> the teacher's next-token logits [batch, time, vocab].</summary>
    public Tensor Logits(Tensor inputIds)
    {
        using var noGrad = no_grad();
        return Model.forward(inputIds);
    }

    /// <summary>The student's training loss on this batch with this teacher's target (Distillation/DistillationLoss.cs).</summary>
    /// <param name="targets">[batch, time] true next tokens, <see cref="MaskedLoss.IgnoreIndex"/> where none is taken.</param>
    public Tensor Loss(Tensor studentLogits, Tensor targets, Tensor inputIds) => Source.Spec.Distill switch
    {
        DistillTarget.Distribution => DistillationLoss.SoftLoss(studentLogits, targets, Logits(inputIds), Weight, Source.Spec.Temperature).Loss,
        _ => DistillationLoss.Loss(studentLogits, targets, Top1(inputIds), Weight).Loss,
    };

    public void Dispose() => Model.Dispose();
}
