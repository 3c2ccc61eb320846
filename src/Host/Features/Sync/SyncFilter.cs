using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Errors;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Web;

namespace Matrix.Rooms.Host.Features.Sync;

/// <summary>
/// The spec's <c>EventFilter</c> (and the room-event fields of <c>RoomEventFilter</c>): limit, types/not_types
/// (with <c>*</c> wildcards), senders/not_senders, rooms/not_rooms. Fields a filter does not name do not filter.
/// </summary>
public sealed record EventFilter
{
    public int? Limit { get; init; }
    public IReadOnlyList<string>? Types { get; init; }
    public IReadOnlyList<string> NotTypes { get; init; } = [];
    public IReadOnlyList<string>? Senders { get; init; }
    public IReadOnlyList<string> NotSenders { get; init; } = [];
    public IReadOnlyList<string>? Rooms { get; init; }
    public IReadOnlyList<string> NotRooms { get; init; } = [];
    public bool LazyLoadMembers { get; init; }
    public bool IncludeRedundantMembers { get; init; }

    public static EventFilter All { get; } = new();

    public bool AllowsType(string type) =>
        (Types is null || Types.Any(t => Matches(t, type))) && !NotTypes.Any(t => Matches(t, type));

    public bool AllowsSender(string sender) =>
        (Senders is null || Senders.Contains(sender)) && !NotSenders.Contains(sender);

    public bool AllowsRoom(string roomId) => (Rooms is null || Rooms.Contains(roomId)) && !NotRooms.Contains(roomId);

    /// <summary>RoomEventFilter <c>contains_url</c>: true keeps only events whose content has a <c>url</c>, false only those without.</summary>
    public bool? ContainsUrl { get; init; }

    /// <summary>True when the filter keeps every event of a room it allows (no type, sender or url condition).</summary>
    public bool KeepsEveryEvent => Types is null && NotTypes.Count == 0 && Senders is null && NotSenders.Count == 0 && ContainsUrl is null;

    public bool Allows(MatrixEvent e) => AllowsType(e.Type) && AllowsSender(e.Sender) && AllowsRoom(e.RoomId)
        && (ContainsUrl is not { } url || (e.Content["url"] is not null) == url);

    /// <summary>Spec: "A '*' can be used as a wildcard to match any sequence of characters."</summary>
    private static bool Matches(string pattern, string type)
    {
        if (!pattern.Contains('*')) return pattern == type;
        var parts = pattern.Split('*');
        if (!type.StartsWith(parts[0], StringComparison.Ordinal)) return false;
        var at = parts[0].Length;
        for (var i = 1; i < parts.Length - 1; i++)
        {
            var found = type.IndexOf(parts[i], at, StringComparison.Ordinal);
            if (found < 0) return false;
            at = found + parts[i].Length;
        }
        return type.Length - at >= parts[^1].Length && type.EndsWith(parts[^1], StringComparison.Ordinal);
    }

    internal static EventFilter Parse(JsonObject? json, string path) => json is null ? All : new EventFilter
    {
        Limit = json["limit"] switch
        {
            null => null,
            JsonValue v when v.TryGetValue<long>(out var l) && l >= 0 => (int)Math.Clamp(l, 0, 1000),
            _ => throw new MatrixException(MatrixError.BadJson($"'{path}.limit' must be a non-negative integer")),
        },
        Types = Strings(json, "types", path),
        NotTypes = Strings(json, "not_types", path) ?? [],
        Senders = Strings(json, "senders", path),
        NotSenders = Strings(json, "not_senders", path) ?? [],
        Rooms = Strings(json, "rooms", path),
        NotRooms = Strings(json, "not_rooms", path) ?? [],
        LazyLoadMembers = Bool(json, "lazy_load_members", path),
        IncludeRedundantMembers = Bool(json, "include_redundant_members", path),
        ContainsUrl = json["contains_url"] is null ? null : Bool(json, "contains_url", path),
    };

    internal static IReadOnlyList<string>? Strings(JsonObject json, string name, string path) => json[name] switch
    {
        null => null,
        JsonArray a => a.Select(n => n is JsonValue v && v.TryGetValue<string>(out var s)
            ? s
            : throw new MatrixException(MatrixError.BadJson($"'{path}.{name}' must be an array of strings"))).ToList(),
        _ => throw new MatrixException(MatrixError.BadJson($"'{path}.{name}' must be an array of strings")),
    };

