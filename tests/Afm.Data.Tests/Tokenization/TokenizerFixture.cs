using Afm.Data.Tokenization;
using Afm.Tokenizers;

namespace Afm.Data.Tests.Tokenization;

/// <summary>One small tokenizer trained once and shared by the tokenizer tests (keeps the suite fast).</summary>
public sealed class TokenizerFixture : IDisposable
{
    private readonly TempDirectory _directory = new();

    public TokenizerFixture()
    {
        Vocabulary = BpeTrainer.Train(TrainingText(), new BpeTrainingOptions(600, SplitDigits: true, ByteFallback: true, ["<|pad|>"]));
        Vocabulary.Save(_directory.Path);
        Tokenizer = AfmTokenizer.Load(_directory.Path);
    }

    public BpeVocabulary Vocabulary { get; }
    public AfmTokenizer Tokenizer { get; }
    public string Directory => _directory.Path;

    public static IEnumerable<string> TrainingText()
    {
        string[] names = ["Mira", "Tobin", "Alder", "Sela"];
        string[] places = ["the harbor", "the old mill", "a quiet garden", "the market"];
        for (var i = 0; i < 400; i++)
        {
            yield return $"{names[i % 4]} walked to {places[(i / 4) % 4]} and found {i * 37 % 1000} shiny stones. " +
                         $"The weather was {(i % 3 == 0 ? "rainy" : "bright")}, so they stayed there until {i % 12 + 1} o'clock.";
        }
    }

    public void Dispose() => _directory.Dispose();
}
