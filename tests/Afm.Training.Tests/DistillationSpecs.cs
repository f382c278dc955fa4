using System.Text.Json;
using Afm.Core.Diagnostics;
using Afm.Core.Spec;
using Afm.Training.Distillation;
using Afm.Training.Model;
using Afm.Training.Stages;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

public sealed class DistillationSpecs
{
    [Fact]
    public void The_loss_is_the_teacher_weighted_mix_of_true_and_teacher_cross_entropies()
    {
        // Position 0: p = (1/4, 1/2, 1/4), true token 0, teacher 1. Position 1: p = (1/3, 1/3, 1/3), both say 2.
        var logits = tensor(new float[] { 0, MathF.Log(2), 0, 0, 0, 0 }, [1, 2, 3]);
        var targets = tensor(new long[] { 0, 2 }, [1, 2]);
        var teacher = tensor(new long[] { 1, 2 }, [1, 2]);

        var (loss, counted) = DistillationLoss.Loss(logits, targets, teacher, 0.9);

        double first = 0.1 * Math.Log(4) + 0.9 * Math.Log(2);
        Assert.Equal(2, counted);
        Assert.Equal((first + Math.Log(3)) / 2, loss.item<float>(), 5);
    }

    [Fact]
    public void Ignored_targets_add_nothing_for_the_teacher_either()
    {
        var logits = tensor(new float[] { 0, MathF.Log(2), 0, 5, 0, 0 }, [1, 2, 3]);
        var targets = tensor(new long[] { 0, MaskedLoss.IgnoreIndex }, [1, 2]);
        var teacher = tensor(new long[] { 1, 2 }, [1, 2]);

        var (loss, counted) = DistillationLoss.Loss(logits, targets, teacher, 0.9);

        Assert.Equal(1, counted);
        Assert.Equal(0.1 * Math.Log(4) + 0.9 * Math.Log(2), loss.item<float>(), 5);
    }

    [Fact]
    public void With_weight_0_the_loss_is_plain_cross_entropy()
    {
        var logits = randn([2, 5, 7], generator: new Generator(3));
        var targets = randint(0, 7, [2, 5], generator: new Generator(4));
        var teacher = randint(0, 7, [2, 5], generator: new Generator(5));
        var expected = nn.functional.cross_entropy(logits.reshape(-1, 7), targets.reshape(-1)).item<float>();
        Assert.Equal(expected, DistillationLoss.Loss(logits, targets, teacher, 0).Loss.item<float>(), 5);
    }

    [Fact]
    public void The_distribution_target_mixes_true_cross_entropy_with_cross_entropy_against_the_tempered_teacher_softmax()
    {
        // Student p = (1/4, 1/2, 1/4), true token 0. Teacher logits (2 ln 2, 0, 0) at temperature 2 are (ln 2, 0, 0):
        // t = (1/2, 1/4, 1/4), so CE(t) = 1/2 ln 4 + 1/4 ln 2 + 1/4 ln 4 = 1.75 ln 2.
        var logits = tensor(new float[] { 0, MathF.Log(2), 0 }, [1, 1, 3]);
        var targets = tensor(new long[] { 0 }, [1, 1]);
        var teacher = tensor(new float[] { 2 * MathF.Log(2), 0, 0 }, [1, 1, 3]);

        var (loss, counted) = DistillationLoss.SoftLoss(logits, targets, teacher, 0.9, temperature: 2);

        Assert.Equal(1, counted);
        Assert.Equal(0.1 * Math.Log(4) + 0.9 * 1.75 * Math.Log(2), loss.item<float>(), 5);
    }

