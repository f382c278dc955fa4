using Afm.Core.Spec;
using Afm.Profiling.Formats;
using Afm.Profiling.Profile;

namespace Afm.Profiling.Tests;

public sealed class ProfileSpecs
{
    private static ProfileDocument Profile() =>
        ProfileBuilder.Build("micro", Micro.Architecture(), BuiltInDeviceProfiles.PhoneNpu, new ProfileWorkload(16, 64, 16, 2));

    [Fact]
    public void Profile_json_round_trips_and_tabulates_every_standard_format_per_layer()
    {
        var profile = Profile();
        var loaded = ProfileDocument.FromJson(profile.ToJson());
        Assert.Equal(profile.ToJson(), loaded.ToJson());
        var costs = new LayerCosts(loaded);
        foreach (var format in WeightFormat.Standard)
            Assert.True(costs.Cost("layers.1.mlp.down_proj", format, Phase.Decode).LatencyMs > 0);
    }

    [Fact]
    public void A_graph_that_runs_weights_resident_also_tabulates_the_MatMulNBits_formats_with_their_own_kernels()
    {
        var form = new Model.GraphForm(OnnxOps.Standard, 4);
        var profile = ProfileBuilder.Build("micro", Micro.Architecture(), BuiltInDeviceProfiles.LaptopCpu, new ProfileWorkload(16, 64, 16, 4), form: form);
        Assert.Equal([.. WeightFormat.Standard.Select(f => f.Name), "nbits4", "nbits2", "nbits8"], profile.Formats);
        var loaded = new LayerCosts(ProfileDocument.FromJson(profile.ToJson()));
        var fp32 = loaded.Cost("layers.0.mlp.up_proj", WeightFormat.Fp32, Phase.Decode);
        var nbits4 = loaded.Cost("layers.0.mlp.up_proj", WeightFormat.NBits(4), Phase.Decode);
        Assert.True(nbits4.WeightBytes < fp32.WeightBytes / 6);
        // The embedding's nbits8: the lookup by GatherBlockQuantized (a Reshape before and after) and the tied head as
        // two 4-bit MatMulNBits added, counted on the resident export.
        var op = profile.Ops.Single(o => o.Name == "lm_head");
        Assert.Equal(3, op.Kernels);
        Assert.True(op.Costs["decode"].ContainsKey("nbits8"));
        Assert.Equal(5, Model.DecoderOpCosts.For(Micro.Architecture(), 1, 64, 4, form: form).Single(o => o.Name == "lm_head").KernelsIn(WeightFormat.NBits(8)));
        // A float graph's profile keeps the standard formats only (profile.json unchanged for it).
        Assert.Equal(WeightFormat.Standard.Select(f => f.Name), Profile().Formats);
    }

    [Fact]
    public void Fewer_bits_mean_fewer_weight_bytes_and_a_cheaper_memory_bound_decode_step()
    {
        var costs = new LayerCosts(Profile());
        var widths = new[] { WeightFormat.Fp16, WeightFormat.Int8, WeightFormat.Palettized(4), WeightFormat.Palettized(2) }
            .Select(f => costs.Cost("layers.0.mlp.up_proj", f, Phase.Decode)).ToList();
        Assert.True(widths.Zip(widths.Skip(1)).All(p => p.Second.WeightBytes < p.First.WeightBytes && p.Second.EnergyMj < p.First.EnergyMj));
    }

    [Fact]
    public void A_layer_name_covers_the_layers_under_it()
    {
        var costs = new LayerCosts(Profile());
        var assignment = FormatAssignment.Parse(["layers.1.mlp=2bit"], costs.Layers);
        Assert.Equal(["layers.1.mlp.down_proj", "layers.1.mlp.gate_proj", "layers.1.mlp.up_proj"], assignment.Keys.Order(StringComparer.Ordinal));
        var before = costs.Totals(new Dictionary<string, WeightFormat>(), Phase.Decode);
        var after = costs.Totals(assignment, Phase.Decode);
        var saved = assignment.Keys.Sum(l => costs.Cost(l, WeightFormat.Fp16, Phase.Decode).WeightBytes - costs.Cost(l, WeightFormat.Palettized(2), Phase.Decode).WeightBytes);
        Assert.Equal(before.WeightBytes - saved, after.WeightBytes);
        Assert.True(after.LatencyMs < before.LatencyMs);
    }

    [Fact]
    public void A_what_if_pattern_naming_no_layer_is_AFM5104_a_bad_format_AFM5103_and_one_the_profile_does_not_cost_AFM5107()
    {
        var layers = new LayerCosts(Profile()).Layers;
        Assert.Equal("AFM5104", Assert.Throws<Afm.Core.Diagnostics.DiagnosticException>(() => FormatAssignment.Parse(["layers.9.mlp=2bit"], layers)).Diagnostic.Code);
        Assert.Equal("AFM5103", Assert.Throws<Afm.Core.Diagnostics.DiagnosticException>(() => FormatAssignment.Parse(["layers.0.mlp=9bit"], layers)).Diagnostic.Code);
        // A float graph's profile does not cost MatMulNBits: a diagnostic, not a missing key.
        Assert.Equal("AFM5107", Assert.Throws<Afm.Core.Diagnostics.DiagnosticException>(() => FormatAssignment.Parse(["layers.0.mlp=nbits4"], layers, Profile().Formats)).Diagnostic.Code);
    }

    [Fact]
    public void The_embedding_layer_of_a_tied_model_includes_the_output_projection()
    {
        var profile = Profile();
        var costs = new LayerCosts(profile);
        var lookup = profile.Ops.Single(o => o.Name == "embed").CostOf(Phase.Decode, WeightFormat.Int8);
        var head = profile.Ops.Single(o => o.Name == "lm_head").CostOf(Phase.Decode, WeightFormat.Int8);
        Assert.Equal(lookup.LatencyMs + head.LatencyMs, costs.Cost("embed", WeightFormat.Int8, Phase.Decode).LatencyMs, 12);
    }

    [Fact]
    public void The_stage_writes_a_profile_table_and_charts_per_device()
    {
        var folder = Path.Combine(Path.GetTempPath(), $"afm-profile-{Guid.NewGuid():N}");
        try
        {
            ProfileStage.WriteDevice(folder, Profile());
            Assert.Contains("| layers.0.attn.q_proj |", File.ReadAllText(Path.Combine(folder, "profile.md")));
            var png = File.ReadAllBytes(Path.Combine(folder, "profile-decode.png"));
            Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png.Take(4));
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }
}
