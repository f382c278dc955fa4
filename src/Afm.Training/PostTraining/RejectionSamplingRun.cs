using Afm.Core.Spec;
using Afm.Data.Packing;
using Afm.Runtime.Generation;
using Afm.Training.Checkpoints;
using Afm.Training.Model;
using Afm.Training.Optimization;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.PostTraining;

/// <summary>
/// A rejection-sampling stage (AFM 4.3.2, iTeC; specs/post-training.md): every committee member answers each training
/// prompt <c>Samples</c> times with the seeded sampler, the reward model scores every answer, the best answer of the whole
/// committee per prompt is kept, and the model is fine-tuned on the kept answers with the sft loss (a
/// <see cref="StageTrainer"/> over them, so its checkpoints and resume are an sft stage's). The sampling is a pure function
/// of the members' weights and the stage's data seed: a resumed stage draws the same answers again before it continues.
/// </summary>
/// <param name="incoming">A copy of the weights the stage starts from (the model may hold a resumed checkpoint's).</param>
internal sealed class RejectionSamplingRun(AfmDecoder model, AfmDecoder incoming, RewardModel scorer, IReadOnlyList<(string Name, string WeightsPath)> committee,
    TrainingStageSpec stage, PreferencePairs train, PreferencePairs validation, Action<string>? progress) : IStageRun
{
    private readonly PreferenceStageSpec settings = Responses.SamplingSettings(stage, validation);
    private StageTrainer? trainer;

    public StageOptimizerBase? Optimizer => trainer?.Optimizer;
    public long SequencesConsumed => trainer?.SequencesConsumed ?? 0;
    public IEnumerable<(string Name, Tensor Tensor)> Weights() => model.named_parameters().Select(p => (p.name, (Tensor)p.parameter));
    public IReadOnlyDictionary<string, string> WeightsMetadata() => StageCheckpoint.WeightsMetadata(model);

    public StageReport Run(ulong dataSeed, (ResumeState State, string Directory)? resume, StageTrainer.CheckpointWriter? checkpoint, CancellationToken cancellationToken)
    {
        int scored = (int)Math.Min(validation.Count, PreferenceTrainer.MaxScoredPrompts);
        double incomingReward = Responses.MeanGreedyReward(incoming, scorer, validation, scored);
        var (kept, members, meanKept, prompts) = Sample(dataSeed, cancellationToken);
        trainer = new StageTrainer(model, stage, kept, KeptResponses.Chosen(validation, StageTrainer.MaxValidationSequences), progress);
        var report = trainer.Run(dataSeed, resume, checkpoint, cancellationToken);
        var sampling = new SamplingReport(StageKinds.Name(stage.Kind), settings.RewardModel!, settings.Samples!.Value, settings.Temperature!.Value,
            prompts, scored, incomingReward, Responses.MeanGreedyReward(model, scorer, validation, scored))
        { Committee = members, MeanKeptReward = meanKept };
        return report with { Sampling = sampling };
    }

    /// <summary>FNV-1a of the name's UTF-8 bytes (string.GetHashCode differs between processes).</summary>
    private static long StableHash(string name)
    {
        ulong hash = 14695981039346656037UL;
        foreach (byte b in System.Text.Encoding.UTF8.GetBytes(name)) hash = unchecked((hash ^ b) * 1099511628211UL);
        return unchecked((long)hash);
    }

    /// <summary>Answers, scores and keeps (ties: the earlier member, then the earlier sample); prompts are the first training pairs' up to what the stage's steps consume.</summary>
    private (KeptResponses Kept, IReadOnlyList<CommitteeMemberResult> Members, double MeanKept, int Prompts) Sample(ulong dataSeed, CancellationToken cancellationToken)
    {
        int prompts = (int)Math.Min(train.Count, stage.Steps * stage.BatchSize), samples = settings.Samples!.Value;
        var best = new (double Reward, int Member, long[] Sequence)[prompts];
        var results = new List<(double Best, double Mean)>();
        var promptOf = new long[prompts][];
        int endOfDocument = 0;
        for (int m = 0; m < committee.Count; m++)
        {
            var (name, weights) = committee[m];
            progress?.Invoke($"train {stage.Name}: committee member '{name}' answers {prompts} prompts x {samples}");
            using var member = Trainer.LoadModel(model.Architecture, weights);
            // By name, not position: a member draws the same answers in any committee (and alone) at the same stage.
            long memberSeed = StableHash(name);
            double bestSum = 0, sum = 0;
            using (no_grad())
            {
                for (int p = 0; p < prompts; p++)
                {
                    cancellationToken.ThrowIfCancellationRequested();
                    (promptOf[p], endOfDocument) = Responses.Prompt(train, p);
                    var samplers = Enumerable.Range(0, samples).Select(s => Responses.Seeded(settings.Temperature!.Value, dataSeed, memberSeed, p, s)).ToList();
                    var answers = Responses.Generate(member, promptOf[p], endOfDocument, train.ResponseLength, samplers);
                    var rewards = Responses.Score(scorer, answers, promptOf[p].Length, endOfDocument);
                    int top = Array.IndexOf(rewards, rewards.Max());
                    bestSum += rewards[top];
                    sum += rewards.Sum();
                    if (m == 0 || rewards[top] > best[p].Reward) best[p] = (rewards[top], m, answers[top]);
                }
            }
            results.Add((bestSum / prompts, sum / (prompts * (double)samples)));
        }
        var kept = new KeptResponses(train.ResponseLength, train.VocabSize);
        for (int p = 0; p < prompts; p++) kept.Add(promptOf[p], best[p].Sequence, endOfDocument);
        var members = committee.Select((c, m) => new CommitteeMemberResult(c.Name, StageTrainer.Round(results[m].Best), StageTrainer.Round(results[m].Mean),
            StageTrainer.Round(best.Count(b => b.Member == m) / (double)prompts))).ToList();
        double meanKept = StageTrainer.Round(best.Average(b => b.Reward));
        progress?.Invoke($"train {stage.Name}: kept {prompts} answers, mean reward {meanKept:0.000} (" +
            string.Join(", ", members.Select(r => $"{r.Name} alone {r.MeanBestReward:0.000}")) + ")");
        return (kept, members, meanKept, prompts);
    }
}
