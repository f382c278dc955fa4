using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Training.Model;
using Afm.Training.PostTraining;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

/// <summary>Readout of a reward stage (specs/post-training.md): what the scalar reward reads from the model.</summary>
public sealed class RewardReadoutSpecs
{
    /// <summary>Two rows of 8 tokens; the response is tokens 4..6 of the first row and 3..7 of the second (7 and 7: end-of-document).</summary>
    private static (Tensor Ids, Tensor Mask) Rows()
    {
        var ids = tensor(new long[] { 3, 4, 5, 6, 7, 8, 9, 1, 2, 9, 4, 8, 5, 6, 7, 1 }, [2, 8]);
        var mask = tensor(new float[] { 0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 1, 1, 1 }, [2, 8]);
        return (ids, mask);
    }

    private static RewardModel WithRandomHead(RewardReadout readout)
    {
        manual_seed(7);
        var model = new RewardModel(new AfmDecoder(MicroModels.Architecture(), 7), readout);
        using var noGrad = no_grad();
        foreach (var (name, parameter) in model.NamedParameters().Where(p => p.name.StartsWith("reward_head.", StringComparison.Ordinal)))
            parameter.copy_(randn(parameter.shape));
        return model;
    }

    [Fact]
    public void The_last_readout_is_the_head_on_the_hidden_state_of_the_end_of_document()
    {
        using var model = WithRandomHead(RewardReadout.Last);
        var (ids, mask) = Rows();
        using var noGrad = no_grad();
        var hidden = model.Decoder.Hidden(ids);
        var (w, b) = (model.NamedParameters()[^2].parameter, model.NamedParameters()[^1].parameter);
        var expected = (hidden[TensorIndex.Colon, 7] * w[0]).sum(1) + b;
        Assert.True(allclose(expected, model.Rewards(ids, mask), 1e-5, 1e-6));
    }

    [Fact]
    public void The_mean_readout_is_the_head_on_the_mean_hidden_state_over_the_response_tokens()
    {
        using var model = WithRandomHead(RewardReadout.Mean);
        var (ids, mask) = Rows();
        using var noGrad = no_grad();
        var hidden = model.Decoder.Hidden(ids);
        var (w, b) = (model.NamedParameters()[^2].parameter, model.NamedParameters()[^1].parameter);
        var first = hidden[0].narrow(0, 4, 4).mean([0]);
        var second = hidden[1].narrow(0, 3, 5).mean([0]);
        var expected = stack([(first * w[0]).sum() + b[0], (second * w[0]).sum() + b[0]]);
        Assert.True(allclose(expected, model.Rewards(ids, mask), 1e-5, 1e-6));
    }

    [Fact]
    public void The_likelihood_readout_adds_the_scaled_mean_log_likelihood_of_the_response_tokens()
    {
        using var model = WithRandomHead(RewardReadout.Likelihood);
        var (ids, mask) = Rows();
        using var noGrad = no_grad();
        var parameters = model.NamedParameters();
        var (w, b, scale) = (parameters[^3].parameter, parameters[^2].parameter, parameters[^1].parameter);
        var hidden = model.Decoder.Hidden(ids);
        var logProbs = nn.functional.log_softmax(model.Decoder.forward(ids), -1);
        // Token t of the response is predicted at t - 1: row 0 reads tokens 4..7, row 1 tokens 3..7.
        double Mean(int row, int from) => Enumerable.Range(from, 8 - from)
            .Average(t => logProbs[row, t - 1, ids[row, t].item<long>()].item<float>());
        var likelihood = tensor(new[] { (float)Mean(0, 4), (float)Mean(1, 3) });
        var expected = (hidden[TensorIndex.Colon, 7] * w[0]).sum(1) + b + scale * likelihood;
        Assert.True(allclose(expected, model.Rewards(ids, mask), 1e-4, 1e-5), string.Join(", ", expected.data<float>().ToArray()) + " vs " + string.Join(", ", model.Rewards(ids, mask).data<float>().ToArray()));
    }

