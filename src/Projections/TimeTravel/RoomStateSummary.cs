using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Projections.TimeTravel;

/// <summary>
/// What an operator asks of a room at a point in its history: who is in it and how, the power levels, the join rule,
/// history visibility and guest access (with the spec's defaults when the room has no such event), and the third-party
/// invites still waiting to be claimed. Serialises to snake_case JSON (<see cref="ToJson"/>).
/// </summary>
public sealed record RoomStateSummary
{
    [JsonPropertyName("room_id")] public required string RoomId { get; init; }

    /// <summary>The stream version the state is taken at (the number of events folded in).</summary>
    [JsonPropertyName("stream_version")] public long StreamVersion { get; init; }

    [JsonPropertyName("last_event_id")] public string? LastEventId { get; init; }

    /// <summary>origin_server_ts of the last event folded in (Unix milliseconds).</summary>
    [JsonPropertyName("last_origin_server_ts")] public long LastOriginServerTs { get; init; }

    [JsonPropertyName("room_version")] public string? RoomVersion { get; init; }
    [JsonPropertyName("creator")] public string? Creator { get; init; }
    [JsonPropertyName("name")] public string? Name { get; init; }
    [JsonPropertyName("topic")] public string? Topic { get; init; }

    /// <summary><c>join_rule</c>; <c>invite</c> when the room has no m.room.join_rules (as the authorization rules read it).</summary>
    [JsonPropertyName("join_rule")] public required string JoinRule { get; init; }

    /// <summary><c>history_visibility</c>; <c>shared</c> when missing or unknown (spec "Room History Visibility").</summary>
    [JsonPropertyName("history_visibility")] public required string HistoryVisibility { get; init; }

    /// <summary><c>guest_access</c>; <c>forbidden</c> when the room has no m.room.guest_access (spec "Guest Access").</summary>
    [JsonPropertyName("guest_access")] public required string GuestAccess { get; init; }

    /// <summary>The content of m.room.power_levels, or null when the room has none (the defaults then apply).</summary>
    [JsonPropertyName("power_levels")] public JsonObject? PowerLevels { get; init; }

    /// <summary>Every user with a member event, by user ID (ordinal order).</summary>
    [JsonPropertyName("members")] public required SortedDictionary<string, MemberSummary> Members { get; init; }

    /// <summary>How many users have each membership.</summary>
    [JsonPropertyName("member_counts")] public required SortedDictionary<string, int> MemberCounts { get; init; }

    /// <summary>m.room.third_party_invite events that are neither revoked (empty content) nor claimed by a member invite.</summary>
    [JsonPropertyName("pending_third_party_invites")] public required IReadOnlyList<ThirdPartyInviteSummary> PendingThirdPartyInvites { get; init; }

    /// <summary>Tokens of third-party invites revoked by sending the event with empty content.</summary>
    [JsonPropertyName("revoked_third_party_invites")] public required IReadOnlyList<string> RevokedThirdPartyInvites { get; init; }

    /// <summary>Tokens of third-party invites already exchanged for an m.room.member invite.</summary>
    [JsonPropertyName("claimed_third_party_invites")] public required IReadOnlyList<string> ClaimedThirdPartyInvites { get; init; }

    public JsonObject ToJson() => (JsonObject)JsonSerializer.SerializeToNode(this, MatrixJson.Options)!;

