using Afm.Data.Packing;
using Afm.Training.Model;
using Afm.Training.Stages;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Afm.Training.Adapters;

/// <summary>
/// Starts a recovery adapter from the quantization error instead of B = 0 (Init="error", specs/adapters.md). For each adapted
/// projection with float weight W and dequantized weight Q, E = W - Q is what the adapter has to add back; the pair starts as
/// the rank-r product M = Scale * B * A that minimizes the error left in the projection's output over calibration inputs X,
/// ||(E - M) X||_F, with H = X X^T / n the inputs' second moment measured on the float model (as GPTQ's, damped the same way).
/// </summary>
/// <remarks>
/// Derivation. ||(E - M) X||_F^2 = tr((E - M) H (E - M)^T) = ||(E - M) H^(1/2)||_F^2 for symmetric H^(1/2). With H damped to be
/// positive definite, M -> M H^(1/2) is a bijection that keeps the rank, so the best M is the best rank-r approximation of
/// E H^(1/2) (Eckart-Young: its truncated SVD U_r S_r V_r^T) mapped back: M = U_r S_r V_r^T H^(-1/2). The factors are split
/// evenly, Scale * B = U_r S_r^(1/2) and A = S_r^(1/2) V_r^T H^(-1/2). With H = I this is the truncated SVD of E; at full rank
/// M = E and the base plus the adapter is W again. The damping adds lambda * ||E - M||_F^2 to the objective (H + lambda I), so
/// directions the calibration inputs never take fall back to the plain weight error instead of being left free.
/// Components with no error to take (a singular value of 0, or a rank above the projection's smaller side) keep the fresh
/// adapter's seeded row of A and B = 0, so they still train as a zero start would.
/// </remarks>
public static class ErrorInitialization
{
    /// <summary>Training sequences (spread evenly over the split) whose float-model activations make H: 64 x 128 tokens on the bench's model.</summary>
    public const int CalibrationSequences = 64;
    /// <summary>lambda = Damping * mean(diag H), as the quantize stage's GPTQ (Afm.Compression's ErrorCompensation.Damping).</summary>
    public const double Damping = 0.01;

    /// <summary>
    /// Sets every pair of <paramref name="adapter"/> (created fresh: seeded A, B = 0) to the closed form above for the error
    /// between <paramref name="floatModel"/> and <paramref name="baseModel"/>, with H from <paramref name="floatModel"/>'s inputs
    /// to each projection on <paramref name="calibration"/>.
    /// </summary>
    public static void Apply(LoraAdapter adapter, AfmDecoder floatModel, AfmDecoder baseModel, IPackedSequences calibration, int sequences = CalibrationSequences)
    {
        var floatWeights = floatModel.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        var baseWeights = baseModel.named_parameters().ToDictionary(p => p.name, p => p.parameter, StringComparer.Ordinal);
        var moments = SecondMoments(floatModel, adapter.Pairs.Select(p => p.Weight), calibration, sequences);
        try
        {
            using var noGrad = no_grad();
            foreach (var pair in adapter.Pairs)
            {
                using var scope = NewDisposeScope();
                var error = floatWeights[pair.Weight].to_type(ScalarType.Float64) - baseWeights[pair.Weight].to_type(ScalarType.Float64);
                var (left, right, kept) = Factor(error, moments[pair.Weight], adapter.Rank);
                if (kept == 0) continue;
                pair.A.narrow(0, 0, kept).copy_(right.to_type(ScalarType.Float32));
                pair.B.narrow(1, 0, kept).copy_(left.div(adapter.Scale).to_type(ScalarType.Float32));
            }
        }
        finally
        {
            // Shared by the projections of one input; Tensor.Equals compares elements, so by reference.
            foreach (var h in moments.Values.Cast<object>().Distinct(ReferenceEqualityComparer.Instance).Cast<Tensor>().ToList()) h.Dispose();
        }
    }