    private static Func<string, string, IPackedSequences> CopyThenPairs => (stage, split) => stage switch
    {
        "sft" => new CopyTaskSequences(16, split == "train" ? 256 : 32, salt: split == "train" ? 0 : 100_000),
        "rm" => PreferenceTaskPairs.Create(16, split == "train" ? 256 : 32, split == "train" ? 0 : 100_000),
        _ => MicroModels.CountingData()(stage, split),
    };

    private static readonly TrainingStageSpec CopySft = MicroModels.Stage("sft", steps: 150, lr: 5e-3, evalEvery: 50) with { Kind = StageKind.Sft, Mix = [] };

    [Fact]
    public void Untrained_the_likelihood_readout_already_ranks_pairs_as_the_model_it_reads_knows_and_the_last_readout_knows_nothing()
    {
        // The incoming model has learnt to copy the prompt, so it finds the rejected responses (tokens replaced) unlikely.
        string dir = MicroModels.TempDirectory();
        var sft = Trainer.Train(MicroModels.Spec(null, MicroModels.Stage(steps: 20), CopySft), CopyThenPairs, dir);
        var pairs = PreferenceTaskPairs.Create(16, 32, 100_000);

        double Accuracy(RewardReadout readout, out float[] rewards)
        {
            using var model = new RewardModel(Trainer.LoadModel(MicroModels.Architecture(), sft.FinalWeightsPath), readout);
            var tokens = new int[2 * 17];
            var mask = new byte[2 * 17];
            var all = new List<float>();
            int right = 0;
            using var noGrad = no_grad();
            for (long p = 0; p < pairs.Count; p++)
            {
                pairs.Read(p, tokens);
                pairs.ReadLossMask(p, mask);
                var ids = tensor(tokens.Select(t => (long)t).ToArray(), [2, 17]).narrow(1, 0, 16);
                var responses = tensor(mask.Select(m => (float)m).ToArray(), [2, 17]).narrow(1, 0, 16);
                var r = model.Rewards(ids, responses).data<float>().ToArray();
                all.AddRange(r);
                if (r[0] > r[1]) right++;
            }
            rewards = [.. all];
            return right / (double)pairs.Count;
        }

        Assert.True(Accuracy(RewardReadout.Likelihood, out _) >= 0.9);
        Assert.Equal(0, Accuracy(RewardReadout.Last, out var zero));
        Assert.All(zero, r => Assert.Equal(0f, r));
    }

    [Fact]
    public void A_reward_stage_without_a_readout_trains_and_saves_a_likelihood_reward_model()
    {
        string dir = MicroModels.TempDirectory();
        Trainer.Train(MicroModels.Spec(null, MicroModels.Stage(steps: 10), PreferenceStageSpecs.Reward(steps: 5)), PreferenceTaskPairs.Data("rm"), dir);

        using var loaded = RewardModel.Load(MicroModels.Architecture(), Path.Combine(dir, "rm", "model.safetensors"));
        Assert.Equal(RewardReadout.Likelihood, loaded.Readout);
        Assert.Contains(loaded.NamedParameters(), p => p.name == RewardModel.LikelihoodScale);
    }

    [Fact]
    public void A_reward_model_is_saved_with_its_readout_and_loads_to_the_same_rewards()
    {
        var reward = PreferenceStageSpecs.Reward(steps: 10) with { Preference = new PreferenceStageSpec { Readout = RewardReadout.Likelihood } };
        string dir = MicroModels.TempDirectory();
        Trainer.Train(MicroModels.Spec(null, MicroModels.Stage(steps: 10), reward), PreferenceTaskPairs.Data("rm"), dir);

        using var loaded = RewardModel.Load(MicroModels.Architecture(), Path.Combine(dir, "rm", "model.safetensors"));
        Assert.Equal(RewardReadout.Likelihood, loaded.Readout);
        Assert.Contains(loaded.NamedParameters(), p => p.name == RewardModel.LikelihoodScale);
        var (ids, mask) = Rows();
        using var noGrad = no_grad();
        var rewards = loaded.Rewards(ids, mask);
        Assert.Equal(rewards.data<float>().ToArray(), loaded.Rewards(ids, mask).data<float>().ToArray());
        Assert.True(rewards.isfinite().all().item<bool>());
    }
}