    public static RoomStateSummary From(RoomSnapshot snapshot)
    {
        var create = snapshot.Get(EventTypes.Create) as CreateEvent;
        var members = new SortedDictionary<string, MemberSummary>(StringComparer.Ordinal);
        var pending = new List<ThirdPartyInviteSummary>();
        var revoked = new List<string>();
        var claimed = new List<string>();
        foreach (var (key, (ev, version)) in snapshot.State)
        {
            switch (ev)
            {
                case MemberEvent member:
                    members[key.Key] = new MemberSummary
                    {
                        Membership = member.Membership ?? "",
                        DisplayName = member.ContentString("displayname"),
                        IsGuest = member.IsGuest ? true : null,
                        EventId = member.EventId,
                        StreamVersion = version,
                    };
                    break;
                case ThirdPartyInviteEvent invite when invite.IsRevoked:
                    revoked.Add(key.Key);
                    break;
                case ThirdPartyInviteEvent when snapshot.ClaimedInviteTokens.Contains(key.Key):
                    claimed.Add(key.Key);
                    break;
                case ThirdPartyInviteEvent invite:
                    pending.Add(new ThirdPartyInviteSummary
                    {
                        Token = key.Key,
                        DisplayName = invite.ContentString("display_name"),
                        Sender = invite.Sender,
                        KeyValidityUrl = invite.ContentString("key_validity_url"),
                        EventId = invite.EventId,
                        StreamVersion = version,
                    });
                    break;
            }
        }

        var rules = create is null ? null : Domain.Authorization.RoomVersion.Get(create.RoomVersion);
        return new RoomStateSummary
        {
            RoomId = snapshot.Id,
            StreamVersion = snapshot.Version,
            LastEventId = snapshot.LastEventId,
            LastOriginServerTs = snapshot.LastOriginServerTs.ToUnixTimeMilliseconds(),
            RoomVersion = create?.RoomVersion,
            Creator = create is null ? null
                : rules is { UseRoomCreateSender: true } ? create.Sender
                : create.ContentString("creator") ?? create.Sender,
            Name = snapshot.Get(EventTypes.Name)?.ContentString("name"),
            Topic = snapshot.Get(EventTypes.Topic)?.ContentString("topic"),
            JoinRule = snapshot.Get(EventTypes.JoinRules)?.ContentString("join_rule") ?? JoinRuleValues.Invite,
            HistoryVisibility = snapshot.Get(EventTypes.HistoryVisibility)?.ContentString("history_visibility") is
                { } hv && KnownVisibilities.Contains(hv) ? hv : "shared",
            GuestAccess = snapshot.Get(EventTypes.GuestAccess)?.ContentString("guest_access") ?? "forbidden",
            PowerLevels = snapshot.Get(EventTypes.PowerLevels)?.Content.DeepClone() as JsonObject,
            Members = members,
            MemberCounts = new SortedDictionary<string, int>(
                members.Values.GroupBy(m => m.Membership).ToDictionary(g => g.Key, g => g.Count()), StringComparer.Ordinal),
            PendingThirdPartyInvites = pending.OrderBy(p => p.StreamVersion).ToList(),
            RevokedThirdPartyInvites = revoked.Order(StringComparer.Ordinal).ToList(),
            ClaimedThirdPartyInvites = claimed.Order(StringComparer.Ordinal).ToList(),
        };
    }

    private static readonly HashSet<string> KnownVisibilities = ["world_readable", "shared", "invited", "joined"];
}

public sealed record MemberSummary
{
    [JsonPropertyName("membership")] public required string Membership { get; init; }

    [JsonPropertyName("displayname")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? DisplayName { get; init; }

    /// <summary>True for a local guest account; absent otherwise.</summary>
    [JsonPropertyName("is_guest")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public bool? IsGuest { get; init; }

    [JsonPropertyName("event_id")] public required string EventId { get; init; }
    [JsonPropertyName("stream_version")] public long StreamVersion { get; init; }
}

public sealed record ThirdPartyInviteSummary
{
    [JsonPropertyName("token")] public required string Token { get; init; }

    /// <summary>The invite's display_name (null when absent or not a string): never the invitee's address.</summary>
    [JsonPropertyName("display_name")] public string? DisplayName { get; init; }

    [JsonPropertyName("sender")] public required string Sender { get; init; }

    [JsonPropertyName("key_validity_url")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? KeyValidityUrl { get; init; }

    [JsonPropertyName("event_id")] public required string EventId { get; init; }
    [JsonPropertyName("stream_version")] public long StreamVersion { get; init; }
}
