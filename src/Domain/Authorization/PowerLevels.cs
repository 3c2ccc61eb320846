using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Events;
using Matrix.Rooms.Domain.Identifiers;

namespace Matrix.Rooms.Domain.Authorization;

/// <summary>The integer-valued top-level properties of <c>m.room.power_levels</c> that the change rules compare.</summary>
public enum PowerLevelField
{
    UsersDefault,
    EventsDefault,
    StateDefault,
    Ban,
    Redact,
    Kick,
    Invite,
}

/// <summary>
/// A typed view of <c>m.room.power_levels</c> content with the spec's defaults (client-server API
/// "m.room.power_levels"):
/// <list type="bullet">
/// <item>a user in <c>users</c> has that level, anyone else <c>users_default</c> (0 when absent);</item>
/// <item>"If the room contains no m.room.power_levels event, the room's creator has a power level of 100, and all
/// other users have a power level of 0";</item>
/// <item><c>state_default</c> is 50 "if there is no state_default in the m.room.power_levels event, or there is no
/// m.room.power_levels event" (the older text saying 0 was removed from the spec in 2023, matrix-spec#1479);</item>
/// <item><c>events_default</c> 0, <c>ban</c>/<c>kick</c>/<c>redact</c> 50, <c>invite</c> 0.</item>
/// </list>
/// Values are read per room version: integers everywhere; strings holding an integer in v1–v9; floats (truncated)
/// in v1–v5; v6+ numbers must lie in Canonical JSON's range <c>[-(2**53)+1, (2**53)-1]</c>.
/// <para>
/// The view reads the <c>users</c> map lazily (one lookup per <see cref="UserLevel"/>), so asking for two users'
/// levels in a room whose power levels list many users stays cheap.
/// </para>
/// </summary>
public sealed class PowerLevels
{
    public const long CreatorLevelWithoutPowerLevels = 100;

    /// <summary>
    /// v12: the level of a room creator, "infinitely high". Above every level content can hold (at most
    /// <c>2**53 - 1</c>), so every comparison the rules make treats it as infinity; two creators are equal.
    /// </summary>
    public const long Infinite = long.MaxValue;
    public const long MaxCanonicalInteger = (1L << 53) - 1;
    public const long MinCanonicalInteger = -MaxCanonicalInteger;

    private static readonly string[] FieldNames = ["users_default", "events_default", "state_default", "ban", "redact", "kick", "invite"];
    private static readonly long[] FieldDefaults = [0, 0, 50, 50, 50, 50, 0];

    private readonly long?[] _fields;
    private readonly JsonObject? _users;
    private readonly RoomVersion _version;
    private readonly string? _creator;
    private IReadOnlyDictionary<string, long>? _allUsers;
    private IReadOnlyList<string> _privilegedCreators = [];

    private PowerLevels(long?[] fields, JsonObject? users, IReadOnlyDictionary<string, long> events,
        IReadOnlyDictionary<string, long> notifications, RoomVersion version, string? creator, bool fromEvent)
    {
        _fields = fields;
        _users = users;
        Events = events;
        Notifications = notifications;
        _version = version;
        _creator = creator;
        FromEvent = fromEvent;
    }

    /// <summary>True when read from an <c>m.room.power_levels</c> event; false for the no-event defaults.</summary>
    public bool FromEvent { get; }

    public long UsersDefault => Get(PowerLevelField.UsersDefault);
    public long EventsDefault => Get(PowerLevelField.EventsDefault);
    public long StateDefault => Get(PowerLevelField.StateDefault);
    public long Ban => Get(PowerLevelField.Ban);
    public long Redact => Get(PowerLevelField.Redact);
    public long Kick => Get(PowerLevelField.Kick);
    public long Invite => Get(PowerLevelField.Invite);

    /// <summary>The explicit <c>events</c> entries (event type → level).</summary>
    public IReadOnlyDictionary<string, long> Events { get; }

    /// <summary>The explicit <c>notifications</c> entries (e.g. <c>room</c> → level); read in every version, limited from v6.</summary>
    public IReadOnlyDictionary<string, long> Notifications { get; }

