using System.Text.Json.Serialization;

namespace Matrix.Rooms.Projections.Documents;

/// <summary>
/// How many users are joined to and invited into one room (sync's <c>summary</c>, the public room directory's
/// <c>num_joined_members</c>): one row per room, kept by <see cref="Projections.RoomMemberCountProjection"/> as member
/// events arrive, so reading a count is one row whatever the room's size.
/// </summary>
public sealed record RoomMemberCounts
{
    /// <summary>The room ID.</summary>
    public required string Id { get; init; }
    public int Joined { get; init; }
    public int Invited { get; init; }

    /// <summary>
    /// While a replay folds the room from its first event in memory (the tooling's rebuild, import, bulk seeding): each
    /// target's membership so far, for events stored without <see cref="Domain.Events.MemberEvent.PreviousMembership"/>.
    /// Never stored.
    /// </summary>
    [JsonIgnore] internal Dictionary<string, (long Version, string Previous, string Membership)>? Seen { get; init; }
}
