using Afm.Core.Spec;
using Afm.Training.PostTraining;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

/// <summary>The formulas of specs/post-training.md, checked against their values.</summary>
public sealed class PreferenceLossSpecs
{
    [Fact]
    public void With_target_1_the_ranking_loss_is_plain_Bradley_Terry()
    {
        var chosen = tensor(new[] { 1.5f, -0.5f });
        var rejected = tensor(new[] { 0.5f, 0.5f });
        double expected = (-Math.Log(Sigmoid(1.0)) - Math.Log(Sigmoid(-1.0))) / 2;
        Assert.Equal(expected, PreferenceLosses.Ranking(chosen, rejected, ones(2)).item<float>(), 5);
    }

    [Theory]
    [InlineData(PreferenceLevel.SignificantlyBetter)]
    [InlineData(PreferenceLevel.SlightlyBetter)]
    [InlineData(PreferenceLevel.NegligiblyBetter)]
    public void The_soft_label_loss_is_least_where_the_margin_is_the_logit_of_the_level_target(PreferenceLevel level)
    {
        double p = PreferenceLosses.Target(level, softLabels: true);
        var chosen = tensor(new[] { (float)Math.Log(p / (1 - p)) }).requires_grad_(true);
        PreferenceLosses.Ranking(chosen, zeros(1), tensor(new[] { (float)p })).backward();
        Assert.Equal(0, chosen.grad!.item<float>(), 5);
    }

    [Fact]
    public void Targets_grow_with_the_preference_level()
    {
        var targets = Enum.GetValues<PreferenceLevel>().Select(l => PreferenceLosses.Target(l, true)).ToArray();
        Assert.Equal(targets.OrderDescending(), targets);
        Assert.All(Enum.GetValues<PreferenceLevel>(), l => Assert.Equal(1.0, PreferenceLosses.Target(l, softLabels: false)));
    }

    [Fact]
    public void The_grade_regularizer_averages_over_graded_responses_only()
    {
        var rewards = tensor(new[] { 2f, -1f, 7f });
        var grades = tensor(new[] { 1f, 0.25f, float.NaN });
        double expected = (-Math.Log(Sigmoid(2)) + -(0.25 * Math.Log(Sigmoid(-1)) + 0.75 * Math.Log(Sigmoid(1)))) / 2;
        Assert.Equal(expected, PreferenceLosses.Grades(rewards, grades).item<float>(), 5);
        Assert.Equal(0f, PreferenceLosses.Grades(rewards, full(3, float.NaN)).item<float>());
    }

    [Fact]
    public void Dpo_and_ipo_losses_follow_their_papers()
    {
        var chosen = tensor(new[] { 2f });
        var rejected = tensor(new[] { -1f }); // h = 3
        Assert.Equal(-Math.Log(Sigmoid(0.1 * 3)), PreferenceLosses.Dpo(PreferenceLoss.Dpo, 0.1, chosen, rejected).item<float>(), 5);
        Assert.Equal(Math.Pow(3 - 1 / (2 * 0.1), 2), PreferenceLosses.Dpo(PreferenceLoss.Ipo, 0.1, chosen, rejected).item<float>(), 4);
    }

    [Fact]
    public void Sequence_log_probs_sum_the_masked_targets_only()
    {
        manual_seed(3);
        var logits = randn(1, 3, 5);
        var targets = tensor(new long[] { 1, 2, 3 }, [1, 3]);
        var mask = tensor(new[] { 0f, 1f, 1f }, [1, 3]);
        var logp = nn.functional.log_softmax(logits, -1);
        float expected = logp[0, 1, 2].item<float>() + logp[0, 2, 3].item<float>();
        Assert.Equal(expected, PreferenceLosses.SequenceLogProbs(logits, targets, mask).item<float>(), 5);
    }

    private static double Sigmoid(double x) => 1 / (1 + Math.Exp(-x));

    [Fact]
    public void The_leave_one_out_advantage_is_each_reward_minus_the_mean_of_the_others_of_its_prompt()
    {
        var advantages = PreferenceLosses.LeaveOneOut(tensor(new[] { 1f, 2f, 3f, 4f, 5f, 5f, 5f, 5f }, [2, 4]));
        float[] expected = [-2f, -2f / 3, 2f / 3, 2f, 0f, 0f, 0f, 0f];
        Assert.All(expected.Zip(advantages.reshape(8).data<float>().ToArray()), p => Assert.Equal(p.First, p.Second, 5));
    }

    [Fact]
    public void At_the_iterations_start_the_mirror_descent_gradient_is_the_policy_gradient_and_the_trust_region_adds_none()
    {
        // One answer of two target tokens over a vocabulary of 3; at θ = θ_k the ratio is 1 and the KL is 0 with zero gradient.
        var logits = tensor(new[] { 0.2f, -0.1f, 0.5f, 1.0f, 0.0f, -1.0f }, [1, 2, 3]).requires_grad_(true);
        var old = nn.functional.log_softmax(logits.detach(), -1);
        var targets = tensor(new long[] { 2, 0 }, [1, 2]);
        var mask = ones(1, 2);
        var advantage = tensor(new[] { 1.5f });
        var withTrust = PreferenceLosses.MirrorDescent(nn.functional.log_softmax(logits, -1), old, targets, mask, advantage, trustRegion: 10);
        Assert.Equal(-1.5, withTrust.item<float>(), 5);
        withTrust.backward();
        var gradient = logits.grad!.clone();

        logits.grad!.zero_();
        // The plain policy gradient of -A/|y| Σ_t log π(y_t).
        (-(advantage / 2) * nn.functional.log_softmax(logits, -1).gather(2, targets.unsqueeze(2)).sum()).sum().backward();
        Assert.True(gradient.allclose(logits.grad!, rtol: 1e-5, atol: 1e-6));
    }

    [Fact]
    public void Away_from_the_iterations_start_the_trust_region_penalizes_the_kl_to_the_starting_policy()
    {
        var old = nn.functional.log_softmax(tensor(new[] { 0.2f, -0.1f, 0.5f }, [1, 1, 3]), -1);
        var moved = nn.functional.log_softmax(tensor(new[] { 1.2f, -0.1f, 0.5f }, [1, 1, 3]), -1);
        var targets = tensor(new long[] { 0 }, [1, 1]);
        var none = PreferenceLosses.MirrorDescent(moved, old, targets, ones(1, 1), zeros(1), trustRegion: 2).item<float>();
        double kl = (moved.exp() * (moved - old)).sum().item<float>();
        Assert.True(kl > 0);
        Assert.Equal(2 * kl, none, 5);
    }
}