    /// <summary>Every explicit <c>users</c> entry (user ID → level). Parses the whole map: use <see cref="UserLevel"/> for one user.</summary>
    public IReadOnlyDictionary<string, long> Users => _allUsers ??= ReadAllUsers();

    /// <summary>The value of a field with its default applied.</summary>
    public long Get(PowerLevelField field) => _fields[(int)field] ?? FieldDefaults[(int)field];

    /// <summary>The value of a field as written in the event, or null when the event does not set it.</summary>
    public long? Explicit(PowerLevelField field) => _fields[(int)field];

    public static string NameOf(PowerLevelField field) => FieldNames[(int)field];

    public static long DefaultOf(PowerLevelField field) => FieldDefaults[(int)field];

    /// <summary>A user's power level: their <c>users</c> entry, else <c>users_default</c>; with no event, 100 for the creator and 0 for everyone else.</summary>
    public long UserLevel(string userId)
    {
        // v12: The power level of "room creators" is infinitely high.
        if (_privilegedCreators.Contains(userId)) return Infinite;
        if (!FromEvent) return userId == _creator ? CreatorLevelWithoutPowerLevels : 0;
        if (_users is not null && _users.TryGetPropertyValue(userId, out var node) && TryReadLevel(node, _version, out var level))
            return level;
        return UsersDefault;
    }

    /// <summary>
    /// The level needed to send an event of this type: its <c>events</c> entry, else <c>state_default</c> for a state
    /// event and <c>events_default</c> for any other.
    /// </summary>
    public long EventLevel(string eventType, bool isState) =>
        Events.TryGetValue(eventType, out var level) ? level : isState ? StateDefault : EventsDefault;

    /// <summary>The power levels in force when the room has no <c>m.room.power_levels</c> event.</summary>
    public static PowerLevels Defaults(string? creator, RoomVersion version) =>
        new(new long?[FieldNames.Length], null, EmptyLevels, EmptyLevels, version, creator, fromEvent: false);

    /// <summary>
    /// The power levels of the room: read from its current <c>m.room.power_levels</c> event, or the defaults when there
    /// is none. The current event was accepted when it was sent, so a value that cannot be read is taken as absent.
    /// </summary>
    public static PowerLevels Current(MatrixEvent? powerLevelsEvent, string creator, RoomVersion version) =>
        powerLevelsEvent is null ? Defaults(creator, version) : Read(powerLevelsEvent.Content, version);

    /// <summary>
    /// The power levels of the room whose create event is <paramref name="create"/>: as
    /// <see cref="Current(MatrixEvent?, string, RoomVersion)"/> with the version's creator, and in v12 with every room
    /// creator (sender and <c>additional_creators</c>) at <see cref="Infinite"/>, whatever the event says.
    /// </summary>
    public static PowerLevels Current(MatrixEvent? powerLevelsEvent, MatrixEvent create, RoomVersion version)
    {
        var creator = version.UseRoomCreateSender ? create.Sender : create.ContentString("creator") ?? create.Sender;
        var levels = Current(powerLevelsEvent, creator, version);
        if (version.PrivilegedCreators) levels._privilegedCreators = CreateRules.CreatorsOf(create);
        return levels;
    }

    /// <summary>The users whose level is <see cref="Infinite"/> (v12 room creators); empty before v12.</summary>
    public IReadOnlyList<string> PrivilegedCreators => _privilegedCreators;

    /// <summary>Reads content leniently: values that are not levels in this room version count as absent.</summary>
    public static PowerLevels Read(JsonObject content, RoomVersion version)
    {
        var fields = new long?[FieldNames.Length];
        for (var i = 0; i < FieldNames.Length; i++)
            if (content.TryGetPropertyValue(FieldNames[i], out var node) && TryReadLevel(node, version, out var level))
                fields[i] = level;
        return new PowerLevels(fields, content["users"] as JsonObject,
            ReadMapLeniently(content["events"], version), ReadMapLeniently(content["notifications"], version),
            version, creator: null, fromEvent: true);
    }

