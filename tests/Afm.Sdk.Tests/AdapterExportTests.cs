using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Afm.Sdk.Tests.Infrastructure;

namespace Afm.Sdk.Tests;

/// <summary>
/// With Adapter items, the export-adapters stage turns each trained adapter (obj/.../afm/adapters/&lt;name&gt;/adapter.safetensors)
/// into adapters/&lt;name&gt;.onnx_adapter + .json in the artifact, hashed by the manifest, and `afm run --adapter` uses it.
/// The other-base case writes its adapter file by hand, as a stale or foreign adapter would be.
/// </summary>
[Collection(ToolchainCollection.Name)]
public sealed class AdapterExportTests
{
    private static string Compiler => RepositoryLayout.Compiler;

    private const string Items = MicroModel.ItemsWithRecoveryAdapter;

    [Fact]
    public void The_adapters_stage_output_is_packaged_as_an_ORT_adapter_file_and_afm_run_activates_it()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items));
        var build = project.Build();
        Assert.True(build.ExitCode == 0, build.ToString());
        Assert.Contains("export-adapters: recovery-r4 (rank 4, 28 tensors", build.Output);
        var afm = project.PathOf("obj/Debug/afm");
        var baseSha = Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(Path.Combine(afm, "train", "model.safetensors"))));
        var artifact = ArtifactReader.Open(project.PathOf("bin/Debug/micro.0.3.0.afmpkg"));
        Assert.Equal("TORT", Encoding.ASCII.GetString(artifact.Entries["adapters/recovery-r4.onnx_adapter"], 4, 4));
        Assert.Equal(baseSha, artifact.Json("adapters/recovery-r4.json").RootElement.GetProperty("base_sha256").GetString());
        Assert.Contains(artifact.Manifest.Files, f => f.Path == "adapters/recovery-r4.onnx_adapter");
        Assert.Contains(artifact.Manifest.Files, f => f.Path == "adapters/recovery-r4.json");
        Assert.Equal(["validate", "tokenizer", "data", "train", "adapters", "export", "export-adapters", "package"], artifact.Manifest.Stages);
        var question = project.Build("-question");
        Assert.True(question.ExitCode == 0, "an unchanged project with adapters is up to date\n" + question);

        var package = project.PathOf("bin/Debug/micro.0.3.0.afmpkg");
        var run = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada has a", "--max-tokens", "6", "--temperature", "0", "--adapter", "recovery-r4");
        Assert.True(run.ExitCode == 0, run.ToString());
        Assert.Contains("[micro:recovery-r4: ", run.Output);
        var unknown = ProcessRunner.Dotnet(project.Directory, Compiler, "run", package, "--prompt", "Ada", "--adapter", "translate");
        Assert.Equal(1, unknown.ExitCode);
        Assert.Contains("error AFM7005", unknown.Output);
    }

    [Fact]
    public void An_adapter_trained_on_other_base_weights_fails_the_build_with_AFM7006()
    {
        using var project = ModelProject.Create(MicroModel.Project(items: Items));
        Assert.Equal(0, project.Build().ExitCode);
        var adapterDirectory = project.PathOf("obj/Debug/afm/adapters/stale");
        Directory.CreateDirectory(adapterDirectory);
        WriteAdapter(Path.Combine(adapterDirectory, "adapter.safetensors"), "stale", new string('0', 64));

        var build = project.Build();

        Assert.NotEqual(0, build.ExitCode);
        Assert.Contains("error AFM7006", build.Output);
        Assert.Contains("adapter 'stale' was trained on base weights 0000", build.Output);
    }

    /// <summary>
    /// adapter.safetensors as the adapters stage writes it, with random A/B for the micro model's projections:
    /// dim 32, 4 heads and 2 kv heads of 8, FFN 64 (MicroModel.Properties).
    /// </summary>
    private static void WriteAdapter(string path, string name, string baseSha)
    {
        const int rank = 4;
        (string Projection, long Out, long In)[] projections =
        [
            ("attn.q_proj", 32, 32), ("attn.k_proj", 16, 32), ("attn.v_proj", 16, 32), ("attn.o_proj", 32, 32),
            ("mlp.gate_proj", 64, 32), ("mlp.up_proj", 64, 32), ("mlp.down_proj", 32, 64),
        ];
        var random = new Random(1);
        var tensors = new SortedDictionary<string, (long[] Shape, float[] Values)>(StringComparer.Ordinal);
        for (int layer = 0; layer < 2; layer++)
            foreach (var (projection, outDim, inDim) in projections)
            {
                var weight = $"layers.{layer}.{projection}.weight";
                tensors[weight + ".lora_A"] = ([rank, inDim], Random(random, rank * inDim));
                tensors[weight + ".lora_B"] = ([outDim, rank], Random(random, outDim * rank));
            }

        var header = new Dictionary<string, object>
        {
            ["__metadata__"] = new Dictionary<string, string> { ["name"] = name, ["kind"] = "feature", ["rank"] = "4", ["version"] = "0.3.0", ["base_sha256"] = baseSha },
        };
        long offset = 0;
        foreach (var (key, (shape, values)) in tensors)
        {
            header[key] = new { dtype = "F32", shape, data_offsets = new[] { offset, offset + 4L * values.Length } };
            offset += 4L * values.Length;
        }
        var headerBytes = JsonSerializer.SerializeToUtf8Bytes(header);
        using var stream = File.Create(path);
        Span<byte> length = stackalloc byte[8];
        BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)headerBytes.Length);
        stream.Write(length);
        stream.Write(headerBytes);
        Span<byte> bytes = stackalloc byte[4];
        foreach (var (_, (_, values)) in tensors)
            foreach (var value in values)
            {
                BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
                stream.Write(bytes);
            }
    }

    private static float[] Random(Random random, long count) =>
        Enumerable.Range(0, (int)count).Select(_ => (float)(random.NextDouble() * 2 - 1) * 0.1f).ToArray();
}