    /// <summary>
    /// The closed form for one projection: <paramref name="error"/> E [out, in] and the inputs' second moment H [in, in] (undamped)
    /// give Left [out, k] and Right [k, in] with Left * Right the best rank-k approximation of E in ||(E - M) H_damped^(1/2)||_F,
    /// k = the components (at most <paramref name="rank"/>) with a singular value above 0. Float64.
    /// </summary>
    public static (Tensor Left, Tensor Right, int Kept) Factor(Tensor error, Tensor secondMoment, int rank)
    {
        long columns = error.shape[1];
        var h = secondMoment.to_type(ScalarType.Float64);
        double mean = h.diagonal().mean().item<double>();
        // No activations at all (an input that is always 0): the plain weight error.
        var damped = mean > 0 ? h + eye(columns, dtype: ScalarType.Float64).mul(Damping * mean) : eye(columns, dtype: ScalarType.Float64);
        var (values, vectors) = linalg.eigh(damped);
        values = values.clamp_min(values.max().item<double>() * 1e-15);
        var sqrtH = vectors.mul(values.sqrt()).matmul(vectors.T);
        var inverseSqrtH = vectors.mul(values.rsqrt()).matmul(vectors.T);
        var (u, s, vt) = linalg.svd(error.to_type(ScalarType.Float64).matmul(sqrtH), fullMatrices: false);
        var singular = s.data<double>().ToArray();
        int kept = 0;
        while (kept < Math.Min(rank, singular.Length) && singular[kept] > singular[0] * 1e-12 && singular[kept] > 0) kept++;
        if (kept == 0) return (zeros(error.shape[0], 0, dtype: ScalarType.Float64), zeros(0, columns, dtype: ScalarType.Float64), 0);
        var root = s.narrow(0, 0, kept).sqrt();
        // A singular vector pair's sign is the solver's choice: fixed so the largest entry of each left vector is positive,
        // the same bytes from any LAPACK.
        var leftVectors = u.narrow(1, 0, kept);
        var largest = leftVectors.abs().argmax(0);
        var signs = leftVectors.gather(0, largest.unsqueeze(0)).sign().squeeze(0);
        signs = where(signs.eq(0), ones_like(signs), signs);
        var left = leftVectors.mul(signs).mul(root);
        var right = vt.narrow(0, 0, kept).mul(signs.unsqueeze(1)).mul(root.unsqueeze(1)).matmul(inverseSqrtH);
        return (left, right, kept);
    }

    /// <summary>
    /// H = X X^T / n of each projection's input on the float model, n the tokens of <paramref name="sequences"/> training
    /// sequences spread over the split. Projections that read the same input (q/k/v, gate/up) share one tensor.
    /// </summary>
    internal static Dictionary<string, Tensor> SecondMoments(AfmDecoder model, IEnumerable<string> weights, IPackedSequences data, int sequences)
    {
        var modules = model.named_modules().ToDictionary(m => m.name, m => m.module, StringComparer.Ordinal);
        var byInput = new Dictionary<string, (Linear Module, Tensor Sum)>(StringComparer.Ordinal);
        var moments = new Dictionary<string, Tensor>(StringComparer.Ordinal);
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string weight in weights)
        {
            string module = weight[..^".weight".Length];
            string key = InputOf(module);
            keys[weight] = key;
            if (byInput.ContainsKey(key)) continue;
            if (!modules.TryGetValue(module, out var m) || m is not Linear linear)
                throw new InvalidOperationException($"The model has no linear projection '{module}'.");
            long inFeatures = linear.weight!.shape[1];
            byInput[key] = (linear, zeros(inFeatures, inFeatures, dtype: ScalarType.Float64));
        }
        var removers = new List<Action>();
        long rows = 0;
        try
        {
            foreach (var (module, sum) in byInput.Values)
            {
                var target = sum;
                removers.Add(module.register_forward_hook((_, input, output) =>
                {
                    using var x = input.detach().reshape(-1, input.shape[^1]).to_type(ScalarType.Float64);
                    target.add_(x.T.matmul(x));
                    return output;
                }).remove);
            }
            var indices = Evaluator.Spread(data, sequences);
            int length = data.SequenceLength;
            var buffer = new int[length + 1];
            using var noGrad = no_grad();
            model.eval();
            const int batch = 8;
            for (int start = 0; start < indices.Count; start += batch)
            {
                using var scope = NewDisposeScope();
                int n = Math.Min(batch, indices.Count - start);
                var ids = new long[n * length];
                for (int b = 0; b < n; b++)
                {
                    data.Read(indices[start + b], buffer);
                    for (int t = 0; t < length; t++) ids[b * length + t] = buffer[t];
                }
                model.forward(tensor(ids, [n, length]));
                rows += (long)n * length;
            }
        }
        finally
        {
            foreach (var remove in removers) remove();
        }
        foreach (var (weight, key) in keys) moments[weight] = byInput[key].Sum;
        foreach (var (_, sum) in byInput.Values) sum.div_(Math.Max(1, rows));
        return moments;
    }

    /// <summary>q/k/v read the same normed input, as gate/up do: one H each.</summary>
    private static string InputOf(string module) =>
        module.EndsWith(".attn.k_proj", StringComparison.Ordinal) || module.EndsWith(".attn.v_proj", StringComparison.Ordinal) ? module[..^"k_proj".Length] + "q_proj"
        : module.EndsWith(".mlp.up_proj", StringComparison.Ordinal) ? module[..^"up_proj".Length] + "gate_proj"
        : module;
}
