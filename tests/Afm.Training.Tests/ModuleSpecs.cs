using Afm.Training.Model;
using TorchSharp;
using static TorchSharp.torch;

namespace Afm.Training.Tests;

public sealed class ModuleSpecs
{
    [Fact]
    public void RmsNorm_divides_by_the_root_mean_square_and_scales_by_its_weight()
    {
        using var scope = NewDisposeScope();
        using var norm = new RmsNorm("norm", 4, 1e-6);
        using (no_grad()) norm.Weight.copy_(tensor(new float[] { 1, 2, 3, 4 }));
        var x = tensor(new float[] { 1, 2, 3, 4 }).reshape(1, 4);
        double rms = Math.Sqrt((1 + 4 + 9 + 16) / 4.0 + 1e-6);
        var expected = new[] { 1 / rms * 1, 2 / rms * 2, 3 / rms * 3, 4 / rms * 4 };
        var actual = norm.forward(x).data<float>().ToArray();
        for (int i = 0; i < 4; i++) Assert.Equal(expected[i], actual[i], 5);
    }

    [Fact]
    public void Rope_at_position_zero_is_the_identity()
    {
        using var scope = NewDisposeScope();
        using var rope = new RotaryEmbedding(8, 10000);
        manual_seed(1);
        var x = randn(2, 3, 1, 8);
        Assert.True(rope.Apply(x).allclose(x, rtol: 0, atol: 1e-7));
    }

    [Theory]
    [InlineData(10000.0)]
    [InlineData(6315089.0)]
    public void Rope_preserves_the_norm_of_every_position(double ropeBase)
    {
        using var scope = NewDisposeScope();
        using var rope = new RotaryEmbedding(8, ropeBase);
        manual_seed(2);
        var x = randn(1, 2, 50, 8);
        var rotated = rope.Apply(x);
        Assert.True(rotated.norm(dim: -1).allclose(x.norm(dim: -1), rtol: 1e-5, atol: 1e-5));
        Assert.False(rotated.narrow(2, 1, 49).allclose(x.narrow(2, 1, 49), atol: 1e-3));
    }

    [Fact]
    public void Rope_tables_follow_a_base_change()
    {
        using var scope = NewDisposeScope();
        using var rope = new RotaryEmbedding(8, 10000);
        manual_seed(3);
        var x = randn(1, 1, 16, 8);
        var before = rope.Apply(x);
        rope.Base = 6315089;
        Assert.False(rope.Apply(x).allclose(before, atol: 1e-4));
    }

