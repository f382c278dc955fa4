using System.Text.Json.Nodes;
using Afm.Interchange.Tests;

namespace Afm.Serving.Tests;

/// <summary>
/// A pinned npm package under tests/peers/&lt;name&gt; run by Node: the first use installs it from the folder's
/// package-lock.json (<c>npm ci</c>), so a fresh clone needs no manual step (as tests/peers/llama-cpp).
/// </summary>
internal sealed class NodePeer
{
    private readonly Lazy<string> folder;

    /// <param name="installed">A file under node_modules that exists once the install is done.</param>
    public NodePeer(string name, string installed) =>
        folder = new Lazy<string>(() => Install(name, installed), LazyThreadSafetyMode.ExecutionAndPublication);

    public static readonly NodePeer HuggingFaceJinja = new("hf-jinja", "@huggingface/jinja/package.json");
    public static readonly NodePeer OpenAI = new("openai", "openai/package.json");
    /// <summary>Ajv, the JSON Schema validator that checks structured output independently of the server.</summary>
    public static readonly NodePeer JsonSchema = new("json-schema", "ajv/package.json");

    /// <summary>Runs <paramref name="script"/> with one JSON request on stdin; its last stdout line is the JSON answer.</summary>
    public JsonNode Ask(string script, JsonObject request, TimeSpan? timeout = null)
    {
        var (code, stdout, stderr) = PeerProcess.Run("node", [script], folder.Value, request.ToJsonString(), timeout ?? TimeSpan.FromMinutes(2));
        if (code != 0) throw new InvalidOperationException($"node {script} failed ({code}):\n{stderr}\n{stdout}");
        return JsonNode.Parse(stdout.Trim().Split('\n')[^1])!;
    }

    private static string Install(string name, string installed)
    {
        var path = RepositoryPaths.Peer(name);
        if (!File.Exists(Path.Combine(path, "node_modules", installed)))
        {
            var (code, stdout, stderr) = PeerProcess.Run("npm", ["ci", "--ignore-scripts", "--no-audit", "--no-fund"], path, null, TimeSpan.FromMinutes(10));
            if (code != 0) throw new InvalidOperationException($"npm ci in {path} failed ({code}):\n{stderr}\n{stdout}");
        }
        return path;
    }
}
