using Afm.Training.Adapters;
using Afm.Training.Model;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

/// <summary>
/// Init="error" (specs/adapters.md): a recovery adapter starts from the rank-r pair closest to the quantization error
/// E = W - Q in the projection's output over calibration inputs, M = U_r S_r V_r^T H^(-1/2) from the SVD of E H^(1/2).
/// </summary>
public sealed class ErrorInitializationSpecs
{
    private static Tensor Product((Tensor Left, Tensor Right, int Kept) f) => f.Left.matmul(f.Right);

    private static Tensor Matrix(double[,] values)
    {
        int rows = values.GetLength(0), columns = values.GetLength(1);
        var flat = new double[rows * columns];
        for (int i = 0; i < rows; i++) for (int j = 0; j < columns; j++) flat[i * columns + j] = values[i, j];
        return tensor(flat, [rows, columns]);
    }

    private static void AssertClose(Tensor expected, Tensor actual, double tolerance = 1e-9) =>
        Assert.True((expected - actual).abs().max().item<double>() <= tolerance,
            $"max difference {(expected - actual).abs().max().item<double>()}");

    [Fact]
    public void With_identity_second_moments_the_pair_is_the_truncated_svd_of_the_error()
    {
        // diag(3, 2, 1): the best rank-1 approximation keeps the 3, rank 2 the 3 and the 2; H = I damped is a multiple of I.
        var error = Matrix(new double[,] { { 3, 0, 0 }, { 0, 2, 0 }, { 0, 0, 1 } });
        AssertClose(Matrix(new double[,] { { 3, 0, 0 }, { 0, 0, 0 }, { 0, 0, 0 } }), Product(ErrorInitialization.Factor(error, eye(3, dtype: ScalarType.Float64), 1)));
        AssertClose(Matrix(new double[,] { { 3, 0, 0 }, { 0, 2, 0 }, { 0, 0, 0 } }), Product(ErrorInitialization.Factor(error, eye(3, dtype: ScalarType.Float64), 2)));
    }

    [Fact]
    public void With_identity_second_moments_a_random_error_gives_its_eckart_young_approximation()
    {
        var generator = new Generator(7);
        var error = randn([12, 9], generator: generator, dtype: ScalarType.Float64);
        var (u, s, vt) = linalg.svd(error, fullMatrices: false);
        var expected = u.narrow(1, 0, 4).mul(s.narrow(0, 0, 4)).matmul(vt.narrow(0, 0, 4));
        AssertClose(expected, Product(ErrorInitialization.Factor(error, eye(9, dtype: ScalarType.Float64), 4)));
    }

    [Fact]
    public void The_inputs_second_moments_choose_which_part_of_the_error_a_low_rank_pair_takes()
    {
        // E = diag(2, 1): the plain SVD keeps the 2. But the second input is 100x as large in second moment, so the error it
        // carries costs 1 x 10 in the output against 2 x 1 for the first: rank 1 takes the second.
        var error = Matrix(new double[,] { { 2, 0 }, { 0, 1 } });
        var moments = Matrix(new double[,] { { 1, 0 }, { 0, 100 } });
        AssertClose(Matrix(new double[,] { { 0, 0 }, { 0, 1 } }), Product(ErrorInitialization.Factor(error, moments, 1)));
    }

    [Fact]
    public void A_pair_of_full_rank_reproduces_the_error_whatever_the_second_moments()
    {
        var generator = new Generator(3);
        var error = randn([6, 5], generator: generator, dtype: ScalarType.Float64);
        var x = randn([5, 40], generator: generator, dtype: ScalarType.Float64);
        var (_, _, kept) = ErrorInitialization.Factor(error, x.matmul(x.T).div(40), 5);
        Assert.Equal(5, kept);
        AssertClose(error, Product(ErrorInitialization.Factor(error, x.matmul(x.T).div(40), 5)));
    }

    [Fact]
    public void No_error_keeps_the_zero_start()
    {
        var (_, _, kept) = ErrorInitialization.Factor(zeros(4, 4, dtype: ScalarType.Float64), eye(4, dtype: ScalarType.Float64), 2);
        Assert.Equal(0, kept);
    }

    /// <summary>A trained micro model, and a copy with every block projection rounded to a coarse grid (the "quantized" base).</summary>
    private sealed class Rounded : IDisposable
    {
        public AfmDecoder Float { get; }
        public AfmDecoder Base { get; }

