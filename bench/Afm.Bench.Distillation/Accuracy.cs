using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Bench.Distillation;

/// <summary>
/// Next-token top-1 accuracy on the sequences validation loss uses (the first 512): distillation to the teacher's
/// top-1 targets accuracy, which cross-entropy alone does not show (a student trained towards hard top-1 targets is
/// confidently wrong where the teacher is, which costs loss more than accuracy).
/// </summary>
internal static class Accuracy
{
    public static double TopOne(ArchitectureSpec architecture, string weightsPath, IPackedSequences validation, int maxSequences = 512)
    {
        using var model = Trainer.LoadModel(architecture, weightsPath);
        long count = Math.Min(maxSequences, validation.Count), correct = 0, total = 0;
        int length = validation.SequenceLength, batch = 16;
        var buffer = new int[batch * (length + 1)];
        using var noGrad = no_grad();
        for (long start = 0; start < count; start += batch)
        {
            using var scope = NewDisposeScope();
            int n = (int)Math.Min(batch, count - start);
            for (int b = 0; b < n; b++) validation.Read(start + b, buffer.AsSpan(b * (length + 1), length + 1));
            var tokens = tensor(buffer, [batch, length + 1]).narrow(0, 0, n).to_type(ScalarType.Int64);
            var predicted = model.forward(tokens.narrow(1, 0, length)).argmax(-1);
            correct += predicted.eq(tokens.narrow(1, 1, length)).sum().item<long>();
            total += n * (long)length;
        }
        return (double)correct / total;
    }
}
