using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Crypto;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;
using NodaTime;

namespace Matrix.Rooms.Domain.Rooms;

/// <summary>A state event supplied by the client in <c>initial_state</c>.</summary>
public sealed record InitialStateEvent(string Type, string StateKey, JsonObject Content);

/// <summary><c>POST /createRoom</c> (spec client-server API → "Creation").</summary>
public sealed record CreateRoom
{
    public required string Creator { get; init; }
    /// <summary>The creator's display name, carried by their join as servers do (the client-server API fills it from the profile).</summary>
    public string? CreatorDisplayName { get; init; }
    public string? RoomId { get; init; }
    public string? Preset { get; init; }
    public string? Visibility { get; init; }
    public string? Name { get; init; }
    public string? Topic { get; init; }
    public string RoomVersion { get; init; } = Authorization.RoomVersion.Default.Id;
    public IReadOnlyList<string> Invite { get; init; } = [];
    public IReadOnlyList<InitialStateEvent> InitialState { get; init; } = [];
    public JsonObject? CreationContent { get; init; }
    public JsonObject? PowerLevelContentOverride { get; init; }
    public bool IsDirect { get; init; }

    /// <summary>From <c>room_alias_name</c>: the alias the Host reserved, sent as <c>m.room.canonical_alias</c> after the power levels.</summary>
    public string? CanonicalAlias { get; init; }
}

public static class Presets
{
    public const string PrivateChat = "private_chat";
    public const string TrustedPrivateChat = "trusted_private_chat";
    public const string PublicChat = "public_chat";
}

/// <summary>
/// Builds a new room's first events in the order the spec gives ("Creation": create, creator's join, power levels,
/// canonical alias, preset state, initial_state, name, topic, invites) and checks each one against the authorization rules with the
/// state the previous ones made, so a room never starts with an event the rules would refuse.
/// </summary>
public static class CreateRoomDecider
{
    /// <summary>
    /// The room's first events. Up to v11 they carry <paramref name="roomId"/>; in v12 (where the room ID is the
    /// create event's ID with the sigil <c>!</c>) <paramref name="roomId"/> is not used: the create event is completed
    /// as a PDU here (depth 1, no auth or prev events, its content hash), its event ID is its reference hash, and the
    /// room ID follows from it — read it with <see cref="RoomIdOf"/>.
    /// </summary>
    public static Result<IReadOnlyList<MatrixEvent>> Decide(CreateRoom command, string roomId, Instant now)
    {
        if (Authorization.RoomVersion.Get(command.RoomVersion) is not { } version)
            return MatrixError.UnsupportedRoomVersion($"Room version {command.RoomVersion} is not supported");
        // Spec createRoom: visibility is "public" or "private" (default private).
        if (command.Visibility is not (null or "public" or "private"))
            return MatrixError.InvalidParam($"Unknown visibility {command.Visibility}: must be public or private");
        var preset = command.Preset ?? (command.Visibility == "public" ? Presets.PublicChat : Presets.PrivateChat);
        if (preset is not (Presets.PrivateChat or Presets.TrustedPrivateChat or Presets.PublicChat))
            return MatrixError.InvalidParam($"Unknown preset {preset}");
        foreach (var invitee in command.Invite)
            if (!UserId.IsValidHistorical(invitee))
                return MatrixError.InvalidParam($"Not a valid user ID in invite: {invitee}");

        var creator = command.Creator;
        var events = new List<MatrixEvent>();
        var state = DictionaryAuthState.Empty;
        var ts = now;
        var currentRoomId = roomId;

        Result<MatrixEvent> Add(string type, string? stateKey, JsonObject content, bool clientSupplied = false)
        {
            var isV12Create = version.RoomIdIsCreateEventId && type == EventTypes.Create;
            var ev = MatrixEvent.Create(type, isV12Create ? "" : currentRoomId, creator, stateKey, content, ts)
                .After(events.LastOrDefault()?.EventId, version);
            if (isV12Create)
            {
                ev = Pdu.Complete(ev, version, [], depth: 1);
                currentRoomId = RoomId.FromCreateEventId(ev.EventId);
                // The engine keeps the room ID on every event it stores, the create event's too (its stream, projections
                // and client answers name the room); the PDU form (Pdu.Of) leaves it out again, so the ID still verifies.
                ev = ev with { RoomId = currentRoomId };
            }
            if (EventLimits.Check(ev) is { } refused) return refused;
            var decision = EventAuth.Check(ev, state, version);
            if (!decision.Allowed)
                return clientSupplied
                    ? MatrixError.InvalidParam($"{type} ({stateKey}) cannot be sent in this room: {decision.Explanation}")
                    : MatrixError.Forbidden(decision.Explanation);
            events.Add(ev);
            state = state.Apply(ev);
            return ev;
        }

        // 1. m.room.create, with creation_content. Before v11 the content names the creator.
        var create = (JsonObject?)command.CreationContent?.DeepClone() ?? new JsonObject();
        create["room_version"] = version.Id;
        if (!version.UseRoomCreateSender) create["creator"] = creator;
        else create.Remove("creator");
        var steps = new List<Func<Result<MatrixEvent>>>
        {
            () => Add(EventTypes.Create, "", create, clientSupplied: command.CreationContent is not null),
            // 2. The creator joins.
            () => Add(EventTypes.Member, creator, command.CreatorDisplayName is { Length: > 0 } name
                ? new JsonObject { ["membership"] = Memberships.Join, ["displayname"] = name }
                : new JsonObject { ["membership"] = Memberships.Join }),
            // 3. Power levels, with power_level_content_override merged over the defaults.
            () => Add(EventTypes.PowerLevels, "", PowerLevelsFor(command, preset, version, create), clientSupplied: command.PowerLevelContentOverride is not null),
            // 5. The preset's join rule, history visibility and guest access.
            () => Add(EventTypes.JoinRules, "", new JsonObject { ["join_rule"] = preset == Presets.PublicChat ? "public" : "invite" }),
            () => Add(EventTypes.HistoryVisibility, "", new JsonObject { ["history_visibility"] = "shared" }),
            () => Add(EventTypes.GuestAccess, "", new JsonObject { ["guest_access"] = preset == Presets.PublicChat ? "forbidden" : "can_join" }),
        };
        // 4. The canonical alias, when room_alias_name asked for one.
        if (command.CanonicalAlias is { } alias)
            steps.Insert(3, () => Add(EventTypes.CanonicalAlias, "", new JsonObject { ["alias"] = alias }));
        // 6. initial_state, which overrides preset state of the same (type, state_key).
        steps.AddRange(command.InitialState.Select(s =>
            (Func<Result<MatrixEvent>>)(() => Add(s.Type, s.StateKey, (JsonObject)s.Content.DeepClone(), clientSupplied: true))));
        // 7. name and topic.
        if (!string.IsNullOrEmpty(command.Name))
            steps.Add(() => Add(EventTypes.Name, "", new JsonObject { ["name"] = command.Name }));
        if (!string.IsNullOrEmpty(command.Topic))
            steps.Add(() => Add(EventTypes.Topic, "", new JsonObject
            {
                ["topic"] = command.Topic,
                // v1.15: the topic also as a text/plain block of m.topic, for clients that read only that.
                ["m.topic"] = new JsonObject { ["m.text"] = new JsonArray(new JsonObject { ["mimetype"] = "text/plain", ["body"] = command.Topic }) },
            }));
        // 8. Invites.
        foreach (var invitee in command.Invite)
        {
            var content = new JsonObject { ["membership"] = Memberships.Invite };
            if (command.IsDirect) content["is_direct"] = true;
            steps.Add(() => Add(EventTypes.Member, invitee, content));
        }

        foreach (var step in steps)
        {
            var result = step();
            if (!result.IsSuccess) return result.Error!;
            ts += Duration.FromMilliseconds(1); // keep origin_server_ts strictly increasing in the timeline
        }
        return events;
    }

