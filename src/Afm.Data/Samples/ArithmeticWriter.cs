using Afm.Data.Common;

namespace Afm.Data.Samples;

/// <summary>Worksheets of small, always-correct arithmetic facts ("12 + 7 = 19", "6 * 7 = 42"), one per line.</summary>
internal static class ArithmeticWriter
{
    public static string Write(ref SplitMix64 random)
    {
        var count = random.Between(4, 10);
        var lines = new List<string>(count);
        for (var i = 0; i < count; i++)
        {
            lines.Add(random.Next(4) switch
            {
                0 => Add(ref random),
                1 => Subtract(ref random),
                2 => Multiply(ref random),
                _ => Divide(ref random),
            });
        }
        return string.Join('\n', lines);
    }

    private static string Add(ref SplitMix64 random)
    {
        var (a, b) = (random.Between(0, 99), random.Between(0, 99));
        return $"{a} + {b} = {a + b}";
    }

    private static string Subtract(ref SplitMix64 random)
    {
        var (a, b) = (random.Between(0, 99), random.Between(0, 99));
        return a >= b ? $"{a} - {b} = {a - b}" : $"{b} - {a} = {b - a}";
    }

    private static string Multiply(ref SplitMix64 random)
    {
        var (a, b) = (random.Between(1, 12), random.Between(1, 12));
        return $"{a} * {b} = {a * b}";
    }

    private static string Divide(ref SplitMix64 random)
    {
        var (a, b) = (random.Between(1, 12), random.Between(1, 12));
        return $"{a * b} / {b} = {a}";
    }
}
