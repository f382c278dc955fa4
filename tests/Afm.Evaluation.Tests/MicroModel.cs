using Afm.Data.Tokenization;
using Afm.Onnx.Export;
using Afm.Runtime.Adapters;
using Afm.Runtime.Sessions;
using Afm.Runtime.Tests;
using Afm.Tokenizers;

namespace Afm.Evaluation.Tests;

/// <summary>
/// A real exported graph to evaluate: a BPE tokenizer trained on a few sentences and a random micro decoder exported to
/// ONNX, loaded by the runtime's DecoderSession. Shared by the tests of a class (training the tokenizer takes a moment).
/// </summary>
public sealed class MicroModel : IDisposable
{
    private static readonly string[] Sentences =
    [
        "Ada has a red kite and a blue boat.", "Bo reads a green book by the lamp.", "Cy and Di sail the gold boat.",
        "The kite is red. The book is green. The lamp is gold.", "Ed counts 12 apples and 34 kites.",
    ];

    public MicroModel()
    {
        Directory = Path.Combine(Path.GetTempPath(), "afm-evaluation-tests", "model-" + Guid.NewGuid().ToString("N")[..12]);
        var tokenizerDirectory = Path.Combine(Directory, "tokenizer");
        var vocabulary = BpeTrainer.Train(Enumerable.Repeat(Sentences, 20).SelectMany(s => s),
            new BpeTrainingOptions(VocabSize: 300, SplitDigits: true, ByteFallback: true, SpecialTokens: []));
        vocabulary.Save(tokenizerDirectory);
        var graph = Path.Combine(Directory, "model.onnx");
        File.WriteAllBytes(graph, DecoderExporter.Export(TestArtifact.RandomDecoder(vocabulary.VocabSize), "test"));
        Session = new DecoderSession(graph, new RuntimeOptions { IntraOpThreads = 1 });
        Tokenizer = AfmTokenizer.Load(tokenizerDirectory);
    }

    public string Directory { get; }
    public DecoderSession Session { get; }
    public AfmTokenizer Tokenizer { get; }
    public AdapterSet Adapters => AdapterSet.Empty;

    public void Dispose()
    {
        Session.Dispose();
        try { System.IO.Directory.Delete(Directory, true); } catch (IOException) { }
    }
}