    /// <summary>The room ID of the events <see cref="Decide"/> made (the create event's ID with <c>!</c> in v12).</summary>
    public static string RoomIdOf(IReadOnlyList<MatrixEvent> events) => events[0].RoomId;

    private static JsonObject PowerLevelsFor(CreateRoom command, string preset, RoomVersion version, JsonObject createContent)
    {
        var users = new JsonObject { [command.Creator] = 100 };
        if (preset == Presets.TrustedPrivateChat)
            foreach (var invitee in command.Invite) users[invitee] = 100;
        // v12: creators have an infinitely high level and may not be listed in users (auth rule 10.4).
        if (version.PrivilegedCreators)
        {
            users.Remove(command.Creator);
            if (createContent["additional_creators"] is JsonArray additional)
                foreach (var item in additional)
                    if (item is JsonValue v && v.TryGetValue<string>(out var userId))
                        users.Remove(userId);
        }
        var content = new JsonObject
        {
            ["users"] = users,
            ["users_default"] = 0,
            ["events"] = new JsonObject
            {
                ["m.room.name"] = 50,
                ["m.room.power_levels"] = 100,
                ["m.room.history_visibility"] = 100,
                ["m.room.canonical_alias"] = 50,
                ["m.room.avatar"] = 50,
                ["m.room.tombstone"] = 100,
                ["m.room.server_acl"] = 100,
                ["m.room.encryption"] = 100,
            },
            ["events_default"] = 0,
            ["state_default"] = 50,
            ["ban"] = 50,
            ["kick"] = 50,
            ["redact"] = 50,
            // Private chats let any member invite; public ones need moderators (as Synapse's presets do).
            ["invite"] = preset == Presets.PublicChat ? 50 : 0,
        };
        if (command.PowerLevelContentOverride is not null)
            foreach (var (key, value) in command.PowerLevelContentOverride)
                content[key] = value?.DeepClone();
        return content;
    }
}
