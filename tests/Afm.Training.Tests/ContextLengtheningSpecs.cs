using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Stages;

namespace Afm.Training.Tests;

public sealed class ContextLengtheningSpecs
{
    [Fact]
    public void A_stage_reports_the_incoming_weights_validation_loss_at_step_zero()
    {
        var report = Trainer.Train(MicroModels.Spec(null, MicroModels.Stage(steps: 10, evalEvery: 5)), MicroModels.CountingData(), MicroModels.TempDirectory());
        var curve = report.Stages[0].ValidationCurve;
        Assert.Equal([0L, 5L, 10L], curve.Select(p => p.Step));
        Assert.InRange(curve[0].Loss, Math.Log(16) - 1, Math.Log(16) + 1); // an untrained model: about uniform
    }

    [Fact]
    public void Context_lengthening_at_4x_the_length_with_a_larger_rope_base_lowers_the_long_validation_loss()
    {
        // core at 16 tokens, base 10k; context at 64 tokens, base 6,315,089. The context stage's step-0 point is the
        // core checkpoint evaluated at 64 tokens.
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 40),
            MicroModels.Stage("context", steps: 20, length: 64, batch: 4, lr: 3e-3, ropeBase: 6315089, evalEvery: 10));
        Func<string, string, IPackedSequences> data = (stage, split) =>
            new CountingSequences(stage == "context" ? 64 : 16, split == "train" ? 256 : 32, 16, split == "train" ? 1 : 7);

        var report = Trainer.Train(spec, data, MicroModels.TempDirectory());

        var context = report.Stages[1];
        Assert.Equal(64, context.SequenceLength);
        Assert.Equal(6315089, context.RopeBase);
        Assert.True(context.ValidationCurve[^1].Loss < context.ValidationCurve[0].Loss,
            $"long-context validation loss before {context.ValidationCurve[0].Loss}, after {context.ValidationCurve[^1].Loss}");
    }
}
