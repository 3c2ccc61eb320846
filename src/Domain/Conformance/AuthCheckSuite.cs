using System.Text.Json;
using System.Text.Json.Nodes;
using Matrix.Rooms.Domain.Authorization;
using Matrix.Rooms.Domain.Events;

namespace Matrix.Rooms.Domain.Conformance;

/// <summary>
/// A conformance vector whose expected answer disagrees with the current spec text. The spec wins: the suite expects
/// <see cref="SpecAllows"/> for this event and reports it with the <c>SPEC</c> marker instead of failing.
/// The event is identified by case, list, index, event ID, sender and state key together.
/// </summary>
public sealed record AuthCheckSpecOverride(
    string Case, string List, int Index, string EventId, string Sender, string? StateKey,
    bool SpecAllows, string SpecRule, string Reason)
{
    internal bool Matches(string caseName, string list, int index, MatrixEvent ev) =>
        Case == caseName && List == list && Index == index && EventId == ev.EventId && Sender == ev.Sender
        && StateKey == ev.StateKey;
}

/// <summary>One event of a conformance case and what the rules decided for it.</summary>
public sealed record AuthCheckResult(
    string Case, string RoomVersion, string List, int Index, string EventId, string EventType,
    bool ExpectedAllowed, AuthDecision Decision, AuthCheckSpecOverride? SpecOverride)
{
    /// <summary>Whether the decision matches the list the event sits in (<c>allowed</c> / <c>not_allowed</c>).</summary>
    public bool AgreesWithList => Decision.Allowed == ExpectedAllowed;

    /// <summary>The answer this suite holds correct: the list's, or the spec's where a documented override says so.</summary>
    public bool ExpectedBySpec => SpecOverride?.SpecAllows ?? ExpectedAllowed;

    public bool Passed => Decision.Allowed == ExpectedBySpec;
}

/// <summary>The outcome of a whole conformance file.</summary>
public sealed record AuthCheckReport(IReadOnlyList<AuthCheckResult> Results)
{
    public int Passed => Results.Count(r => r.Passed);
    public int Failed => Results.Count(r => !r.Passed);
    public bool AllPassed => Failed == 0;
}

/// <summary>
/// Runs authorization conformance cases (the <c>auth-check FILE</c> contract): a JSON array of
/// <c>{ name, room_version?, auth_events: { create, join_rules, power_levels, member: {user → event},
/// third_party_invite: {token → event}, guest_access?, history_visibility? }, allowed: [events],
/// not_allowed: [events] }</c>. The room version is the case's <c>room_version</c>, else the create event's, else "1".
/// Pure: the caller reads the file and prints <see cref="Format"/>'s lines.
/// </summary>
public static class AuthCheckSuite
{
    public const string AllowedList = "allowed";
    public const string NotAllowedList = "not_allowed";

    /// <summary>
    /// The gomatrixserverlib vectors that disagree with the spec (see docs/authorization.md, "Conformance").
    /// </summary>
    public static IReadOnlyList<AuthCheckSpecOverride> SpecOverrides { get; } =
    [
        new("TestAllowedFirstJoin", NotAllowedList, 6, "$e4:a", "@u2:a", "@u1:a",
            SpecAllows: true, SpecRule: AuthRule.JoinCreatorFirstJoin,
            Reason: "spec m.room.member join rule 1 (all versions): \"If the only previous event is an m.room.create " +
                    "and the state_key is the creator, allow\" comes before \"If the sender does not match state_key, " +
                    "reject\"; gomatrixserverlib also requires sender = state_key (Synapse and Ruma follow the spec)"),
    ];

    /// <summary>Parses <paramref name="json"/> (the file's text) and runs it.</summary>
    public static AuthCheckReport Run(string json) =>
        Run(JsonInputPolicy.ParseOrThrow(json) as JsonArray
            ?? throw new FormatException("An auth-check file is a JSON array of cases"));

    public static AuthCheckReport Run(JsonArray cases) => Run(cases, SpecOverrides);

    public static AuthCheckReport Run(JsonArray cases, IReadOnlyList<AuthCheckSpecOverride> overrides)
    {
        var results = new List<AuthCheckResult>();
        for (var c = 0; c < cases.Count; c++)
        {
            if (cases[c] is not JsonObject testCase) continue;
            var name = StringOf(testCase["name"]) ?? $"case {c}";
            var state = StateFrom(testCase["auth_events"]);
            var versionId = StringOf(testCase["room_version"])
                            ?? (testCase["room_version"] is JsonValue number ? number.ToJsonString() : null)
                            ?? (state.Get(EventAuth.CreateKey) is { } create ? EventAuth.RoomVersionOf(create) : "1");
            foreach (var (list, expected) in new[] { (AllowedList, true), (NotAllowedList, false) })
            {
                if (testCase[list] is not JsonArray events) continue;
                for (var i = 0; i < events.Count; i++)
                {
                    var (ev, decision) = Decide(events[i], state, versionId);
                    var spec = ev is null ? null : overrides.FirstOrDefault(o => o.Matches(name, list, i, ev));
                    results.Add(new AuthCheckResult(name, versionId, list, i,
                        ev?.EventId ?? StringOf((events[i] as JsonObject)?["event_id"]) ?? "?",
                        ev?.Type ?? StringOf((events[i] as JsonObject)?["type"]) ?? "?",
                        expected, decision, spec));
                }
            }
        }
        return new AuthCheckReport(results);
    }

