using Afm.Training.Adapters;
using Afm.Training.Checkpoints;
using Afm.Training.Model;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

public sealed class LoraAdapterSpecs
{
    private static Tensor Ids() => tensor(new long[] { 1, 5, 3, 9, 2, 7, 4, 11 }, [1, 8]);

    [Fact]
    public void A_fresh_adapter_leaves_the_model_unchanged_because_B_starts_at_zero()
    {
        using var scope = NewDisposeScope();
        var arch = MicroModels.Architecture();
        using var model = new AfmDecoder(arch, seed: 3);
        model.eval();
        var before = model.forward(Ids());
        using var adapter = LoraAdapter.Create(arch, rank: 4, alpha: 8, seed: 1);
        adapter.Attach(model);
        Assert.True(MicroModels.SameValues(before, model.forward(Ids())));
        Assert.All(adapter.Pairs, p => Assert.Equal(0, p.B.abs().sum().item<float>()));
        Assert.Equal(7 * arch.Layers, adapter.Pairs.Count);
    }

    [Fact]
    public void An_attached_adapter_equals_the_base_with_scale_times_B_A_added_to_every_projection()
    {
        using var scope = NewDisposeScope();
        var arch = MicroModels.Architecture();
        // AfmDecoder's init draws from torch's global generator (nn.init ignores the one it is given in TorchSharp 0.107).
        manual_seed(3);
        using var model = new AfmDecoder(arch, seed: 3);
        manual_seed(3);
        using var merged = new AfmDecoder(arch, seed: 3);
        model.eval(); merged.eval();
        using var adapter = RandomAdapter(arch, rank: 2, alpha: 6);
        using (no_grad())
        {
            var parameters = merged.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            foreach (var pair in adapter.Pairs) parameters[pair.Weight].add_(pair.B.matmul(pair.A).mul(adapter.Scale));
        }
        adapter.Attach(model);
        var diff = (model.forward(Ids()) - merged.forward(Ids())).abs().max().item<float>();
        Assert.True(diff < 1e-5, $"max diff {diff}");
        adapter.Detach();
        Assert.False(model.forward(Ids()).allclose(merged.forward(Ids()), rtol: 0, atol: 1e-3));
    }

    [Fact]
    public void Detaching_restores_the_base_exactly()
    {
        using var scope = NewDisposeScope();
        var arch = MicroModels.Architecture();
        using var model = new AfmDecoder(arch, seed: 3);
        model.eval();
        var before = model.forward(Ids());
        using var adapter = RandomAdapter(arch, rank: 2, alpha: 2);
        adapter.Attach(model);
        adapter.Detach();
        Assert.True(MicroModels.SameValues(before, model.forward(Ids())));
    }

    [Fact]
    public void The_file_folds_the_scale_into_B_and_reading_it_gives_the_same_outputs()
    {
        using var scope = NewDisposeScope();
        var arch = MicroModels.Architecture();
        using var model = new AfmDecoder(arch, seed: 3);
        model.eval();
        using var adapter = RandomAdapter(arch, rank: 4, alpha: 8);
        adapter.Attach(model);
        var expected = model.forward(Ids());
        adapter.Detach();

        string path = Path.Combine(MicroModels.TempDirectory(), AdapterFile.FileName);
        AdapterFile.Write(path, adapter, new AdapterInfo("recovery-r4", "accuracy-recovery", 4, "1.2.3", new string('a', 64)));
        var (tensors, metadata) = SafeTensors.Read(path);
        Assert.Equal(2 * 7 * arch.Layers, tensors.Count);
        Assert.Equal([4L, 32L], tensors["layers.0.attn.q_proj.weight.lora_A"].shape);
        Assert.Equal([64L, 4L], tensors["layers.1.mlp.up_proj.weight.lora_B"].shape);
        Assert.All(tensors.Values, t => Assert.Equal(ScalarType.Float32, t.dtype));
        var b = adapter.Pairs[0].B;
        Assert.True(tensors[adapter.Pairs[0].Weight + ".lora_B"].allclose(b * 2.0, rtol: 0, atol: 1e-7));
        Assert.Equal(("recovery-r4", "accuracy-recovery", "4", "1.2.3"), (metadata["name"], metadata["kind"], metadata["rank"], metadata["version"]));

        var (loaded, info) = AdapterFile.Read(path, arch);
        using (loaded)
        {
            Assert.Equal(1.0, loaded.Scale);
            Assert.Equal(new string('a', 64), info.BaseSha256);
            loaded.Attach(model);
            Assert.True(model.forward(Ids()).allclose(expected, rtol: 0, atol: 1e-6));
        }
    }

    [Fact]
    public void Only_the_adapter_gets_gradients_on_a_frozen_base()
    {
        using var scope = NewDisposeScope();
        var arch = MicroModels.Architecture();
        using var model = AdapterBase.Freeze(new AfmDecoder(arch, seed: 3));
        using var adapter = LoraAdapter.Create(arch, rank: 2, alpha: 4, seed: 1);
        adapter.Attach(model);
        var logits = model.forward(Ids());
        nn.functional.cross_entropy(logits.reshape(-1, arch.VocabSize), Ids().reshape(-1)).backward();
        Assert.All(model.parameters(), p => Assert.Null(p.grad));
        Assert.All(adapter.Pairs, p => Assert.NotNull(p.B.grad));
    }

    [Fact]
    public void The_seed_alone_fixes_A_whatever_torch_drew_before()
    {
        using var scope = NewDisposeScope();
        var arch = MicroModels.Architecture();
        manual_seed(1);
        using var first = LoraAdapter.Create(arch, rank: 4, alpha: 8, seed: 42);
        manual_seed(2);
        _ = randn(10);
        using var second = LoraAdapter.Create(arch, rank: 4, alpha: 8, seed: 42);
        Assert.All(first.Pairs.Zip(second.Pairs), p => Assert.True(MicroModels.SameValues(p.First.A, p.Second.A)));
        Assert.False(MicroModels.SameValues(first.Pairs[0].A, first.Pairs[1].A.narrow(1, 0, 32)));
    }

    private static LoraAdapter RandomAdapter(Afm.Core.Spec.ArchitectureSpec arch, int rank, double alpha)
    {
        var adapter = LoraAdapter.Create(arch, rank, alpha, seed: 5);
        using var noGrad = no_grad();
        manual_seed(9);
        foreach (var p in adapter.Pairs) p.B.copy_(randn(p.B.shape).mul(0.05));
        return adapter;
    }
}
