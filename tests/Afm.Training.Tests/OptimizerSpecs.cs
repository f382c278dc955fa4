using Afm.Training.Optimization;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

public sealed class OptimizerSpecs
{
    private static readonly double[] Start = [1.0, -2.0, 0.5, 3.0];

    /// <summary>Sets the gradient of <paramref name="p"/> to <paramref name="g"/> through autograd (d(sum(p*g))/dp = g).</summary>
    private static void SetGradient(Parameter p, double[] g)
    {
        p.grad?.zero_();
        using var scope = NewDisposeScope();
        (p * tensor(g, float64).reshape(2, 2)).sum().backward();
    }

    private static double[] Values(Tensor t) => t.data<double>().ToArray();

    [Fact]
    public void The_afm_optimizer_matches_two_hand_computed_steps()
    {
        // By hand, weight decay 0.01, peak lr 0.2:
        // step 1, g = [0.5, -0.25, 0.1, 0], lr 0.1: v = 0.05 g^2, bias-corrected v = g^2, so u = sign(g) = [1, -1, 1, 0];
        //   ||u|| = sqrt(3) > 1 -> u = [1, -1, 1, 0]/sqrt(3); m = 0.05 u (no bias correction);
        //   p = p * (1 - 0.01 * 0.1/0.2) - 0.1 m = [0.99211325, -1.98711325, 0.49461325, 2.985].
        // step 2, g = [0.1, 0.3, 0.1, 2], lr 0.2: v = 0.95 v + 0.05 g^2 = [0.012375, 0.00746875, 0.000975, 0.2], / (1 - 0.95^2);
        //   u = g / sqrt(that) = [0.28070, 1.08393, 1.0, 1.39642], ||u|| = 2.05030 -> u = [0.13690, 0.52867, 0.48774, 0.68109];
        //   m = 0.95 m + 0.05 u; p = p * (1 - 0.01) - 0.2 m.
        using var p = new Parameter(tensor(Start, float64).reshape(2, 2));
        using var optimizer = new AfmOptimizer([new OptimizedParameter("w", p, Decay: true)], weightDecay: 0.01);

        SetGradient(p, [0.5, -0.25, 0.1, 0.0]);
        optimizer.Step(0.1, 0.2);
        AssertClose([0.9921132486540518, -1.987113248654052, 0.4946132486540519, 2.985], Values(p));

        SetGradient(p, [0.1, 0.3, 0.1, 2.0]);
        optimizer.Step(0.2, 0.2);
        AssertClose([0.9753382531078704, -1.9670439878946888, 0.47930492642826783, 2.948339134371096], Values(p));
        AssertClose([0.034269315298204914, -0.0009906413641125947, 0.05181094869621753, 0.034054328144519794],
            Values(optimizer.StateTensors().Single(s => s.Name == "w.exp_avg").Tensor));
    }

    [Fact]
    public void The_afm_optimizer_does_not_clip_an_update_whose_norm_is_below_one()
    {
        // A single element: u = g / |g| = 1, norm 1 -> unclipped; m = 0.05; p = 2 - 0.1 * 0.05 (no decay on this block).
        using var p = new Parameter(tensor(new[] { 2.0 }, float64));
        using var optimizer = new AfmOptimizer([new OptimizedParameter("b", p, Decay: false)], weightDecay: 0.5);
        using (var scope = NewDisposeScope()) (p * 3.0).sum().backward();
        optimizer.Step(0.1, 0.1);
        AssertClose([2.0 - 0.1 * 0.05], Values(p));
    }

    [Fact]
    public void AdamW_matches_torch_reference_formula_after_one_step()
    {
        // Step 1 of AdamW: m/(1-b1) = g, sqrt(v/(1-b2)) = |g|, so p = p (1 - lr wd) - lr g / (|g| + eps).
        using var p = new Parameter(tensor(Start, float64).reshape(2, 2));
        using var optimizer = new AdamWOptimizer([new OptimizedParameter("w", p, Decay: true)], weightDecay: 0.1);
        SetGradient(p, [0.5, -0.25, 0.1, 0.0]);
        optimizer.Step(0.01, 0.01);
        double eps = 1e-8;
        AssertClose(Start.Zip(new[] { 0.5, -0.25, 0.1, 0.0 }, (w, g) => w * (1 - 0.01 * 0.1) - 0.01 * g / (Math.Abs(g) + eps)).ToArray(), Values(p));
    }

    [Fact]
    public void Optimizer_state_restores_exactly()
    {
        using var p = new Parameter(tensor(Start, float64).reshape(2, 2));
        using var q = new Parameter(tensor(Start, float64).reshape(2, 2));
        using var first = new AfmOptimizer([new OptimizedParameter("w", p, true)], 0.01);
        using var second = new AfmOptimizer([new OptimizedParameter("w", q, true)], 0.01);
        SetGradient(p, [0.5, -0.25, 0.1, 0.0]);
        first.Step(0.1, 0.2);
        using (no_grad()) q.copy_(p);
        second.LoadState(first.StateTensors().ToDictionary(s => s.Name, s => s.Tensor), first.StepCount);

        SetGradient(p, [0.1, 0.3, 0.1, 2.0]);
        SetGradient(q, [0.1, 0.3, 0.1, 2.0]);
        first.Step(0.2, 0.2);
        second.Step(0.2, 0.2);
        Assert.Equal(Values(p), Values(q));
    }

    private static void AssertClose(double[] expected, double[] actual)
    {
        Assert.Equal(expected.Length, actual.Length);
        for (int i = 0; i < expected.Length; i++)
            Assert.True(Math.Abs(expected[i] - actual[i]) < 1e-12, $"[{i}] expected {expected[i]:R}, got {actual[i]:R}");
    }
}