    /// <summary>
    /// Reads the content of a new <c>m.room.power_levels</c> event strictly, as the auth rules require before they
    /// compare it with the current one. Returns null and the failed rule when the content is not acceptable:
    /// <list type="bullet">
    /// <item>(v10+) "If any of the properties users_default, events_default, state_default, ban, redact, kick, or
    /// invite in content are present and not an integer, reject."</item>
    /// <item>(v10+) "If either of the properties events or notifications in content are present and not an object
    /// with values that are integers, reject."</item>
    /// <item>"If the users property in content is not an object with keys that are valid user IDs with values that
    /// are integers (or a string that is an integer, v1–v9), reject."</item>
    /// <item>(v1–v9) a value that is neither an integer nor a string holding one (nor a float, v1–v5) cannot be a
    /// power level, so the content is refused too.</item>
    /// </list>
    /// </summary>
    public static PowerLevels? ReadStrict(JsonObject content, RoomVersion version, out string? failedRule, out string? problem)
    {
        failedRule = null;
        problem = null;
        var invalidRule = version.IntegerPowerLevelsOnly ? AuthRule.PowerLevelsNotInteger : AuthRule.PowerLevelsInvalidValue;
        var expected = Expectation(version);

        var fields = new long?[FieldNames.Length];
        for (var i = 0; i < FieldNames.Length; i++)
        {
            if (!content.TryGetPropertyValue(FieldNames[i], out var node)) continue;
            if (!TryReadLevel(node, version, out var level))
            {
                failedRule = invalidRule;
                problem = $"'{FieldNames[i]}' is {Show(node)}, which is not {expected}";
                return null;
            }
            fields[i] = level;
        }

        var events = ReadMapStrictly(content, "events", version, invalidRule, ref failedRule, ref problem);
        if (events is null) return null;
        // Before v6 the auth rules do not look at notifications, so its values are read leniently there.
        var notifications = version.NotificationsPowerLevels
            ? ReadMapStrictly(content, "notifications", version, invalidRule, ref failedRule, ref problem)
            : ReadMapLeniently(content["notifications"], version);
        if (notifications is null) return null;

        JsonObject? users = null;
        Dictionary<string, long>? allUsers = null;
        if (content.TryGetPropertyValue("users", out var usersNode))
        {
            users = usersNode as JsonObject;
            if (users is null)
            {
                failedRule = AuthRule.PowerLevelsUsersInvalid;
                problem = $"'users' is {Show(usersNode)}, not an object";
                return null;
            }
            allUsers = new Dictionary<string, long>(users.Count, StringComparer.Ordinal);
            foreach (var (userId, value) in users)
            {
                if (!UserId.IsValidHistorical(userId))
                {
                    failedRule = AuthRule.PowerLevelsUsersInvalid;
                    problem = $"'users' has the key '{userId}', which is not a valid user ID";
                    return null;
                }
                if (!TryReadLevel(value, version, out var level))
                {
                    failedRule = AuthRule.PowerLevelsUsersInvalid;
                    problem = $"the level of {userId} in 'users' is {Show(value)}, which is not {expected}";
                    return null;
                }
                allUsers[userId] = level;
            }
        }

        return new PowerLevels(fields, users, events, notifications, version, creator: null, fromEvent: true)
        {
            _allUsers = allUsers ?? EmptyLevels,
        };
    }

    /// <summary>
    /// Reads one power level value as this room version allows it. Integers always (v6+: within Canonical JSON's
    /// range); in v1–v9 a string holding a base-10 integer, optionally signed, with leading zeroes and surrounding
    /// whitespace; in v1–v5 a finite float, truncated at the decimal point.
    /// </summary>
    public static bool TryReadLevel(JsonNode? node, RoomVersion version, out long level)
    {
        level = 0;
        if (node is not JsonValue value) return false;
        switch (value.GetValueKind())
        {
            case JsonValueKind.Number:
                if (TryGetInteger(value, out level))
                    return !version.StrictCanonicalJson || level is >= MinCanonicalInteger and <= MaxCanonicalInteger;
                if (version.FloatPowerLevels && TryGetDouble(value, out var real) && double.IsFinite(real))
                {
                    var truncated = Math.Truncate(real);
                    if (truncated is < long.MinValue or >= long.MaxValue) return false;
                    level = (long)truncated;
                    return true;
                }
                return false;
            case JsonValueKind.String when !version.IntegerPowerLevelsOnly:
                return TryParseIntegerString(value.GetValue<string>(), out level)
                       && (!version.StrictCanonicalJson || level is >= MinCanonicalInteger and <= MaxCanonicalInteger);
            default:
                return false;
        }
    }