        public Rounded()
        {
            string weights = Trainer.Train(MicroModels.Spec(), MicroModels.CountingData(), MicroModels.TempDirectory()).FinalWeightsPath;
            Float = AdapterBase.FromFloat(MicroModels.Architecture(), weights);
            Base = AdapterBase.FromFloat(MicroModels.Architecture(), weights);
            using var noGrad = no_grad();
            var adapted = LoraAdapter.Targets(MicroModels.Architecture()).Select(t => t.Weight).ToHashSet();
            foreach (var (name, p) in Base.named_parameters())
                if (adapted.Contains(name))
                {
                    double step = p.std().item<float>() * 0.75; // about 2 bits: a loss the model shows
                    p.div_(step).round_().mul_(step);
                }
        }

        public void Dispose()
        {
            Float.Dispose();
            Base.Dispose();
        }
    }

    [Fact]
    public void A_full_rank_adapter_started_from_the_error_makes_the_base_the_float_model_again()
    {
        using var models = new Rounded();
        var architecture = MicroModels.Architecture();
        // Rank 32 is full for every projection of the micro model (ModelDim 32); k/v are 16 x 32, so 16 of their 32
        // components have no error to take and keep the zero start.
        using var adapter = LoraAdapter.Create(architecture, 32, 64, seed: 5);
        ErrorInitialization.Apply(adapter, models.Float, models.Base, MicroModels.CountingData()("core", "train"));
        var floatWeights = models.Float.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        var baseWeights = models.Base.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        foreach (var pair in adapter.Pairs)
        {
            var restored = baseWeights[pair.Weight] + pair.B.detach().matmul(pair.A.detach()).mul(adapter.Scale);
            double scale = floatWeights[pair.Weight].abs().max().item<float>();
            Assert.True((restored - floatWeights[pair.Weight]).abs().max().item<float>() <= 1e-5 * scale, pair.Weight);
        }
        var kPair = adapter.Pairs.Single(p => p.Weight == "layers.0.attn.k_proj.weight");
        Assert.Equal(0, kPair.B.detach().narrow(1, 16, 16).abs().max().item<float>());
        Assert.True(kPair.A.detach().narrow(0, 16, 16).abs().max().item<float>() > 0, "the components beyond the error keep their seeded A");
    }

    [Fact]
    public void An_adapter_started_from_the_error_is_closer_to_the_float_model_than_the_base_before_any_step()
    {
        using var models = new Rounded();
        var validation = MicroModels.CountingData()("core", "validation");
        var indices = Evaluator.Spread(validation, 32);
        double baseKl = Evaluator.MeanLossAndDivergence(models.Float, models.Base, validation, indices).Divergence;
        using var adapter = LoraAdapter.Create(MicroModels.Architecture(), 4, 8, seed: 5);
        ErrorInitialization.Apply(adapter, models.Float, models.Base, MicroModels.CountingData()("core", "train"));
        adapter.Attach(models.Base);
        double startKl = Evaluator.MeanLossAndDivergence(models.Float, models.Base, validation, indices).Divergence;
        adapter.Detach();
        Assert.True(baseKl > 1e-3, $"the rounded base must lose something to recover: KL {baseKl}");
        Assert.True(startKl < 0.8 * baseKl, $"KL(f || q + a) {startKl} at step 0 against KL(f || q) {baseKl}");
    }

    [Fact]
    public void The_error_start_is_the_same_bytes_every_time()
    {
        using var models = new Rounded();
        var data = MicroModels.CountingData()("core", "train");
        using var first = LoraAdapter.Create(MicroModels.Architecture(), 4, 8, seed: 5);
        using var second = LoraAdapter.Create(MicroModels.Architecture(), 4, 8, seed: 5);
        ErrorInitialization.Apply(first, models.Float, models.Base, data);
        ErrorInitialization.Apply(second, models.Float, models.Base, data);
        foreach (var ((_, a), (_, b)) in first.FoldedTensors().Zip(second.FoldedTensors()))
            Assert.True(MicroModels.SameValues(a, b));
        Assert.True(first.Pairs.All(p => p.B.detach().abs().max().item<float>() > 0), "every pair starts from its error, not zero");
    }
}