    internal static bool Bool(JsonObject json, string name, string path) => json[name] switch
    {
        null => false,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        _ => throw new MatrixException(MatrixError.BadJson($"'{path}.{name}' must be a boolean")),
    };
}

/// <summary>
/// The spec's <c>Filter</c> for <c>/sync</c>: top-level <c>account_data</c> and <c>presence</c>, and the <c>room</c>
/// filter (rooms/not_rooms, include_leave, and its timeline/state/ephemeral/account_data filters).
/// <c>event_fields</c> and <c>event_format</c> are accepted and not applied (events come whole, in client format).
/// </summary>
public sealed record SyncFilter
{
    public const int DefaultTimelineLimit = 10;

    public EventFilter AccountData { get; init; } = EventFilter.All;
    public EventFilter Presence { get; init; } = EventFilter.All;
    public IReadOnlyList<string>? Rooms { get; init; }
    public IReadOnlyList<string> NotRooms { get; init; } = [];
    public bool IncludeLeave { get; init; }
    public EventFilter Timeline { get; init; } = EventFilter.All;
    public EventFilter State { get; init; } = EventFilter.All;
    public EventFilter Ephemeral { get; init; } = EventFilter.All;
    public EventFilter RoomAccountData { get; init; } = EventFilter.All;

    public static SyncFilter Default { get; } = new();

    public int TimelineLimit => Timeline.Limit is { } l ? Math.Max(1, l) : DefaultTimelineLimit;

    public bool AllowsRoom(string roomId) => (Rooms is null || Rooms.Contains(roomId)) && !NotRooms.Contains(roomId);

    /// <summary>Reads a filter definition; a field of the wrong type is <c>400 M_BAD_JSON</c>, unknown fields are ignored.</summary>
    public static SyncFilter Parse(JsonObject json)
    {
        var room = Object(json, "room", "filter");
        if (json["event_format"] is { } format && format.GetValueKind() != System.Text.Json.JsonValueKind.String)
            throw new MatrixException(MatrixError.BadJson("'event_format' must be a string"));
        if (json["event_fields"] is { } fields && fields is not JsonArray)
            throw new MatrixException(MatrixError.BadJson("'event_fields' must be an array of strings"));
        return new SyncFilter
        {
            AccountData = EventFilter.Parse(Object(json, "account_data", "filter"), "account_data"),
            Presence = EventFilter.Parse(Object(json, "presence", "filter"), "presence"),
            Rooms = room is null ? null : EventFilter.Strings(room, "rooms", "room"),
            NotRooms = room is null ? [] : EventFilter.Strings(room, "not_rooms", "room") ?? [],
            IncludeLeave = room is not null && EventFilter.Bool(room, "include_leave", "room"),
            Timeline = EventFilter.Parse(room is null ? null : Object(room, "timeline", "room"), "room.timeline"),
            State = EventFilter.Parse(room is null ? null : Object(room, "state", "room"), "room.state"),
            Ephemeral = EventFilter.Parse(room is null ? null : Object(room, "ephemeral", "room"), "room.ephemeral"),
            RoomAccountData = EventFilter.Parse(room is null ? null : Object(room, "account_data", "room"), "room.account_data"),
        };
    }

    /// <summary>An inline filter (<c>filter={…}</c>) as text: parsed through the input gate like a request body.</summary>
    public static JsonObject ParseInline(string text)
    {
        var parsed = JsonInputPolicy.Parse(System.Text.Encoding.UTF8.GetBytes(text));
        if (!parsed.IsSuccess) throw new MatrixException(MatrixError.InvalidParam($"'filter' is not valid JSON: {parsed.Error!.Error}"));
        return parsed.Value as JsonObject ?? throw new MatrixException(MatrixError.InvalidParam("'filter' must be a JSON object"));
    }

    private static JsonObject? Object(JsonObject json, string name, string path) => json[name] switch
    {
        null => null,
        JsonObject o => o,
        _ => throw new MatrixException(MatrixError.BadJson($"'{(path == "filter" ? name : path + "." + name)}' must be an object")),
    };
}

/// <summary>A filter a user uploaded (<c>POST /user/{userId}/filter</c>): the definition as sent, so <c>GET</c> returns it.</summary>
public sealed record StoredFilter
{
    /// <summary><c>{userId}|{filterId}</c>: filter IDs are per user.</summary>
    public required string Id { get; init; }
    public required string UserId { get; init; }
    public required JsonObject Definition { get; init; }

    public static string IdFor(string userId, string filterId) => $"{userId}|{filterId}";
}