    [Fact]
    public void The_distribution_target_of_a_certain_teacher_is_the_top1_target_and_ignored_positions_add_nothing()
    {
        var logits = randn([2, 4, 7], generator: new Generator(3));
        var targets = randint(0, 7, [2, 4], generator: new Generator(4)).index_put_(tensor(MaskedLoss.IgnoreIndex), tensor(new long[] { 1 }), tensor(new long[] { 2 }));
        var top1 = randint(0, 7, [2, 4], generator: new Generator(5));
        var certain = nn.functional.one_hot(top1, 7).to_type(ScalarType.Float32) * 200;

        var (soft, softCounted) = DistillationLoss.SoftLoss(logits, targets, certain, 0.7, temperature: 1);
        var (hard, hardCounted) = DistillationLoss.Loss(logits, targets, top1, 0.7);

        Assert.Equal((7L, 7L), (softCounted, hardCounted));
        Assert.Equal(hard.item<float>(), soft.item<float>(), 5);
    }

    [Fact]
    public void The_highest_scores_are_kept_in_their_original_order_with_ties_to_the_lower_index()
    {
        Assert.Equal([1, 3, 4], FfnPruning.Select([0.1f, 0.9f, 0.2f, 0.5f, 0.5f, 0.5f], 3));
    }

    [Fact]
    public void Pruning_copies_exactly_the_kept_units_and_every_other_weight()
    {
        using var teacher = new AfmDecoder(MicroModels.Architecture(ffn: 64), seed: 1);
        using var student = new AfmDecoder(MicroModels.Architecture(ffn: 24), seed: 2);
        var importance = new[] { Enumerable.Range(0, 64).Select(j => (float)((j * 37) % 64)).ToArray(),
                                 Enumerable.Range(0, 64).Select(j => (float)(63 - j)).ToArray() };

        var kept = FfnPruning.Apply(teacher, student, importance);

        Assert.Equal(Enumerable.Range(0, 24).ToArray(), kept[1]);
        var t = teacher.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
        foreach (var (name, parameter) in student.named_parameters())
        {
            int layer = name.StartsWith("layers.", StringComparison.Ordinal) ? name[7] - '0' : -1;
            var units = layer >= 0 ? tensor(kept[layer].Select(j => (long)j).ToArray()) : null;
            var expected = name.EndsWith("mlp.down_proj.weight", StringComparison.Ordinal) ? t[name].index_select(1, units!)
                : name.Contains(".mlp.", StringComparison.Ordinal) ? t[name].index_select(0, units!)
                : t[name];
            Assert.True(MicroModels.SameValues(expected, parameter), name);
        }
        Assert.Equal(FfnPruning.Select(importance[0], 24), kept[0]);
    }

    [Fact]
    public void A_unit_that_writes_nothing_into_the_residual_stream_has_importance_0()
    {
        using var teacher = new AfmDecoder(MicroModels.Architecture(), seed: 1);
        var down = teacher.named_parameters().Single(p => p.name == "layers.1.mlp.down_proj.weight").parameter;
        using (no_grad()) down.select(1, 5).zero_();
        var inputs = randint(0, 16, [4, 16], generator: new Generator(9));

        var importance = FfnPruning.Importance(teacher, inputs);

        Assert.Equal(0f, importance[1][5]);
        Assert.All(importance.SelectMany(s => s).Where((_, i) => i != 64 + 5), s => Assert.True(s > 0));
    }

    private static TeacherSource TrainedTeacher(string dir, int ffn = 96, long steps = 30, DistillTarget target = DistillTarget.Top1)
    {
        var spec = MicroModels.Spec(MicroModels.Architecture(ffn: ffn), MicroModels.Stage(steps: steps));
        var report = Trainer.Train(spec, MicroModels.CountingData(), dir);
        return new TeacherSource(new TeacherSpec { ProjectPath = "/teacher/teacher.afmproj", Weight = 0.9, Init = TeacherInit.None, Distill = target, Temperature = 2 },
            spec.Architecture, report.FinalWeightsPath);
    }