    /// <summary>
    /// The lines to print: one per event — <c>PASS</c>, <c>FAIL</c> (disagrees with its list) or <c>SPEC</c> (disagrees
    /// with its list, agrees with the spec: a documented override) — with the decision and the deciding rule; then
    /// exactly <c>N passed, M failed</c>.
    /// </summary>
    public static IReadOnlyList<string> Format(AuthCheckReport report)
    {
        var lines = new List<string>(report.Results.Count + 1);
        foreach (var r in report.Results)
        {
            var marker = !r.Passed ? "FAIL" : r.AgreesWithList ? "PASS" : "SPEC";
            var verdict = r.Decision.Allowed ? "allowed" : "refused";
            var note = !r.Passed
                ? $" [expected {(r.ExpectedBySpec ? "allowed" : "refused")}]"
                : !r.AgreesWithList ? $" [the list says {(r.ExpectedAllowed ? "allowed" : "refused")}; {r.SpecOverride!.Reason}]"
                : "";
            lines.Add($"{marker} {r.Case} (v{r.RoomVersion}) {r.List}[{r.Index}] {r.EventId} {r.EventType}: " +
                      $"{verdict} by {r.Decision.Rule}: {r.Decision.Explanation}{note}");
        }
        lines.Add($"{report.Passed} passed, {report.Failed} failed");
        return lines;
    }

    /// <summary>
    /// Explains the decision for one event. <paramref name="state"/> is either an array of state events (each under its
    /// own type and state_key) or an object shaped like a case's <c>auth_events</c>. The room version is
    /// <paramref name="roomVersion"/> when given, else the create event's (the event's own when it is the create
    /// event), else "1".
    /// </summary>
    public static AuthDecision ExplainOne(JsonNode? state, JsonObject ev, string? roomVersion = null)
    {
        var authState = StateFrom(state);
        MatrixEvent matrixEvent;
        try
        {
            matrixEvent = MatrixEvent.FromJson((JsonObject)ev.DeepClone());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return Malformed(e);
        }
        if (roomVersion is null) return EventAuth.Check(matrixEvent, authState);
        return RoomVersion.Get(roomVersion) is { } version
            ? EventAuth.Check(matrixEvent, authState, version)
            : UnknownVersion(roomVersion);
    }

    /// <summary>
    /// The state described by <paramref name="node"/>: an array of events (each under its own key; an event without
    /// a state_key under its type and ""), or an <c>auth_events</c> object whose slots give the keys: <c>create</c>,
    /// <c>power_levels</c>, <c>join_rules</c>, <c>guest_access</c>, <c>history_visibility</c> (state_key ""),
    /// <c>member</c> (user ID → event) and <c>third_party_invite</c> (token → event). Events that cannot be read are
    /// left out.
    /// </summary>
    public static DictionaryAuthState StateFrom(JsonNode? node)
    {
        var state = DictionaryAuthState.Empty;
        switch (node)
        {
            case JsonArray events:
                foreach (var item in events)
                    if (Read(item) is { } ev)
                        state = state.With(ev.Key, ev);
                break;
            case JsonObject slots:
                foreach (var (slot, value) in slots)
                {
                    switch (slot)
                    {
                        case "member":
                            state = AddKeyed(state, value, EventTypes.Member);
                            break;
                        case "third_party_invite":
                            state = AddKeyed(state, value, EventTypes.ThirdPartyInvite);
                            break;
                        default:
                            if (Read(value) is { } ev)
                                state = state.With(SlotType(slot) is { } type ? new StateKey(type, "") : ev.Key, ev);
                            break;
                    }
                }
                break;
        }
        return state;
    }

    private static DictionaryAuthState AddKeyed(DictionaryAuthState state, JsonNode? map, string type)
    {
        if (map is not JsonObject byKey) return state;
        foreach (var (key, value) in byKey)
            if (Read(value) is { } ev)
                state = state.With(new StateKey(type, key), ev);
        return state;
    }

    private static string? SlotType(string slot) => slot switch
    {
        "create" => EventTypes.Create,
        "power_levels" => EventTypes.PowerLevels,
        "join_rules" => EventTypes.JoinRules,
        "guest_access" => EventTypes.GuestAccess,
        "history_visibility" => EventTypes.HistoryVisibility,
        _ => null,
    };

    private static (MatrixEvent? Event, AuthDecision Decision) Decide(JsonNode? node, DictionaryAuthState state, string versionId)
    {
        if (node is not JsonObject json)
            return (null, AuthDecision.Refuse(AuthRule.EventMalformed, "The event is not a JSON object"));
        MatrixEvent ev;
        try
        {
            ev = MatrixEvent.FromJson((JsonObject)json.DeepClone());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return (null, Malformed(e));
        }
        var version = RoomVersion.Get(versionId);
        return (ev, version is null ? UnknownVersion(versionId) : EventAuth.Check(ev, state, version));
    }

    private static MatrixEvent? Read(JsonNode? node)
    {
        if (node is not JsonObject json) return null;
        try
        {
            return MatrixEvent.FromJson((JsonObject)json.DeepClone());
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }

    private static AuthDecision Malformed(Exception e) =>
        AuthDecision.Refuse(AuthRule.EventMalformed, $"The event is not a well-formed Matrix event: {e.Message}");

    private static AuthDecision UnknownVersion(string versionId) =>
        AuthDecision.Refuse(AuthRule.RoomVersionUnknown, $"Room version '{versionId}' is not one this server supports (1–12)");

    private static string? StringOf(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
