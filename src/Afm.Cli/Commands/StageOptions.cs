using System.CommandLine;

namespace Afm.Cli.Commands;

/// <summary>
/// Options shared by the stage commands; each call makes a fresh option (an option belongs to one command). The inputs
/// a stage reads must exist when it starts (<see cref="OptionRules"/>); outputs are created.
/// </summary>
internal static class StageOptions
{
    public static Option<string> Spec() => Required("--spec", "The validated spec.json written by `afm validate`.").ExistingFile();
    public static Option<string> Out(string what) => Required("--out", what);
    public static Option<string> Tokenizer() => Required("--tokenizer", "The tokenizer folder written by `afm tokenizer`.").ExistingDirectory();
    public static Option<string> Data() => Required("--data", "The data folder written by `afm data`.").ExistingDirectory();
    public static Option<string> Train() => Required("--train", "The train folder written by `afm train`.").ExistingDirectory();

    public static Option<string> Required(string name, string description) =>
        new(name) { Description = description, Required = true };
}
