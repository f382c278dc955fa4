using Afm.Core.Spec;
using Afm.Training.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Afm.Training.Distillation;

/// <summary>
/// Initializes a student from its teacher by structured pruning of the SwiGLU hidden width (AFM on-device recipe).
/// Criterion, per layer and hidden unit j: <c>mean over calibration tokens |silu(gate_j . x) x (up_j . x)| x
/// ||down[:, j]||_2</c> — the average magnitude of what the unit writes into the residual stream. The student's
/// FFN width best units of each layer (its own width under layer-wise scaling) are kept in their original order; every
/// other weight is copied unchanged.
/// </summary>
public static class FfnPruning
{
    /// <summary>Calibration sequences the importance is averaged over (the first ones of the first stage).</summary>
    public const int CalibrationSequences = 32;

    /// <summary>Why the student's shapes cannot be pruned from the teacher's, or null when they can.</summary>
    /// <remarks>
    /// Layer by layer: every layer keeps the teacher's head counts and narrows its own FFN width to at most the
    /// teacher's width of that layer, so per-layer shapes (layer-wise scaling) prune as uniform ones do.
    /// </remarks>
    public static string? Incompatibility(ArchitectureSpec teacher, ArchitectureSpec student)
    {
        var differences = new List<string>();
        void Check<T>(string name, T t, T s) { if (!EqualityComparer<T>.Default.Equals(t, s)) differences.Add($"{name} {s} (teacher {t})"); }
        Check("ModelDim", teacher.ModelDim, student.ModelDim);
        Check("Layers", teacher.Layers, student.Layers);
        Check("head dimension", teacher.HeadDim, student.HeadDim);
        Check("vocabulary", teacher.VocabSize, student.VocabSize);
        Check("TieEmbeddings", teacher.TieEmbeddings, student.TieEmbeddings);
        Check("QkNorm", teacher.QkNorm, student.QkNorm);
        Check("AttentionBias", teacher.AttentionBias, student.AttentionBias);
        if (differences.Count == 0)
        {
            bool perLayer = teacher.LayerShapes is not null || student.LayerShapes is not null;
            // A uniform pair is one layer's comparison, said once.
            for (int i = 0; i < (perLayer ? student.Layers : 1); i++)
            {
                LayerShape t = teacher.Layer(i), s = student.Layer(i);
                string at = perLayer ? $" of layer {i}" : "";
                Check("Heads" + at, t.Heads, s.Heads);
                Check("KvHeads" + at, t.KvHeads, s.KvHeads);
                if (s.FfnDim > t.FfnDim) differences.Add($"FfnDim{at} {s.FfnDim} is larger than the teacher's {t.FfnDim}");
            }
        }
        return differences.Count == 0 ? null
            : "pruning keeps the teacher's shapes except the FFN hidden width, but the student has " + string.Join(", ", differences);
    }

    /// <summary>Importance [layer][unit] of every teacher hidden unit over <paramref name="calibrationInputs"/> [batch, time].</summary>
    public static float[][] Importance(AfmDecoder teacher, Tensor calibrationInputs)
    {
        var blocks = Blocks(teacher);
        var scores = new float[blocks.Count][];
        var removers = new List<Action>();
        bool wasTraining = teacher.training;
        teacher.eval();
        try
        {
            using var noGrad = no_grad();
            using var scope = NewDisposeScope();
            for (int i = 0; i < blocks.Count; i++)
            {
                int layer = i;
                var mlp = blocks[i].Mlp;
                // The MLP's input is only visible inside the block's forward: observe it there.
                mlp.InputObserver = x =>
                {
                    var (gate, up, down) = Projections(mlp);
                    var hidden = nn.functional.silu(nn.functional.linear(x, gate)) * nn.functional.linear(x, up);
                    var meanMagnitude = hidden.abs().reshape(-1, hidden.shape[^1]).mean([0]);
                    var outNorm = down.norm(0, keepdim: false, p: 2);
                    scores[layer] = (meanMagnitude * outNorm).to_type(ScalarType.Float32).data<float>().ToArray();
                };
                removers.Add(() => mlp.InputObserver = null);
            }
            teacher.forward(calibrationInputs);
        }
        finally
        {
            foreach (var remove in removers) remove();
            if (wasTraining) teacher.train();
        }
        return scores;
    }

    /// <summary>The <paramref name="keep"/> highest scores' indices in ascending order (ties: the lower index first).</summary>
    public static int[] Select(float[] scores, int keep) =>
        Enumerable.Range(0, scores.Length).OrderByDescending(j => scores[j]).ThenBy(j => j).Take(keep).Order().ToArray();

    /// <summary>
    /// Copies the teacher's weights into the student: gate/up rows and down columns of the kept units of each layer,
    /// everything else as is. Returns the kept units per layer.
    /// </summary>
    public static int[][] Apply(AfmDecoder teacher, AfmDecoder student, float[][] importance)
    {
        var teacherBlocks = Blocks(teacher);
        var studentBlocks = Blocks(student);
        var kept = importance.Select((s, layer) => Select(s, student.Architecture.Layer(layer).FfnDim)).ToArray();
        var teacherParameters = teacher.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        using var noGrad = no_grad();
        using var scope = NewDisposeScope();
        foreach (var (name, parameter) in student.named_parameters())
        {
            if (name.Contains(".mlp.", StringComparison.Ordinal) && name.EndsWith("_proj.weight", StringComparison.Ordinal)) continue;
            parameter.copy_(teacherParameters[name]);
        }
        for (int layer = 0; layer < teacherBlocks.Count; layer++)
        {
            var units = tensor(kept[layer].Select(j => (long)j).ToArray());
            var (tGate, tUp, tDown) = Projections(teacherBlocks[layer].Mlp);
            var (sGate, sUp, sDown) = Projections(studentBlocks[layer].Mlp);
            sGate.copy_(tGate.index_select(0, units));
            sUp.copy_(tUp.index_select(0, units));
            sDown.copy_(tDown.index_select(1, units));
        }
        return kept;
    }

    private static List<DecoderBlock> Blocks(AfmDecoder model) =>
        model.modules().OfType<DecoderBlock>().ToList();

    private static (Tensor Gate, Tensor Up, Tensor Down) Projections(SwiGluMlp mlp)
    {
        var p = mlp.named_parameters().ToDictionary(x => x.name, x => (Tensor)x.parameter);
        return (p["gate_proj.weight"], p["up_proj.weight"], p["down_proj.weight"]);
    }
}