    [Theory]
    [InlineData(DistillTarget.Top1)]
    [InlineData(DistillTarget.Distribution)]
    public void A_distilled_stage_is_deterministic_and_resumes_to_byte_identical_weights(DistillTarget target)
    {
        var teacher = TrainedTeacher(MicroModels.TempDirectory(), target: target);
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 20) with { CheckpointEvery = 6 });
        var straight = Trainer.Train(spec, MicroModels.CountingData(), MicroModels.TempDirectory(), teacher: teacher);
        string dir = MicroModels.TempDirectory();
        using (var cancel = new CancellationTokenSource())
            Assert.ThrowsAny<OperationCanceledException>(() => Trainer.Train(spec, MicroModels.CountingData(), dir,
                line => { if (line.StartsWith("train core: checkpoint at step 12/20", StringComparison.Ordinal)) cancel.Cancel(); },
                cancel.Token, teacher));

        var resumed = Trainer.Train(spec, MicroModels.CountingData(), dir, teacher: teacher);

        Assert.Equal(File.ReadAllBytes(straight.FinalWeightsPath), File.ReadAllBytes(resumed.FinalWeightsPath));
        Assert.Equal(JsonSerializer.Serialize(straight.Stages), JsonSerializer.Serialize(resumed.Stages));
    }

    [Fact]
    public void A_retrained_teacher_retrains_the_student()
    {
        string teacherDir = MicroModels.TempDirectory(), studentDir = MicroModels.TempDirectory();
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 4));
        Trainer.Train(spec, MicroModels.CountingData(), studentDir, teacher: TrainedTeacher(teacherDir, steps: 5));

        var changed = TrainedTeacher(MicroModels.TempDirectory(), steps: 6);
        var again = Trainer.Train(spec, MicroModels.CountingData(), studentDir, teacher: changed);

        Assert.False(again.Timings!.Stages[0].Skipped);
    }

    [Fact]
    public void Switching_the_target_to_the_distribution_or_its_temperature_retrains_the_student()
    {
        var teacher = TrainedTeacher(MicroModels.TempDirectory(), steps: 5);
        string studentDir = MicroModels.TempDirectory();
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 3));
        Trainer.Train(spec, MicroModels.CountingData(), studentDir, teacher: teacher);
        var soft = teacher with { Spec = teacher.Spec with { Distill = DistillTarget.Distribution } };
        Assert.False(Trainer.Train(spec, MicroModels.CountingData(), studentDir, teacher: soft).Timings!.Stages[0].Skipped);
        Assert.True(Trainer.Train(spec, MicroModels.CountingData(), studentDir, teacher: soft).Timings!.Stages[0].Skipped);

        var hotter = soft with { Spec = soft.Spec with { Temperature = 4 } };
        Assert.False(Trainer.Train(spec, MicroModels.CountingData(), studentDir, teacher: hotter).Timings!.Stages[0].Skipped);
    }

    [Fact]
    public void Pruned_initialization_starts_from_the_teacher_and_mismatched_shapes_are_AFM3102()
    {
        var teacher = TrainedTeacher(MicroModels.TempDirectory());
        var pruned = teacher with { Spec = teacher.Spec with { Init = TeacherInit.PruneFfn } };
        var spec = MicroModels.Spec(null, MicroModels.Stage(steps: 2));
        var lines = new List<string>();
        Trainer.Train(spec, MicroModels.CountingData(), MicroModels.TempDirectory(), lines.Add, teacher: pruned);
        Assert.Contains(lines, l => l.Contains("pruned 96 -> 64", StringComparison.Ordinal));

        var wider = MicroModels.Spec(MicroModels.Architecture(modelDim: 64), MicroModels.Stage(steps: 2));
        var error = Assert.Throws<DiagnosticException>(() => Trainer.Train(wider, MicroModels.CountingData(), MicroModels.TempDirectory(), teacher: pruned));
        Assert.Equal("AFM3102", error.Diagnostic.Code);
        Assert.Contains("ModelDim 64 (teacher 32)", error.Diagnostic.Message);
    }
}
