using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using NodaTime;

namespace Matrix.Rooms.Domain.Events;

/// <summary>
/// A Matrix room event in the spec's JSON shape (client-server "ClientEvent" plus the PDU fields the authorization
/// rules read). Serialising one with System.Text.Json gives the Matrix wire format: snake_case names and
/// <c>origin_server_ts</c> as integer milliseconds.
/// <para>
/// Each event type the engine treats specially has a sealed subtype (<see cref="MemberEvent"/>, …) so that the event
/// store can name stored events by their Matrix type; <see cref="StateEvent"/> and <see cref="TimelineEvent"/>
/// carry every other state and non-state type. Build events with <see cref="Create"/> or <see cref="FromJson(JsonObject)"/>,
/// which pick the subtype from <see cref="Type"/>.
/// </para>
/// </summary>
public abstract record MatrixEvent
{
    [JsonPropertyName("event_id")] public string EventId { get; init; } = "";
    [JsonPropertyName("room_id")] public string RoomId { get; init; } = "";
    [JsonPropertyName("sender")] public string Sender { get; init; } = "";
    [JsonPropertyName("type")] public string Type { get; init; } = "";

    /// <summary>Present (possibly empty) on state events; absent (null) on message events.</summary>
    [JsonPropertyName("state_key")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? StateKey { get; init; }

    [JsonPropertyName("origin_server_ts")]
    [JsonConverter(typeof(UnixMillisInstantConverter))]
    public Instant OriginServerTs { get; init; }

    [JsonPropertyName("content")] public JsonObject Content { get; init; } = new();

    [JsonPropertyName("unsigned")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonObject? Unsigned { get; init; }

    /// <summary>Either the v1/v2 form <c>[[event_id, hashes], …]</c> or the v3+ form <c>[event_id, …]</c>; kept as given.</summary>
    [JsonPropertyName("prev_events")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public JsonArray? PrevEvents { get; init; }

    /// <summary>The redacted event, for <c>m.room.redaction</c> (top level before room version 11, in content from 11).</summary>
    [JsonPropertyName("redacts")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? Redacts { get; init; }

    /// <summary>Any other top-level fields (depth, hashes, signatures, auth_events, …), kept so events round-trip.</summary>
    [JsonExtensionData] public Dictionary<string, JsonElement>? Extra { get; init; }

    [JsonIgnore] public bool IsState => StateKey is not null;

    /// <summary>The (type, state_key) pair that identifies the piece of room state this event sets.</summary>
    [JsonIgnore] public StateKey Key => new(Type, StateKey ?? "");

    /// <summary>A string field of the content, or null when absent or not a string.</summary>
    public string? ContentString(string field) =>
        Content.TryGetPropertyValue(field, out var node) && node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;

    public static MatrixEvent Create(string type, string roomId, string sender, string? stateKey, JsonObject content,
        Instant originServerTs, string? eventId = null) =>
        Blank(type) with
        {
            EventId = eventId ?? Identifiers.EventId.New(),
            RoomId = roomId,
            Sender = sender,
            Type = type,
            StateKey = stateKey,
            Content = content,
            // The wire format carries whole milliseconds; keep no more, so a replay reproduces exactly what was stored.
            OriginServerTs = Instant.FromUnixTimeMilliseconds(originServerTs.ToUnixTimeMilliseconds()),
        };

    /// <summary>Reads an event from its Matrix JSON. Throws <see cref="JsonException"/> when the shape is wrong.</summary>
    public static MatrixEvent FromJson(JsonObject json)
    {
        var type = json["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : "";
        var stateKeyPresent = json.ContainsKey("state_key");
        var clr = ClrTypeFor(type, stateKeyPresent);
        return (MatrixEvent)(json.Deserialize(clr, MatrixJson.Options) ?? throw new JsonException("Event is null"));
    }

    public static MatrixEvent FromJson(string json) =>
        FromJson(JsonNode.Parse(json, documentOptions: JsonInputPolicy.DocumentOptions) as JsonObject ?? throw new JsonException("An event must be a JSON object"));

    public JsonObject ToJson() => (JsonObject)JsonSerializer.SerializeToNode(this, GetType(), MatrixJson.Options)!;

    /// <summary>The CLR type the engine stores events of this Matrix type as.</summary>
    public static Type ClrTypeFor(string type, bool isState) => type switch
    {
        EventTypes.Create => typeof(CreateEvent),
        EventTypes.Member => typeof(MemberEvent),
        EventTypes.PowerLevels => typeof(PowerLevelsEvent),
        EventTypes.JoinRules => typeof(JoinRulesEvent),
        EventTypes.HistoryVisibility => typeof(HistoryVisibilityEvent),
        EventTypes.GuestAccess => typeof(GuestAccessEvent),
        EventTypes.ThirdPartyInvite => typeof(ThirdPartyInviteEvent),
        EventTypes.Redaction => typeof(RedactionEvent),
        EventTypes.Message => typeof(MessageEvent),
        _ => isState ? typeof(StateEvent) : typeof(TimelineEvent),
    };

    /// <summary>Every CLR event type with the name the event store gives it (the Matrix type where there is one).</summary>
    public static IReadOnlyList<(Type ClrType, string StoredName)> StoredTypes { get; } =
    [
        (typeof(CreateEvent), EventTypes.Create),
        (typeof(MemberEvent), EventTypes.Member),
        (typeof(PowerLevelsEvent), EventTypes.PowerLevels),
        (typeof(JoinRulesEvent), EventTypes.JoinRules),
        (typeof(HistoryVisibilityEvent), EventTypes.HistoryVisibility),
        (typeof(GuestAccessEvent), EventTypes.GuestAccess),
        (typeof(ThirdPartyInviteEvent), EventTypes.ThirdPartyInvite),
        (typeof(RedactionEvent), EventTypes.Redaction),
        (typeof(MessageEvent), EventTypes.Message),
        (typeof(StateEvent), "matrix.other_state"),
        (typeof(TimelineEvent), "matrix.other_event"),
    ];

    private static MatrixEvent Blank(string type) => type switch
    {
        EventTypes.Create => new CreateEvent(),
        EventTypes.Member => new MemberEvent(),
        EventTypes.PowerLevels => new PowerLevelsEvent(),
        EventTypes.JoinRules => new JoinRulesEvent(),
        EventTypes.HistoryVisibility => new HistoryVisibilityEvent(),
        EventTypes.GuestAccess => new GuestAccessEvent(),
        EventTypes.ThirdPartyInvite => new ThirdPartyInviteEvent(),
        EventTypes.Redaction => new RedactionEvent(),
        EventTypes.Message => new MessageEvent(),
        _ => new StateEvent(),
    };
}

/// <summary>A piece of room state: (event type, state key).</summary>
public readonly record struct StateKey(string Type, string Key)
{
    public override string ToString() => $"({Type}, \"{Key}\")";
}

public sealed record CreateEvent : MatrixEvent
{
    /// <summary><c>room_version</c> from the content; the spec says a missing value means "1".</summary>
    [JsonIgnore] public string RoomVersion => ContentString("room_version") ?? "1";
}

public sealed record MemberEvent : MatrixEvent
{
    [JsonIgnore] public string? Membership => ContentString("membership");
    /// <summary>
    /// Unsigned key marking a member event of a local guest account. Guests are a homeserver-local notion the spec
    /// gives no event field for; the engine records it beside the event so projections can find the guests.
    /// </summary>
    public const string GuestMarker = "net.matrix_rooms.guest";

    [JsonIgnore] public bool IsGuest => Unsigned?[GuestMarker] is JsonValue v && v.TryGetValue<bool>(out var g) && g;

    /// <summary>
    /// Unsigned key recording the membership the target (the state key) had just before this event, "" when none: the
    /// membership of the target's member event among the event's own auth events (spec "auth events selection": "the
    /// current m.room.member event of the target state_key"), noted when the server seals the event. Homeserver-local
    /// like <see cref="GuestMarker"/> (never served to clients); it lets a projection count a room's members from the
    /// event alone.
    /// </summary>
    public const string PreviousMembershipMarker = "net.matrix_rooms.prev_membership";

    /// <summary>The target's membership before this event ("" when none); null when the event does not say (stored before
    /// the marker was kept, or imported without it).</summary>
    [JsonIgnore]
    public string? PreviousMembership => Unsigned?[PreviousMembershipMarker] is JsonValue v && v.TryGetValue<string>(out var m) ? m : null;

    /// <summary>This member event with <see cref="PreviousMembership"/> taken from <paramref name="stateBefore"/> (the state
    /// the event is sealed against); any other event as it is.</summary>
    public static MatrixEvent WithPreviousMembership(MatrixEvent ev, Authorization.IAuthState stateBefore)
    {
        if (ev is not MemberEvent { StateKey: { } target }) return ev;
        var previous = (stateBefore.Get(new StateKey(EventTypes.Member, target)) as MemberEvent)?.Membership ?? "";
        var unsigned = ev.Unsigned is null ? new JsonObject() : (JsonObject)ev.Unsigned.DeepClone();
        unsigned[PreviousMembershipMarker] = previous;
        return ev with { Unsigned = unsigned };
    }

    /// <summary>
    /// For an invite that exchanges a third-party invite: <c>content.third_party_invite.signed.token</c>, the state key
    /// of the <c>m.room.third_party_invite</c> it claims (spec authorization rules, "If membership is invite … If content
    /// has a third_party_invite property"). Null for every other member event.
    /// </summary>
    [JsonIgnore]
    public string? ThirdPartyInviteToken =>
        Membership == Memberships.Invite && Content["third_party_invite"] is JsonObject { } tpi && tpi["signed"] is JsonObject signed
        && signed["token"] is JsonValue t && t.TryGetValue<string>(out var token)
            ? token
            : null;
}

public sealed record PowerLevelsEvent : MatrixEvent;

public sealed record JoinRulesEvent : MatrixEvent
{
    [JsonIgnore] public string? JoinRule => ContentString("join_rule");
}

public sealed record HistoryVisibilityEvent : MatrixEvent
{
    [JsonIgnore] public string? HistoryVisibility => ContentString("history_visibility");
}

public sealed record GuestAccessEvent : MatrixEvent
{
    [JsonIgnore] public string? GuestAccess => ContentString("guest_access");
}

public sealed record ThirdPartyInviteEvent : MatrixEvent
{
    /// <summary>A revoked invite has empty content (spec: "revoked by sending the event with empty content").</summary>
    [JsonIgnore] public bool IsRevoked => Content.Count == 0;
}

public sealed record RedactionEvent : MatrixEvent;

public sealed record MessageEvent : MatrixEvent;

/// <summary>Any other state event (e.g. <c>m.room.name</c>, custom types).</summary>
public sealed record StateEvent : MatrixEvent;

/// <summary>Any other non-state event.</summary>
public sealed record TimelineEvent : MatrixEvent;
