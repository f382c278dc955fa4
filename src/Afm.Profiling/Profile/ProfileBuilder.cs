using Afm.Core.Spec;
using Afm.Profiling.Formats;
using Afm.Profiling.Model;

namespace Afm.Profiling.Profile;

/// <summary>Costs every op of a model on one device for both phases and every standard format.</summary>
public static class ProfileBuilder
{
    /// <summary>The palettization group size when the project has no quantization plan (the AFM plan's default).</summary>
    public const int DefaultGroupSize = 16;
    /// <summary>Default prompt of the prefill workload, capped by the model's context.</summary>
    public const int DefaultPromptTokens = 128;

    public static ProfileWorkload WorkloadFor(ModelSpec spec, DeviceProfileSpec device) => new(
        device.PromptTokens ?? Math.Min(DefaultPromptTokens, spec.Architecture.MaxSequenceLength),
        device.ContextTokens ?? spec.Architecture.MaxSequenceLength,
        spec.Quantization?.GroupSize ?? DefaultGroupSize,
        device.ActivationBytes);

    /// <param name="form">The graph the project exports (<see cref="GraphForm.Of"/>; null: float, standard operators): its ops and
    /// kernels are costed, and a graph that runs weights resident also tabulates the MatMulNBits formats.</param>
    public static ProfileDocument Build(string modelName, ArchitectureSpec arch, DeviceProfileSpec device, ProfileWorkload workload,
        CalibrationInfo? calibration = null, GraphForm? form = null)
    {
        form ??= GraphForm.Float;
        var formats = form.Resident ? [.. WeightFormat.Standard, .. WeightFormat.Resident] : WeightFormat.Standard;
        var phases = new[] { Phase.Prefill, Phase.Decode };
        var perPhase = phases.ToDictionary(p => p, p =>
        {
            var (tokens, keys) = DecoderOpCosts.Workload(p, workload.PromptTokens, workload.ContextTokens);
            return DecoderOpCosts.For(arch, tokens, keys, workload.ActivationBytes, form: form);
        });
        var ops = perPhase[Phase.Prefill].Select((op, i) =>
        {
            var costs = phases.ToDictionary(ProfiledOp.PhaseKey, p =>
            {
                var phaseOp = perPhase[p][i];
                IReadOnlyDictionary<string, OpCost> byFormat = phaseOp.HasWeight
                    ? formats.ToDictionary(f => f.Name, f => CostModel.Cost(phaseOp, f, device, workload.GroupSize))
                    : new Dictionary<string, OpCost> { [ProfiledOp.AnyFormat] = CostModel.Cost(phaseOp, WeightFormat.Fp32, device, workload.GroupSize) };
                return byFormat;
            });
            return new ProfiledOp(op.Name, op.Kind, op.Layer, op.Group, op.Kernels, costs);
        }).ToList();
        var baseline = device.ComputeType == ComputeType.Fp16 ? WeightFormat.Fp16 : WeightFormat.Fp32;
        return new ProfileDocument(modelName, device, calibration, workload, formats.Select(f => f.Name).ToList(), baseline.Name, ops);
    }
}
