namespace Afm.Data.Samples;

/// <summary>The closed word lists the sample corpora draw from; small on purpose so a tiny model can learn them.</summary>
internal static class Words
{
    public static readonly string[] Names = ["Mira", "Tobin", "Alder", "Sela", "Ronan", "Ivy", "Kesh", "Lune", "Pim", "Oda", "Bram", "Tessa"];
    public static readonly string[] Animals = ["fox", "owl", "cat", "dog", "goat", "heron", "badger", "rabbit"];
    public static readonly string[] Places = ["the harbor", "the old mill", "the quiet garden", "the market", "the library", "the forest", "the bakery", "the hill"];
    public static readonly string[] Objects = ["lantern", "key", "red scarf", "map", "wooden boat", "silver coin", "blue kite", "little drum"];
    public static readonly string[] Hiding = ["under the bed", "behind the door", "in the tall grass", "on the top shelf", "inside an old box", "near the well"];
    public static readonly string[] Times = ["morning", "evening", "rainy day", "windy afternoon", "cold night", "sunny day"];
    public static readonly string[] Feelings = ["happy", "tired but glad", "proud", "relieved", "calm"];
    public static readonly string[] Syllables = ["ve", "lo", "ri", "ta", "nis", "mar", "dun", "el", "ka", "or", "sha", "bel", "tor", "quin", "ab", "ur"];
    public static readonly string[] Days = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"];
    public static readonly string[] Meetings = ["Budget review", "Team sync", "Design chat", "Dentist", "Lunch", "Project kickoff", "Piano lesson"];
    public static readonly string[] Shops = ["Greenleaf Books", "North Market", "Pixel Store", "Oak & Iron", "Sunny Pharmacy"];
    public static readonly string[] Items = ["a pair of boots", "two notebooks", "a desk lamp", "a phone charger", "a coffee grinder", "a rain jacket"];
}