    [Fact]
    public void Grouped_query_attention_with_as_many_kv_heads_as_heads_is_plain_causal_multi_head_attention()
    {
        using var scope = NewDisposeScope();
        manual_seed(4);
        using var rope = new RotaryEmbedding(4, 10000);
        using var attention = new GroupedQueryAttention("attn", 16, 4, 4, qkNorm: false, 1e-5, rope);
        var p = attention.named_parameters().ToDictionary(n => n.name, n => (Tensor)n.parameter);
        var x = randn(2, 5, 16);

        // The textbook computation, head by head, with an explicit causal mask.
        Tensor Heads(Tensor t) => t.view(2, 5, 4, 4).transpose(1, 2);
        var q = rope.Apply(Heads(x.matmul(p["q_proj.weight"].t())));
        var k = rope.Apply(Heads(x.matmul(p["k_proj.weight"].t())));
        var v = Heads(x.matmul(p["v_proj.weight"].t()));
        var mask = ones(5, 5).triu(1).to_type(ScalarType.Bool);
        var scores = q.matmul(k.transpose(-2, -1)).div(2.0).masked_fill(mask, double.NegativeInfinity);
        var expected = scores.softmax(-1).matmul(v).transpose(1, 2).reshape(2, 5, 16).matmul(p["o_proj.weight"].t());

        Assert.True(attention.forward(x).allclose(expected, rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void Grouped_query_attention_shares_each_kv_head_with_its_group_of_query_heads()
    {
        using var scope = NewDisposeScope();
        manual_seed(6);
        using var rope = new RotaryEmbedding(4, 10000);
        using var grouped = new GroupedQueryAttention("attn", 16, 4, 2, qkNorm: false, 1e-5, rope);
        using var plain = new GroupedQueryAttention("attn", 16, 4, 4, qkNorm: false, 1e-5, rope);
        var g = grouped.named_parameters().ToDictionary(n => n.name, n => (Tensor)n.parameter);
        var p = plain.named_parameters().ToDictionary(n => n.name, n => (Tensor)n.parameter);
        using (no_grad())
        {
            // Plain heads 0,1 use kv head 0 and heads 2,3 use kv head 1: duplicate the [2*4, 16] rows per head.
            Tensor Expand(Tensor w) => w.view(2, 1, 4, 16).expand(2, 2, 4, 16).reshape(16, 16);
            p["q_proj.weight"].copy_(g["q_proj.weight"]);
            p["o_proj.weight"].copy_(g["o_proj.weight"]);
            p["k_proj.weight"].copy_(Expand(g["k_proj.weight"]));
            p["v_proj.weight"].copy_(Expand(g["v_proj.weight"]));
        }
        var x = randn(2, 6, 16);
        Assert.True(grouped.forward(x).allclose(plain.forward(x), rtol: 1e-4, atol: 1e-5));
    }

    [Fact]
    public void Decoder_parameters_have_stable_readable_names()
    {
        using var model = new AfmDecoder(MicroModels.Architecture(tie: false));
        var names = model.named_parameters().Select(p => p.name).ToHashSet();
        foreach (var name in new[] { "embed.weight", "layers.0.attn_norm.weight", "layers.0.attn.q_proj.weight", "layers.0.attn.k_proj.weight",
                     "layers.0.attn.v_proj.weight", "layers.0.attn.o_proj.weight", "layers.0.attn.q_norm.weight", "layers.0.attn.k_norm.weight",
                     "layers.1.mlp_norm.weight", "layers.1.mlp.gate_proj.weight", "layers.1.mlp.up_proj.weight", "layers.1.mlp.down_proj.weight",
                     "norm.weight", "lm_head.weight" })
            Assert.Contains(name, names);
        Assert.Equal(1 + 2 * 11 + 1 + 1, names.Count);
    }

    [Fact]
    public void Tied_decoder_uses_the_embedding_storage_as_its_output_projection()
    {
        using var model = new AfmDecoder(MicroModels.Architecture(tie: true));
        Assert.DoesNotContain(model.named_parameters(), p => p.name.StartsWith("lm_head", StringComparison.Ordinal));
        using (no_grad()) model.EmbeddingWeight.fill_(0.5);
        Assert.Equal(0.5f, model.OutputWeight.min().item<float>());
        using (no_grad()) model.EmbeddingWeight.zero_();
        using var scope = NewDisposeScope();
        var logits = model.forward(tensor(new long[] { 1, 2, 3 }).reshape(1, 3));
        Assert.Equal(0f, logits.abs().max().item<float>());
    }

    [Fact]
    public void Decoder_logits_at_a_position_do_not_depend_on_later_tokens()
    {
        using var scope = NewDisposeScope();
        manual_seed(5);
        using var model = new AfmDecoder(MicroModels.Architecture());
        model.eval();
        var a = tensor(new long[] { 1, 2, 3, 4, 5, 6, 7, 8 }).reshape(1, 8);
        var b = tensor(new long[] { 1, 2, 3, 4, 9, 9, 0, 15 }).reshape(1, 8);
        using var noGrad = no_grad();
        var la = model.forward(a);
        var lb = model.forward(b);
        Assert.True(la.narrow(1, 0, 4).allclose(lb.narrow(1, 0, 4), rtol: 1e-5, atol: 1e-6));
        Assert.False(la.narrow(1, 4, 1).allclose(lb.narrow(1, 4, 1), atol: 1e-4));
    }
}
