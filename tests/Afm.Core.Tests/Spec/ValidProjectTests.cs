using Afm.Core.Spec;

namespace Afm.Core.Tests.Spec;

/// <summary>What a correct project turns into: the values written, and the documented defaults for the rest.</summary>
public sealed class ValidProjectTests
{
    private static ModelSpec ReadValid(TestProject project)
    {
        var result = project.Read();
        Assert.Empty(result.Diagnostics);
        return Assert.IsType<ModelSpec>(result.Spec);
    }

    [Fact]
    public void Identity_defaults_to_the_project_file_name_version_1_0_0_seed_1234_and_two_threads()
    {
        using var project = new TestProject();
        var spec = ReadValid(project);
        Assert.Equal(("tiny", "1.0.0", 1234L, 2), (spec.Name, spec.Version, spec.Seed, spec.Threads));
        Assert.Equal(project.ProjectPath, spec.ProjectPath);
        Assert.Equal(0.05, spec.ValidationFraction);
    }

    [Fact]
    public void Architecture_takes_the_written_values_and_defaults_the_rest()
    {
        using var project = new TestProject();
        var architecture = ReadValid(project).Architecture;
        Assert.Equal((256, 6, 8, 2), (architecture.ModelDim, architecture.Layers, architecture.Heads, architecture.KvHeads));
        Assert.Equal(704, architecture.FfnDim); // round_up(8/3 * 256, 64)
        Assert.Equal(4096, architecture.VocabSize);
        Assert.Equal(500_000, architecture.RopeBase);
        Assert.True(architecture.TieEmbeddings);
        Assert.True(architecture.QkNorm);
        Assert.Equal(1e-5, architecture.NormEpsilon);
    }

    [Fact]
    public void MaxSequenceLength_defaults_to_the_longest_stage()
    {
        using var project = new TestProject();
        Assert.Equal(1024, ReadValid(project).Architecture.MaxSequenceLength);
    }

    [Fact]
    public void KvHeads_defaults_to_Heads()
    {
        using var project = TestProject.With("<KvHeads>2</KvHeads>", "");
        Assert.Equal(8, ReadValid(project).Architecture.KvHeads);
    }

    [Fact]
    public void Tokenizer_defaults_split_digits_and_byte_fallback_and_keeps_special_tokens_in_order()
    {
        using var project = new TestProject();
        var tokenizer = ReadValid(project).Tokenizer;
        Assert.Equal(("bpe", 4096, true, true), (tokenizer.Kind, tokenizer.VocabSize, tokenizer.SplitDigits, tokenizer.ByteFallback));
        Assert.Equal(["<bos>", "<eos>"], tokenizer.SpecialTokens);
        Assert.Equal(project.Locate("<Tokenizer"), tokenizer.Location);
    }

    [Fact]
    public void Corpus_files_are_absolute_sorted_and_grouped_by_name()
    {
        using var project = new TestProject();
        var corpora = ReadValid(project).Corpora;
        Assert.Equal(["web", "code"], corpora.Select(c => c.Name));
        Assert.Equal([Path.Combine(project.Directory, "data/web/a.txt"), Path.Combine(project.Directory, "data/web/b.txt")], corpora[0].Files);
        Assert.Equal([Path.Combine(project.Directory, "data/code/lib/x.cs")], corpora[1].Files);
        Assert.Equal(project.Locate("<Corpus Include=\"data/code"), corpora[1].Location);
    }

    [Fact]
    public void Corpus_format_follows_the_extension_and_text_field_defaults_to_text()
    {
        using var project = TestProject.With("<EvalSet Include=\"data/eval/*.txt\" />", "<Corpus Include=\"data/chat.jsonl\" Name=\"chat\" />");
        project.WriteFile("data/chat.jsonl", "{\"text\":\"hi\"}\n");
        var corpora = ReadValid(project).Corpora;
        Assert.Equal([CorpusFormat.Text, CorpusFormat.Text, CorpusFormat.JsonLines], corpora.Select(c => c.Format));
        Assert.All(corpora, c => Assert.Equal("text", c.TextField));
    }

    [Fact]
    public void EvalSet_is_named_eval_and_decontaminates_by_default()
    {
        using var project = new TestProject();
        var evalSet = Assert.Single(ReadValid(project).EvalSets);
        Assert.Equal(("eval", true), (evalSet.Name, evalSet.Decontaminate));
        Assert.Equal([Path.Combine(project.Directory, "data/eval/e.txt")], evalSet.Files);
    }

    [Fact]
    public void Stages_keep_project_order_and_parse_token_suffixes()
    {
        using var project = new TestProject();
        var stages = ReadValid(project).TrainingStages;
        Assert.Equal(["core", "context"], stages.Select(s => s.Name));
        Assert.Equal([4_000_000L, 300_000L], stages.Select(s => s.Tokens));
        Assert.Equal(project.Locate("<TrainingStage Include=\"context\""), stages[1].Location);
    }