    /// <summary>Spec "m.room.power_levels events accept values as strings": <c>"100"</c>, <c>"000100"</c>, <c>"+100"</c>, <c>" -100 "</c>.</summary>
    public static bool TryParseIntegerString(string text, out long level)
    {
        level = 0;
        var span = text.AsSpan().Trim();
        if (span.IsEmpty) return false;
        var digits = span[0] is '+' or '-' ? span[1..] : span;
        if (digits.IsEmpty) return false;
        foreach (var c in digits)
            if (!char.IsAsciiDigit(c)) return false;
        return long.TryParse(span, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out level);
    }

    private static readonly IReadOnlyDictionary<string, long> EmptyLevels = new Dictionary<string, long>();

    private IReadOnlyDictionary<string, long> ReadAllUsers()
    {
        if (_users is null) return EmptyLevels;
        var all = new Dictionary<string, long>(_users.Count, StringComparer.Ordinal);
        foreach (var (userId, value) in _users)
            if (TryReadLevel(value, _version, out var level))
                all[userId] = level;
        return all;
    }

    private static IReadOnlyDictionary<string, long> ReadMapLeniently(JsonNode? node, RoomVersion version)
    {
        if (node is not JsonObject map || map.Count == 0) return EmptyLevels;
        var levels = new Dictionary<string, long>(map.Count, StringComparer.Ordinal);
        foreach (var (key, value) in map)
            if (TryReadLevel(value, version, out var level))
                levels[key] = level;
        return levels;
    }

    private static IReadOnlyDictionary<string, long>? ReadMapStrictly(JsonObject content, string property, RoomVersion version,
        string invalidRule, ref string? failedRule, ref string? problem)
    {
        if (!content.TryGetPropertyValue(property, out var node)) return EmptyLevels;
        if (node is not JsonObject map)
        {
            failedRule = invalidRule;
            problem = $"'{property}' is {Show(node)}, not an object";
            return null;
        }
        var levels = new Dictionary<string, long>(map.Count, StringComparer.Ordinal);
        foreach (var (key, value) in map)
        {
            if (!TryReadLevel(value, version, out var level))
            {
                failedRule = invalidRule;
                problem = $"the level of '{key}' in '{property}' is {Show(value)}, which is not {Expectation(version)}";
                return null;
            }
            levels[key] = level;
        }
        return levels;
    }

    private static string Expectation(RoomVersion version) =>
        version.IntegerPowerLevelsOnly ? "an integer"
        : version.FloatPowerLevels ? "an integer, a float or a string holding an integer"
        : "an integer or a string holding an integer";

    private static string Show(JsonNode? node) => node is null ? "null" : node.ToJsonString();

    private static bool TryGetInteger(JsonValue value, out long integer)
    {
        if (value.TryGetValue<JsonElement>(out var element)) return element.TryGetInt64(out integer);
        if (value.TryGetValue(out integer)) return true;
        if (value.TryGetValue<int>(out var i)) { integer = i; return true; }
        if (value.TryGetValue<short>(out var s)) { integer = s; return true; }
        if (value.TryGetValue<sbyte>(out var sb)) { integer = sb; return true; }
        if (value.TryGetValue<byte>(out var b)) { integer = b; return true; }
        if (value.TryGetValue<ushort>(out var us)) { integer = us; return true; }
        if (value.TryGetValue<uint>(out var ui)) { integer = ui; return true; }
        if (value.TryGetValue<ulong>(out var ul) && ul <= long.MaxValue) { integer = (long)ul; return true; }
        integer = 0;
        return false;
    }

    private static bool TryGetDouble(JsonValue value, out double real)
    {
        if (value.TryGetValue<JsonElement>(out var element)) return element.TryGetDouble(out real);
        if (value.TryGetValue(out real)) return true;
        if (value.TryGetValue<float>(out var f)) { real = f; return true; }
        if (value.TryGetValue<decimal>(out var d)) { real = (double)d; return true; }
        real = 0;
        return false;
    }
}
