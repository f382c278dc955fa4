using Afm.Data.Common;

namespace Afm.Data.Samples;

/// <summary>
/// Short phone notifications, each with a one-line reference summary: the data a summarization feature adapter
/// is trained and scored on later. The summary keeps exactly the facts that matter (who, what, when).
/// </summary>
internal static class NotificationWriter
{
    public static (string Text, string Summary) Write(ref SplitMix64 random)
    {
        switch (random.Next(4))
        {
            case 0:
            {
                var (meeting, person, day) = (random.Pick(Words.Meetings), random.Pick(Words.Names), random.Pick(Words.Days));
                var (from, to) = (Clock(ref random), Clock(ref random));
                return ($"Calendar: \"{meeting}\" with {person} has been moved from {from} to {to} on {day}. Please update your plans. Room {random.Between(1, 9)}.",
                        $"{meeting} with {person} moved to {day} {to}.");
            }
            case 1:
            {
                var (shop, item) = (random.Pick(Words.Shops), random.Pick(Words.Items));
                var day = random.Pick(Words.Days);
                return ($"{shop}: Good news! Your order #{random.Between(1000, 9999)} with {item} has shipped and should arrive on {day}. Track it in the app.",
                        $"Order with {item} from {shop} arrives {day}.");
            }
            case 2:
            {
                var (person, place) = (random.Pick(Words.Names), random.Pick(Words.Places));
                var time = Clock(ref random);
                return ($"Message from {person}: Hi! Are we still meeting at {place} at {time}? I will bring the {random.Pick(Words.Objects)}. Let me know soon.",
                        $"{person} asks to confirm meeting at {place} at {time}.");
            }
            default:
            {
                var (person, amount) = (random.Pick(Words.Names), random.Between(5, 300));
                return ($"Bank: You received {amount}.00 from {person}. Reference: \"{random.Pick(Words.Meetings)}\". Your balance has been updated.",
                        $"Received {amount}.00 from {person}.");
            }
        }
    }

    private static string Clock(ref SplitMix64 random) => $"{random.Between(7, 20):D2}:{random.Pick(new[] { "00", "15", "30", "45" })}";
}
