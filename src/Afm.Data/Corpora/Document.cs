namespace Afm.Data.Corpora;

/// <summary>
/// One document of a corpus. <paramref name="Id"/> is stable across machines ("corpus/relative/path" for a text
/// file, "corpus/relative/path:line" for a JSON lines record): the train/validation split hashes it.
/// </summary>
public sealed record Document(string Id, string Text);
