using Afm.Interchange.GenAI;
using Afm.Interchange.Gguf;
using Afm.Tokenizers;
using Microsoft.ML.OnnxRuntimeGenAI;
using Xunit;

namespace Afm.Interchange.Tests;

/// <summary>
/// The project's tokenizer as exported (tokenizer.ggml.* keys in the GGUF, tokenizer.json + tokenizer_config.json in the
/// GenAI folder) gives the ids ours gives, in llama.cpp's and in ONNX Runtime GenAI's own tokenizers.
/// </summary>
public sealed class ExportedTokenizerPeerTests
{
    /// <summary>Digits, emoji (outside the BMP), CJK and Hangul, runs of spaces, tabs and newlines, a special token.</summary>
    private const string Text = "Call 555-0199 at 10:30, 2024 items 🙂🚀 東京タワー と 한국어   three spaces\n\n\ttab  <|endoftext|> the end  ";

    [Fact]
    public void Llama_cpp_tokenizes_like_ours()
    {
        using var micro = MicroModel.Create();
        var path = Path.Combine(micro.Folder, GgufNames.FileName("micro", "0.1.0", GgmlType.F32));
        GgufModelWriter.Write(path, micro.Export, micro.GgufTokenizer(), new GgufModelInfo("micro", "0.1.0", "test"), GgmlType.F32);
        var ours = micro.LoadTokenizer().Encode(Text);
        Assert.Contains(0, ours); // the special token is one id
        Assert.Equal(ours, LlamaCppPeer.Tokenize(path, Text));
    }

    [Fact]
    public void GenAI_tokenizes_like_ours()
    {
        using var micro = MicroModel.Create();
        var tokenizer = micro.LoadTokenizer();
        var folder = Path.Combine(micro.Folder, "genai");
        GenAIFolder.Write(folder, micro.Architecture, new GenAITokenIds(0, 0, 0), File.ReadAllBytes(micro.OnnxPath),
            into => HuggingFaceTokenizerWriter.Write(tokenizer, into), new Dictionary<string, byte[]>());
        using var model = new Model(folder);
        using var genai = new Tokenizer(model);
        using var sequences = genai.Encode(Text);
        // GenAI's tokenizer (onnxruntime-extensions, class Qwen2Tokenizer) adds no beginning-of-sequence token, although
        // tokenizer_config.json has add_bos_token and tokenizer.json a post-processor that adds it: the text's ids are
        // ours; a GenAI caller prepends the end-of-text token itself, as our runtime does for a prompt.
        Assert.Equal(tokenizer.Encode(Text), sequences[0].ToArray());
        Assert.Equal([0, .. tokenizer.Encode(Text)], tokenizer.EncodeSequence(Text));
    }
}