    [Theory]
    [InlineData("12000", 12_000L)]
    [InlineData("300k", 300_000L)]
    [InlineData("300K", 300_000L)]
    [InlineData("4M", 4_000_000L)]
    [InlineData("4m", 4_000_000L)]
    [InlineData("1.5G", 1_500_000_000L)]
    public void Tokens_accept_k_M_G_suffixes_in_any_case(string written, long expected)
    {
        using var project = TestProject.With("Tokens=\"4M\"", $"Tokens=\"{written}\"");
        Assert.Equal(expected, ReadValid(project).TrainingStages[0].Tokens);
    }

    [Fact]
    public void Stage_defaults_follow_the_documented_rules()
    {
        using var project = new TestProject();
        var core = ReadValid(project).TrainingStages[0];
        Assert.Equal(StageKind.Pretrain, core.Kind);
        Assert.Equal(8, core.BatchSize);
        Assert.Equal(1953, core.Steps); // 4M / (256 * 8)
        Assert.Equal(100, core.WarmupSteps); // min(100, steps / 10)
        Assert.Equal(195, core.EvalEvery); // max(1, steps / 10)
        Assert.Equal((0.1, LearningRateSchedule.Cosine, 0.1, 1.0), (core.FinalLearningRateRatio, core.Schedule, core.WeightDecay, core.GradientClip));
        Assert.Equal(500_000, core.RopeBase);
    }

    [Fact]
    public void A_stage_inherits_learning_rate_from_the_previous_stage_and_sets_its_own_rope_base()
    {
        using var project = new TestProject();
        var context = ReadValid(project).TrainingStages[1];
        Assert.Equal(0.01, context.LearningRate);
        Assert.Equal(6_315_089, context.RopeBase);
        Assert.Equal(36, context.Steps); // 300k / (1024 * 8)
        Assert.Equal(3, context.WarmupSteps);
    }

    [Fact]
    public void The_first_stage_without_LearningRate_uses_3e_4()
    {
        using var project = TestProject.With(" LearningRate=\"0.01\"", "");
        Assert.Equal(3e-4, ReadValid(project).TrainingStages[0].LearningRate);
    }

    [Fact]
    public void Mix_is_normalized_and_sorted_by_corpus_name()
    {
        using var project = new TestProject();
        Assert.Equal([new MixEntry("code", 0.25), new MixEntry("web", 0.75)], ReadValid(project).TrainingStages[0].Mix);
    }

    [Fact]
    public void Without_Mix_a_stage_samples_every_corpus_in_proportion_to_its_size()
    {
        using var project = new TestProject();
        // web: 600 bytes, code: 200 bytes.
        Assert.Equal([new MixEntry("code", 0.25), new MixEntry("web", 0.75)], ReadValid(project).TrainingStages[1].Mix);
    }

    [Fact]
    public void Explicit_stage_metadata_may_be_written_as_child_elements()
    {
        using var project = TestProject.With(
            "<TrainingStage Include=\"context\" Tokens=\"300k\" SequenceLength=\"1024\" RopeBase=\"6315089\" />",
            """
            <TrainingStage Include="context">
                  <Tokens>300k</Tokens>
                  <SequenceLength>1024</SequenceLength>
                  <Schedule>linear</Schedule>
                  <Warmup>5</Warmup>
                  <BatchSize>4</BatchSize>
                </TrainingStage>
            """);
        var context = ReadValid(project).TrainingStages[1];
        Assert.Equal((LearningRateSchedule.Linear, 5, 4), (context.Schedule, context.WarmupSteps, context.BatchSize));
    }

    [Fact]
    public void Written_properties_override_every_default()
    {
        using var project = TestProject.With("<Layers>6</Layers>", """
            <Layers>6</Layers>
                <ModelName>tiny-afm</ModelName> <Version>0.2.0-preview.1</Version> <Seed>7</Seed> <AfmThreads>4</AfmThreads>
                <FfnDim>512</FfnDim> <RopeBase>10000</RopeBase> <TieEmbeddings>false</TieEmbeddings> <QkNorm>False</QkNorm>
                <MaxSequenceLength>2048</MaxSequenceLength> <NormEpsilon>1e-6</NormEpsilon> <ValidationFraction>0.5</ValidationFraction>
            """);
        var spec = ReadValid(project);
        Assert.Equal(("tiny-afm", "0.2.0-preview.1", 7L, 4, 0.5), (spec.Name, spec.Version, spec.Seed, spec.Threads, spec.ValidationFraction));
        var a = spec.Architecture;
        Assert.Equal((512, 10000.0, false, false, 2048, 1e-6), (a.FfnDim, a.RopeBase, a.TieEmbeddings, a.QkNorm, a.MaxSequenceLength, a.NormEpsilon));
        Assert.Equal(10000.0, spec.TrainingStages[0].RopeBase);
    }
}
